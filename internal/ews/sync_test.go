package ews

import (
	"encoding/base64"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"testing"

	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

func TestSyncStateEncoding(t *testing.T) {
	mbx := "0b7e3c1a-1111-4222-8333-944455556666"
	for _, s := range []syncState{{'I', mbx, 3, 0}, {'H', mbx, 2, 1 << 40}, {'I', mbx, 1 << 30, 12345}} {
		v := encodeSyncState(s)
		if v == "" || len(v) > 64 {
			t.Fatalf("encode %+v = %q", s, v)
		}
		got, err := decodeSyncState(v)
		if err != nil || got != s {
			t.Fatalf("round trip %+v: %+v %v", s, got, err)
		}
		// Every single-bit corruption and every truncation is rejected.
		raw, _ := base64.StdEncoding.DecodeString(v)
		for i := range raw {
			for bit := 0; bit < 8; bit++ {
				c := append([]byte(nil), raw...)
				c[i] ^= 1 << bit
				if _, err := decodeSyncState(base64.StdEncoding.EncodeToString(c)); err == nil {
					t.Fatalf("corrupt byte %d bit %d accepted", i, bit)
				}
			}
			if _, err := decodeSyncState(base64.StdEncoding.EncodeToString(raw[:i])); err == nil {
				t.Fatalf("truncation to %d accepted", i)
			}
		}
	}
	for _, bad := range []string{"", "!!!", "H4sIAAAAAAAAA", strings.Repeat("A", 200)} {
		if _, err := decodeSyncState(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func syncItemsReq(folder, state string, max int) string {
	s := ""
	if state != "" {
		s = `<m:SyncState>` + state + `</m:SyncState>`
	}
	return `<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/><t:FieldURI FieldURI="message:IsRead"/></t:AdditionalProperties></m:ItemShape>` +
		`<m:SyncFolderId>` + folder + `</m:SyncFolderId>` + s + fmt.Sprintf(`<m:MaxChangesReturned>%d</m:MaxChangesReturned></m:SyncFolderItems>`, max)
}

type syncClient struct {
	w      *world
	as     *d.Recipient
	imp    string
	folder string
	state  string
	items  map[string]bool // ids the client holds
	seen   []string        // change log, "Create id"...
	reads  map[string]bool
}

// page runs one SyncFolderItems call and applies it; it returns whether
// the page included the last change. It fails on changes a consistent
// client could not apply (create of a held id, delete of an unknown id...).
func (c *syncClient) page(t *testing.T, max int) bool {
	t.Helper()
	r := c.w.mustOK(c.w.call(c.as, c.imp, syncItemsReq(c.folder, c.state, max)))
	m := r.messages()[0]
	c.state = m.childText("SyncState")
	ch := m.child("Changes")
	if n := len(ch.Children); n > max {
		t.Fatalf("%d changes for MaxChangesReturned %d", n, max)
	}
	for _, x := range ch.Children {
		id := find(x, "ItemId").attr("Id")
		c.seen = append(c.seen, x.Local+" "+id)
		switch x.Local {
		case "Create":
			if c.items[id] {
				t.Fatalf("Create of an item the client already has: %s", id)
			}
			c.items[id] = true
		case "Update", "ReadFlagChange":
			if !c.items[id] {
				t.Fatalf("%s of an item the client does not have: %s", x.Local, id)
			}
		case "Delete":
			if !c.items[id] {
				t.Fatalf("Delete of an item the client does not have: %s", id)
			}
			delete(c.items, id)
		}
		if x.Local == "ReadFlagChange" {
			c.reads[id] = x.childText("IsRead") == "true"
		}
	}
	return m.childText("IncludesLastItemInRange") == "true"
}

func (w *world) folderIDs(owner, folder string) map[string]bool {
	out := map[string]bool{}
	for _, it := range w.folderItems(owner, folder) {
		out[itemID(it)] = true
	}
	return out
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func TestSyncFolderItemsPagingUnderConcurrentChanges(t *testing.T) {
	w := newWorld(t)
	items := w.seed(w.alice.ID, "inbox", 40, nil)
	inbox := distFolder("inbox", w.alice)
	deleted := distFolder("deleteditems", w.alice)
	c := &syncClient{w: w, as: w.svc, imp: primary(w.alice), folder: inbox, items: map[string]bool{}, reads: map[string]bool{}}
	dc := &syncClient{w: w, as: w.svc, imp: primary(w.alice), folder: deleted, items: map[string]bool{}, reads: map[string]bool{}}

	// A writer changes the mailbox while the client pages with small pages.
	ctx := t0ctx
	inboxF, _ := w.mbx.Distinguished(ctx, w.alice.ID, "inbox")
	delF, _ := w.mbx.Distinguished(ctx, w.alice.ID, "deleteditems")
	owner := mailbox.Actor{ID: w.alice.ID, Via: "owner"}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rnd := rand.New(rand.NewSource(1))
		live := []int64{}
		for _, it := range items {
			live = append(live, it.Key)
		}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			switch rnd.Intn(5) {
			case 0:
				it, err := w.mbx.CreateItem(ctx, owner, w.alice.ID, inboxF.Key, &mailbox.Item{Subject: fmt.Sprint("new ", i)})
				if err == nil {
					live = append(live, it.Key)
				}
			case 1:
				if len(live) > 0 {
					k := live[rnd.Intn(len(live))]
					w.mbx.UpdateItem(ctx, owner, w.alice.ID, k, "", func(it *mailbox.Item) error { it.IsRead = !it.IsRead; return nil })
				}
			case 2:
				if len(live) > 0 {
					k := live[rnd.Intn(len(live))]
					w.mbx.UpdateItem(ctx, owner, w.alice.ID, k, "", func(it *mailbox.Item) error { it.Subject += "!"; return nil })
				}
			case 3:
				if len(live) > 0 {
					k := live[rnd.Intn(len(live))]
					w.mbx.MoveItem(ctx, owner, w.alice.ID, k, delF.Key)
				}
			case 4:
				if len(live) > 0 {
					j := rnd.Intn(len(live))
					if w.mbx.DeleteItem(ctx, owner, w.alice.ID, live[j], mailbox.HardDelete) == nil {
						live = append(live[:j], live[j+1:]...)
					}
				}
			}
		}
	}()
	for round := 0; round < 30; round++ {
		c.page(t, 1+round%7)
		dc.page(t, 3)
	}
	close(stop)
	wg.Wait()
	// Drain: after the writer stopped the client's view equals the folder.
	for !c.page(t, 5) {
	}
	for !dc.page(t, 512) {
	}
	if got, want := c.items, w.folderIDs(w.alice.ID, "inbox"); !sameSet(got, want) {
		t.Fatalf("inbox: client has %d items, folder %d", len(got), len(want))
	}
	if got, want := dc.items, w.folderIDs(w.alice.ID, "deleteditems"); !sameSet(got, want) {
		t.Fatalf("deleted items: client has %d items, folder %d", len(got), len(want))
	}
	// A quiet mailbox: an empty last page, same state.
	st := c.state
	if !c.page(t, 10) || c.state != st {
		t.Fatalf("quiet sync changed the state or was not last")
	}
}

func TestSyncFolderItemsMoveKeepsIDAndReadFlag(t *testing.T) {
	w := newWorld(t)
	items := w.seed(w.alice.ID, "inbox", 3, func(i int, it *mailbox.Item) { it.IsRead = false })
	inbox, deleted := distFolder("inbox", w.alice), distFolder("deleteditems", w.alice)
	c := &syncClient{w: w, as: w.alice, folder: inbox, items: map[string]bool{}, reads: map[string]bool{}}
	dc := &syncClient{w: w, as: w.alice, folder: deleted, items: map[string]bool{}, reads: map[string]bool{}}
	for !c.page(t, 512) {
	}
	for !dc.page(t, 512) {
	}
	if len(c.items) != 3 || len(dc.items) != 0 {
		t.Fatalf("initial: %d, %d", len(c.items), len(dc.items))
	}
	ctx := t0ctx
	owner := mailbox.Actor{ID: w.alice.ID, Via: "owner"}
	delF, _ := w.mbx.Distinguished(ctx, w.alice.ID, "deleteditems")
	w.mbx.UpdateItem(ctx, owner, w.alice.ID, items[0].Key, "", func(it *mailbox.Item) error { it.IsRead = true; return nil })
	w.mbx.MoveItem(ctx, owner, w.alice.ID, items[1].Key, delF.Key)
	w.mbx.UpdateItem(ctx, owner, w.alice.ID, items[2].Key, "", func(it *mailbox.Item) error { it.IsRead = true; return nil })
	w.mbx.UpdateItem(ctx, owner, w.alice.ID, items[2].Key, "", func(it *mailbox.Item) error { it.Subject = "changed"; return nil })
	c.seen, dc.seen = nil, nil
	c.page(t, 512)
	dc.page(t, 512)
	sort.Strings(c.seen)
	want := []string{"Delete " + itemID(items[1]), "ReadFlagChange " + itemID(items[0]), "Update " + itemID(items[2])}
	sort.Strings(want)
	if strings.Join(c.seen, ",") != strings.Join(want, ",") {
		t.Errorf("inbox changes %v, want %v", c.seen, want)
	}
	if !c.reads[itemID(items[0])] {
		t.Error("ReadFlagChange IsRead false")
	}
	if len(dc.seen) != 1 || dc.seen[0] != "Create "+itemID(items[1]) {
		t.Errorf("deleted items changes %v: the move must be a Create with the same id", dc.seen)
	}
}

func TestSyncFolderItemsInvalidState(t *testing.T) {
	w := newWorld(t)
	w.seed(w.alice.ID, "inbox", 2, nil)
	inbox, drafts := distFolder("inbox", w.alice), distFolder("drafts", w.alice)
	c := &syncClient{w: w, as: w.alice, folder: inbox, items: map[string]bool{}, reads: map[string]bool{}}
	c.page(t, 10)
	good := c.state
	raw, _ := base64.StdEncoding.DecodeString(good)
	raw[len(raw)/2] ^= 0x20
	bobState := encodeSyncState(syncState{Kind: 'I', Mailbox: w.bob.ID, Folder: 3, Seq: 1})
	for name, st := range map[string]string{"corrupt": base64.StdEncoding.EncodeToString(raw), "garbage": "not a state",
		"other folder": "", "other mailbox": bobState} {
		folder := inbox
		if name == "other folder" {
			folder, st = drafts, good
		}
		r := w.call(w.alice, "", syncItemsReq(folder, st, 10))
		if m := r.messages(); len(m) != 1 || code(m[0]) != "ErrorInvalidSyncStateData" {
			t.Errorf("%s: %s", name, r.body)
		}
	}
	for _, max := range []string{"0", "513", "x"} {
		r := w.call(w.alice, "", strings.Replace(syncItemsReq(inbox, "", 1), ">1<", ">"+max+"<", 1))
		if r.faultCode() != "ErrorSchemaValidation" {
			t.Errorf("MaxChangesReturned %s: %s", max, r.body)
		}
	}
}

func TestSyncFolderHierarchy(t *testing.T) {
	w := newWorld(t)
	req := func(state string) string {
		s := ""
		if state != "" {
			s = `<m:SyncState>` + state + `</m:SyncState>`
		}
		return `<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape>` + s + `</m:SyncFolderHierarchy>`
	}
	r := w.mustOK(w.call(w.alice, "", req("")))
	m := r.messages()[0]
	if n := len(findAll(m.child("Changes"), "Create")); n < 10 {
		t.Fatalf("initial hierarchy: %d creates\n%s", n, r.body)
	}
	state := m.childText("SyncState")
	cr := w.mustOK(w.call(w.alice, "", `<m:CreateFolder><m:ParentFolderId>`+distFolder("inbox", nil)+`</m:ParentFolderId><m:Folders><t:Folder><t:DisplayName>Projects</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>`))
	fid := folderIDOf(cr)
	r = w.mustOK(w.call(w.alice, "", req(state)))
	m = r.messages()[0]
	ch := m.child("Changes").Children
	if len(ch) != 1 || ch[0].Local != "Create" || find(ch[0], "FolderId").attr("Id") != fid {
		t.Fatalf("after CreateFolder:\n%s", r.body)
	}
	state = m.childText("SyncState")
	w.mustOK(w.call(w.alice, "", `<m:DeleteFolder DeleteType="HardDelete"><m:FolderIds><t:FolderId Id="`+fid+`"/></m:FolderIds></m:DeleteFolder>`))
	r = w.mustOK(w.call(w.alice, "", req(state)))
	ch = r.messages()[0].child("Changes").Children
	if len(ch) != 1 || ch[0].Local != "Delete" {
		t.Fatalf("after DeleteFolder:\n%s", r.body)
	}
	r = w.call(w.alice, "", req(encodeSyncState(syncState{Kind: 'I', Mailbox: w.alice.ID, Folder: 2, Seq: 1})))
	if code(r.messages()[0]) != "ErrorInvalidSyncStateData" {
		t.Fatalf("items state for hierarchy: %s", r.body)
	}
}
