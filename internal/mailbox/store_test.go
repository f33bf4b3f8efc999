package mailbox_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/store"
)

var (
	owner = mailbox.Actor{ID: "owner-id", Via: "owner"}
	svc   = mailbox.Actor{ID: "svc-id", Via: "impersonation"}
)

func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func newStore(t testing.TB) *mailbox.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return mailbox.Open(st.DB()).WithReader(st.ReadDB())
}

// newMailbox returns a store and an Ensured mailbox.
func newMailbox(t testing.TB) (*mailbox.Store, string) {
	t.Helper()
	s := newStore(t)
	m := newGUID()
	if err := s.Ensure(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return s, m
}

func must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func folderKey(t testing.TB, s *mailbox.Store, mbx, name string) int64 {
	t.Helper()
	f, err := s.Distinguished(context.Background(), mbx, name)
	if err != nil {
		t.Fatal(err)
	}
	return f.Key
}

func journal(t testing.TB, s *mailbox.Store, mbx string, after int64) []mailbox.Change {
	t.Helper()
	ch, err := s.Journal(context.Background(), mbx, after, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func lastSeq(t testing.TB, s *mailbox.Store, mbx string) int64 {
	ch := journal(t, s, mbx, 0)
	if len(ch) == 0 {
		return 0
	}
	return ch[len(ch)-1].Seq
}

func msg(subject string) *mailbox.Item {
	return &mailbox.Item{
		Subject:  subject,
		Body:     "body of " + subject,
		BodyType: "Text",
		From:     &mailbox.Address{Name: "Alice", Email: "alice@example.com", RoutingType: "SMTP", MailboxType: "Mailbox"},
		To:       []mailbox.Address{{Name: "Bob", Email: "bob@example.com", RoutingType: "SMTP", MailboxType: "Mailbox"}},
	}
}

func TestEnsure(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	want := []struct{ name, parent, display, class string }{
		{"root", "", "", "IPF.Note"},
		{"msgfolderroot", "root", "Top of Information Store", "IPF.Note"},
		{"inbox", "msgfolderroot", "Inbox", "IPF.Note"},
		{"drafts", "msgfolderroot", "Drafts", "IPF.Note"},
		{"sentitems", "msgfolderroot", "Sent Items", "IPF.Note"},
		{"deleteditems", "msgfolderroot", "Deleted Items", "IPF.Note"},
		{"outbox", "msgfolderroot", "Outbox", "IPF.Note"},
		{"junkemail", "msgfolderroot", "Junk Email", "IPF.Note"},
		{"calendar", "msgfolderroot", "Calendar", "IPF.Appointment"},
		{"contacts", "msgfolderroot", "Contacts", "IPF.Contact"},
		{"tasks", "msgfolderroot", "Tasks", "IPF.Task"},
		{"notes", "msgfolderroot", "Notes", "IPF.StickyNote"},
		{"journal", "msgfolderroot", "Journal", "IPF.Journal"},
		{"recoverableitemsroot", "root", "Recoverable Items", "IPF.Note"},
		{"recoverableitemsdeletions", "recoverableitemsroot", "Deletions", "IPF.Note"},
	}
	if got := mailbox.DistinguishedNames(); len(got) != len(want) {
		t.Errorf("DistinguishedNames() = %v", got)
	}
	for _, w := range want {
		t.Run(w.name, func(t *testing.T) {
			f, err := s.Distinguished(ctx, m, w.name)
			if err != nil {
				t.Fatal(err)
			}
			if f.Distinguished != w.name || f.DisplayName != w.display || f.Class != w.class || f.Mailbox != m {
				t.Errorf("got %+v", f)
			}
			var parent int64
			if w.parent != "" {
				parent = folderKey(t, s, m, w.parent)
			}
			if f.ParentKey != parent {
				t.Errorf("parent = %d, want %d (%s)", f.ParentKey, parent, w.parent)
			}
			if _, err := mailbox.ParseChangeKey(f.ChangeKey); err != nil {
				t.Errorf("change key %q: %v", f.ChangeKey, err)
			}
		})
	}
	if _, err := s.Distinguished(ctx, m, "INBOX"); err != nil {
		t.Errorf("distinguished names are case-insensitive: %v", err)
	}
	if _, err := s.Distinguished(ctx, m, "archive"); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("unknown distinguished name: %v", err)
	}

	// Idempotent: nothing more is created or journaled.
	before := journal(t, s, m, 0)
	if len(before) != len(want) {
		t.Errorf("journal after Ensure has %d rows, want %d", len(before), len(want))
	}
	for _, c := range before {
		if c.Op != mailbox.OpFolderCreate || c.Actor != mailbox.SystemActor {
			t.Errorf("Ensure journal row %+v", c)
		}
	}
	for range 3 {
		if err := s.Ensure(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if after := journal(t, s, m, 0); len(after) != len(before) {
		t.Errorf("Ensure again added %d journal rows", len(after)-len(before))
	}

	// Concurrent calls on a fresh mailbox create each folder once.
	m2 := newGUID()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- s.Ensure(ctx, m2) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all := must[[]*mailbox.Folder](t)(s.Children(ctx, m2, folderKey(t, s, m2, "root"), true))
	if len(all) != len(want)-1 {
		t.Errorf("after concurrent Ensure: %d folders under root, want %d", len(all), len(want)-1)
	}

	for _, bad := range []string{"", "nope", strings.ToUpper(newGUID())} {
		if err := s.Ensure(ctx, bad); !errors.Is(err, mailbox.ErrNoMailbox) {
			t.Errorf("Ensure(%q) = %v, want ErrNoMailbox", bad, err)
		}
	}
}

func TestUnknownMailbox(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	m := newGUID()
	checks := map[string]error{}
	_, checks["Folder"] = s.Folder(ctx, m, 1)
	_, checks["Distinguished"] = s.Distinguished(ctx, m, "inbox")
	_, checks["Children"] = s.Children(ctx, m, 1, false)
	_, checks["CreateFolder"] = s.CreateFolder(ctx, owner, m, 1, "x", "")
	_, _, checks["Items"] = s.Items(ctx, m, 1, mailbox.Query{})
	_, checks["Item"] = s.Item(ctx, m, 1)
	_, checks["CreateItem"] = s.CreateItem(ctx, owner, m, 1, msg("x"))
	_, checks["UpdateItem"] = s.UpdateItem(ctx, owner, m, 1, "", func(*mailbox.Item) error { return nil })
	checks["DeleteItem"] = s.DeleteItem(ctx, owner, m, 1, mailbox.HardDelete)
	_, checks["Permissions"] = s.Permissions(ctx, m, 1)
	_, checks["Oof"] = s.Oof(ctx, m)
	checks["SetOof"] = s.SetOof(ctx, owner, m, &mailbox.Oof{State: "Enabled"})
	_, checks["Journal"] = s.Journal(ctx, m, 0, 10)
	for name, err := range checks {
		if !errors.Is(err, mailbox.ErrNotFound) {
			t.Errorf("%s on an unknown mailbox: %v, want ErrNotFound", name, err)
		}
	}
	if err := s.Remove(ctx, m); err != nil {
		t.Errorf("Remove of an unknown mailbox: %v", err)
	}
}

func TestFolders(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	inbox := folderKey(t, s, m, "inbox")
	root := folderKey(t, s, m, "msgfolderroot")

	a := must[*mailbox.Folder](t)(s.CreateFolder(ctx, owner, m, inbox, "Projects", ""))
	if a.Class != "" || a.ParentKey != inbox || a.Distinguished != "" || a.DisplayName != "Projects" {
		t.Errorf("created %+v", a)
	}
	b := must[*mailbox.Folder](t)(s.CreateFolder(ctx, owner, m, a.Key, "beta", "IPF.Note"))
	must[*mailbox.Folder](t)(s.CreateFolder(ctx, owner, m, a.Key, "Alpha", "IPF.Note"))
	must[*mailbox.Folder](t)(s.CreateFolder(ctx, owner, m, b.Key, "Deep", "IPF.Note"))

	errCases := []struct {
		name string
		err  error
		want error
	}{}
	add := func(name string, want error, err error) {
		errCases = append(errCases, struct {
			name string
			err  error
			want error
		}{name, err, want})
	}
	_, err := s.CreateFolder(ctx, owner, m, inbox, "PROJECTS", "")
	add("duplicate name, other case", mailbox.ErrFolderExists, err)
	_, err = s.CreateFolder(ctx, owner, m, inbox, " ", "")
	add("blank name", mailbox.ErrInvalidArgument, err)
	_, err = s.CreateFolder(ctx, owner, m, inbox, "a\nb", "")
	add("control character", mailbox.ErrInvalidArgument, err)
	_, err = s.CreateFolder(ctx, owner, m, 9999, "x", "")
	add("missing parent", mailbox.ErrNotFound, err)
	_, err = s.RenameFolder(ctx, owner, m, b.Key, "alpha")
	add("rename onto a sibling", mailbox.ErrFolderExists, err)
	_, err = s.MoveFolder(ctx, owner, m, a.Key, b.Key)
	add("move into own subfolder", mailbox.ErrMoveIntoSelf, err)
	_, err = s.MoveFolder(ctx, owner, m, a.Key, a.Key)
	add("move into itself", mailbox.ErrMoveIntoSelf, err)
	_, err = s.MoveFolder(ctx, owner, m, inbox, a.Key)
	add("move a distinguished folder", mailbox.ErrMoveDistinguished, err)
	err = s.DeleteFolder(ctx, owner, m, inbox, mailbox.HardDelete)
	add("delete a distinguished folder", mailbox.ErrDeleteDistinguished, err)
	err = s.DeleteFolder(ctx, owner, m, folderKey(t, s, m, "root"), mailbox.HardDelete)
	add("delete root", mailbox.ErrDeleteDistinguished, err)
	err = s.EmptyFolder(ctx, owner, m, root, mailbox.HardDelete, true)
	add("empty a folder holding distinguished ones", mailbox.ErrDeleteDistinguished, err)
	err = s.DeleteFolder(ctx, owner, m, a.Key, "Shred")
	add("unknown delete mode", mailbox.ErrInvalidArgument, err)
	for _, c := range errCases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}

	// Rename: case change of itself is fine; the change key changes.
	r := must[*mailbox.Folder](t)(s.RenameFolder(ctx, owner, m, b.Key, "Beta"))
	if r.DisplayName != "Beta" || r.ChangeKey == b.ChangeKey || r.ID() != b.ID() {
		t.Errorf("renamed %+v (was %+v)", r, b)
	}

	// Children: shallow and deep, parents first then by name.
	names := func(fs []*mailbox.Folder) string {
		var n []string
		for _, f := range fs {
			n = append(n, f.DisplayName)
		}
		return strings.Join(n, ",")
	}
	if got := names(must[[]*mailbox.Folder](t)(s.Children(ctx, m, a.Key, false))); got != "Alpha,Beta" {
		t.Errorf("shallow children = %s", got)
	}
	if got := names(must[[]*mailbox.Folder](t)(s.Children(ctx, m, inbox, true))); got != "Projects,Alpha,Beta,Deep" {
		t.Errorf("deep children = %s", got)
	}
	top := must[[]*mailbox.Folder](t)(s.Children(ctx, m, root, false))
	if got := names(top); got != "Calendar,Contacts,Deleted Items,Drafts,Inbox,Journal,Junk Email,Notes,Outbox,Sent Items,Tasks" {
		t.Errorf("top of information store = %s", got)
	}

	// Counts.
	for i := range 3 {
		it := msg(fmt.Sprint("m", i))
		it.IsRead = i == 0
		must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, a.Key, it))
	}
	f := must[*mailbox.Folder](t)(s.Folder(ctx, m, a.Key))
	if f.TotalCount != 3 || f.UnreadCount != 2 || f.ChildFolderCount != 2 {
		t.Errorf("counts %d/%d/%d, want 3/2/2", f.TotalCount, f.UnreadCount, f.ChildFolderCount)
	}
	for _, c := range must[[]*mailbox.Folder](t)(s.Children(ctx, m, inbox, true)) {
		if c.Key == a.Key && (c.TotalCount != 3 || c.UnreadCount != 2 || c.ChildFolderCount != 2) {
			t.Errorf("Children counts %+v", c)
		}
	}

	// Move keeps the id; the journal row names the old parent.
	seq := lastSeq(t, s, m)
	mv := must[*mailbox.Folder](t)(s.MoveFolder(ctx, owner, m, b.Key, inbox))
	if mv.ParentKey != inbox || mv.ID() != b.ID() {
		t.Errorf("moved %+v", mv)
	}
	if ch := journal(t, s, m, seq); len(ch) != 1 || ch[0].Op != mailbox.OpFolderUpdate || ch[0].FolderKey != b.Key || ch[0].OldFolderKey != a.Key {
		t.Errorf("move journal %+v", ch)
	}
}

func TestDeleteFolderModes(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		mode mailbox.DeleteMode
		// where the folder's items end up ("" = gone) and whether the
		// folder still exists, under deleteditems
		itemsIn    string
		folderKept bool
	}{
		{mailbox.HardDelete, "", false},
		{mailbox.SoftDelete, "recoverableitemsdeletions", false},
		{mailbox.MoveToDeletedItems, "", true},
	} {
		t.Run(string(c.mode), func(t *testing.T) {
			s, m := newMailbox(t)
			inbox := folderKey(t, s, m, "inbox")
			del := folderKey(t, s, m, "deleteditems")
			f := must[*mailbox.Folder](t)(s.CreateFolder(ctx, owner, m, inbox, "Old", ""))
			sub := must[*mailbox.Folder](t)(s.CreateFolder(ctx, owner, m, f.Key, "Sub", ""))
			i1 := must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, f.Key, msg("one")))
			i2 := must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, sub.Key, msg("two")))
			// A folder of that name already in Deleted Items.
			must[*mailbox.Folder](t)(s.CreateFolder(ctx, owner, m, del, "Old", ""))
			seq := lastSeq(t, s, m)

			if err := s.DeleteFolder(ctx, owner, m, f.Key, c.mode); err != nil {
				t.Fatal(err)
			}
			got, err := s.Folder(ctx, m, f.Key)
			if c.folderKept {
				if err != nil || got.ParentKey != del || got.DisplayName != "Old (2)" {
					t.Fatalf("folder after delete: %+v, %v", got, err)
				}
			} else if !errors.Is(err, mailbox.ErrNotFound) {
				t.Fatalf("folder after delete: %+v, %v", got, err)
			}
			for _, k := range []int64{i1.Key, i2.Key} {
				it, err := s.Item(ctx, m, k)
				switch {
				case c.itemsIn == "" && !c.folderKept:
					if !errors.Is(err, mailbox.ErrNotFound) {
						t.Errorf("item %d: %v", k, err)
					}
				case c.itemsIn != "":
					if err != nil || it.FolderKey != folderKey(t, s, m, c.itemsIn) {
						t.Errorf("item %d: %+v, %v", k, it, err)
					}
				}
			}
			ops := map[string]int{}
			for _, ch := range journal(t, s, m, seq) {
				ops[ch.Op]++
			}
			want := map[mailbox.DeleteMode]map[string]int{
				mailbox.HardDelete:         {"delete": 2, "folder-delete": 2},
				mailbox.SoftDelete:         {"move": 2, "folder-delete": 2},
				mailbox.MoveToDeletedItems: {"folder-update": 1},
			}[c.mode]
			if fmt.Sprint(ops) != fmt.Sprint(want) {
				t.Errorf("journal ops %v, want %v", ops, want)
			}
			if c.mode == mailbox.MoveToDeletedItems {
				// Again, from Deleted Items: now a soft delete.
				if err := s.DeleteFolder(ctx, owner, m, f.Key, mailbox.MoveToDeletedItems); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Folder(ctx, m, f.Key); !errors.Is(err, mailbox.ErrNotFound) {
					t.Errorf("folder after second delete: %v", err)
				}
				if it, err := s.Item(ctx, m, i2.Key); err != nil || it.FolderKey != folderKey(t, s, m, "recoverableitemsdeletions") {
					t.Errorf("item after second delete: %+v, %v", it, err)
				}
			}
		})
	}
}

func must2(t testing.TB) func([]*mailbox.Item, int, error) ([]*mailbox.Item, int) {
	return func(items []*mailbox.Item, n int, err error) ([]*mailbox.Item, int) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return items, n
	}
}

func TestEmptyFolder(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	inbox := folderKey(t, s, m, "inbox")
	sub := must[*mailbox.Folder](t)(s.CreateFolder(ctx, owner, m, inbox, "Sub", ""))
	for i := range 3 {
		must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, inbox, msg(fmt.Sprint(i))))
	}
	kept := must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, sub.Key, msg("in sub")))
	if err := s.EmptyFolder(ctx, owner, m, inbox, mailbox.MoveToDeletedItems, false); err != nil {
		t.Fatal(err)
	}
	if f := must[*mailbox.Folder](t)(s.Folder(ctx, m, inbox)); f.TotalCount != 0 || f.ChildFolderCount != 1 {
		t.Errorf("inbox after empty: %+v", f)
	}
	if f := must[*mailbox.Folder](t)(s.Distinguished(ctx, m, "deleteditems")); f.TotalCount != 3 {
		t.Errorf("deleted items after empty: %+v", f)
	}
	if _, err := s.Item(ctx, m, kept.Key); err != nil {
		t.Errorf("item of a subfolder: %v", err)
	}
	if err := s.EmptyFolder(ctx, owner, m, inbox, mailbox.HardDelete, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Folder(ctx, m, sub.Key); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("subfolder after empty with subfolders: %v", err)
	}
	if _, err := s.Item(ctx, m, kept.Key); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("item of a subfolder after empty with subfolders: %v", err)
	}
	// Emptying Deleted Items "to Deleted Items" soft-deletes.
	if err := s.EmptyFolder(ctx, owner, m, folderKey(t, s, m, "deleteditems"), mailbox.MoveToDeletedItems, false); err != nil {
		t.Fatal(err)
	}
	if f := must[*mailbox.Folder](t)(s.Distinguished(ctx, m, "recoverableitemsdeletions")); f.TotalCount != 3 {
		t.Errorf("deletions after emptying deleted items: %+v", f)
	}
}

func TestItemCreateGetUpdate(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	inbox := folderKey(t, s, m, "inbox")
	in := msg("Hello")
	in.Categories = []string{"Red"}
	in.Extended = map[string]string{"String:0x0037": "x"}
	in.Attachments = []mailbox.Attachment{{Name: "a.txt", ContentType: "text/plain", Content: []byte("hello")}}
	in.MIME = []byte("Subject: Hello\r\n\r\nbody of Hello")
	before := time.Now().Add(-time.Second)
	it := must[*mailbox.Item](t)(s.CreateItem(ctx, svc, m, inbox, in))
	if in.Key != 0 || in.ChangeKey != "" {
		t.Error("CreateItem changed its argument")
	}
	if it.Key == 0 || it.FolderKey != inbox || it.Mailbox != m || it.Class != "IPM.Note" || it.ChangeKey == "" {
		t.Errorf("created %+v", it)
	}
	if it.DateTimeCreated.Before(before) || !it.LastModified.Equal(it.DateTimeCreated) || !it.DateTimeReceived.Equal(it.DateTimeCreated) {
		t.Errorf("times %v %v %v", it.DateTimeCreated, it.LastModified, it.DateTimeReceived)
	}
	if want := len("Hello") + len(in.Body) + len("hello") + len(in.MIME); it.Size != want {
		t.Errorf("size %d, want %d", it.Size, want)
	}
	if len(it.Attachments) != 1 || it.Attachments[0].Num != 1 || it.Attachments[0].LastModified.IsZero() {
		t.Errorf("attachments %+v", it.Attachments)
	}

	got := must[*mailbox.Item](t)(s.Item(ctx, m, it.Key))
	if got.ID() != it.ID() || got.ChangeKey != it.ChangeKey || got.Subject != "Hello" || got.Body != in.Body ||
		got.From.Email != "alice@example.com" || len(got.To) != 1 || got.Categories[0] != "Red" ||
		got.Extended["String:0x0037"] != "x" || string(got.MIME) != string(in.MIME) ||
		string(got.Attachments[0].Content) != "hello" || !got.DateTimeCreated.Equal(it.DateTimeCreated) ||
		!got.DateTimeReceived.Equal(it.DateTimeReceived) || got.Size != it.Size || !got.HasAttachments() {
		t.Errorf("read back %+v\nwant %+v", got, it)
	}

	// Read flag only: "readflag", LastModified kept.
	seq := lastSeq(t, s, m)
	r := must[*mailbox.Item](t)(s.UpdateItem(ctx, owner, m, it.Key, it.ChangeKey, func(x *mailbox.Item) error {
		x.IsRead = true
		return nil
	}))
	if !r.IsRead || r.ChangeKey == it.ChangeKey || !r.LastModified.Equal(it.LastModified) || string(r.MIME) != string(in.MIME) {
		t.Errorf("after read flag %+v", r)
	}
	ch := journal(t, s, m, seq)
	if len(ch) != 1 || ch[0].Op != mailbox.OpReadFlag || ch[0].ItemKey != it.Key || ch[0].Actor != owner {
		t.Errorf("journal %+v", ch)
	}

	// A stale change key is refused and changes nothing.
	_, err := s.UpdateItem(ctx, owner, m, it.Key, it.ChangeKey, func(x *mailbox.Item) error {
		x.Subject = "lost"
		return nil
	})
	if !errors.Is(err, mailbox.ErrStale) {
		t.Errorf("stale update: %v", err)
	}
	// fn's error aborts.
	boom := errors.New("boom")
	if _, err := s.UpdateItem(ctx, owner, m, it.Key, "", func(x *mailbox.Item) error { x.Subject = "lost"; return boom }); !errors.Is(err, boom) {
		t.Errorf("fn error: %v", err)
	}
	if x := must[*mailbox.Item](t)(s.Item(ctx, m, it.Key)); x.Subject != "Hello" || x.ChangeKey != r.ChangeKey {
		t.Errorf("after refused updates: %q %q", x.Subject, x.ChangeKey)
	}

	// A content update: "update", new LastModified, MIME dropped, immutable
	// fields kept.
	s2 := m
	mailbox.SetClock(s, func() time.Time { return time.Now().Add(time.Hour) })
	u := must[*mailbox.Item](t)(s.UpdateItem(ctx, owner, m, it.Key, r.ChangeKey, func(x *mailbox.Item) error {
		x.Subject = "Hello again"
		x.Key, x.Mailbox, x.FolderKey = 999, "x", 999
		x.Attachments = nil
		return nil
	}))
	if u.Subject != "Hello again" || u.Key != it.Key || u.Mailbox != s2 || u.FolderKey != inbox || len(u.Attachments) != 1 ||
		!u.LastModified.After(it.LastModified) || u.MIME != nil || u.ChangeKey == r.ChangeKey {
		t.Errorf("after update %+v", u)
	}
	if ch := journal(t, s, m, seq); len(ch) != 2 || ch[1].Op != mailbox.OpUpdate {
		t.Errorf("journal %+v", ch)
	}
	if x := must[*mailbox.Item](t)(s.Item(ctx, m, it.Key)); x.MIME != nil || x.Subject != "Hello again" || x.Size != u.Size {
		t.Errorf("stored after update %+v", x)
	}
}

func TestItemsQuery(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	inbox := folderKey(t, s, m, "inbox")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		it := msg(fmt.Sprintf("m%02d", i))
		it.DateTimeReceived = base.Add(time.Duration(i) * time.Minute)
		it.IsRead = i%2 == 0
		if i == 3 {
			it.Attachments = []mailbox.Attachment{{Name: "x.bin", Content: []byte{1, 2, 3}}}
		}
		must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, inbox, it))
	}
	subjects := func(items []*mailbox.Item) string {
		var out []string
		for _, it := range items {
			out = append(out, it.Subject)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		name  string
		q     mailbox.Query
		want  string
		total int
	}{
		{"all, newest first", mailbox.Query{}, "m09,m08,m07,m06,m05,m04,m03,m02,m01,m00", 10},
		{"first page", mailbox.Query{Max: 3}, "m09,m08,m07", 10},
		{"second page", mailbox.Query{Offset: 3, Max: 3}, "m06,m05,m04", 10},
		{"last partial page", mailbox.Query{Offset: 9, Max: 3}, "m00", 10},
		{"past the end", mailbox.Query{Offset: 20, Max: 3}, "", 10},
		{"filter unread", mailbox.Query{Filter: func(it *mailbox.Item) bool { return !it.IsRead }}, "m09,m07,m05,m03,m01", 5},
		{"filter unread, paged", mailbox.Query{Filter: func(it *mailbox.Item) bool { return !it.IsRead }, Offset: 1, Max: 2}, "m07,m05", 5},
		{"filter on attachments", mailbox.Query{Filter: func(it *mailbox.Item) bool { return it.HasAttachments() }}, "m03", 1},
		{"order by subject", mailbox.Query{Less: func(a, b *mailbox.Item) bool { return a.Subject < b.Subject }, Max: 2}, "m00,m01", 10},
		{"shallow is the default", mailbox.Query{Traversal: "Shallow", Max: 1}, "m09", 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			items, total := must2(t)(s.Items(ctx, m, inbox, c.q))
			if got := subjects(items); got != c.want || total != c.total {
				t.Errorf("got %s (%d), want %s (%d)", got, total, c.want, c.total)
			}
			for _, it := range items {
				if it.MIME != nil || it.Body == "" || it.ChangeKey == "" || it.Mailbox != m {
					t.Errorf("summary %+v", it)
				}
				for _, a := range it.Attachments {
					if a.Content != nil || a.Name != "x.bin" {
						t.Errorf("summary attachment %+v", a)
					}
				}
			}
		})
	}
	if _, _, err := s.Items(ctx, m, inbox, mailbox.Query{Traversal: "Associated"}); !errors.Is(err, mailbox.ErrInvalidArgument) {
		t.Errorf("unknown traversal: %v", err)
	}
	if _, _, err := s.Items(ctx, m, inbox, mailbox.Query{Offset: -1}); !errors.Is(err, mailbox.ErrInvalidArgument) {
		t.Errorf("negative offset: %v", err)
	}
	if _, _, err := s.Items(ctx, m, 9999, mailbox.Query{}); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("unknown folder: %v", err)
	}
}

func TestMoveItemKeepsID(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	inbox := folderKey(t, s, m, "inbox")
	f := must[*mailbox.Folder](t)(s.CreateFolder(ctx, owner, m, inbox, "Archive", ""))
	it := must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, inbox, msg("move me")))
	seq := lastSeq(t, s, m)
	mv := must[*mailbox.Item](t)(s.MoveItem(ctx, svc, m, it.Key, f.Key))
	if mv.ID() != it.ID() || mv.FolderKey != f.Key || mv.ChangeKey == it.ChangeKey || mv.Subject != "move me" {
		t.Errorf("moved %+v", mv)
	}
	ch := journal(t, s, m, seq)
	if len(ch) != 1 || ch[0].Op != mailbox.OpMove || ch[0].ItemKey != it.Key || ch[0].FolderKey != f.Key ||
		ch[0].OldFolderKey != inbox || ch[0].Actor != svc {
		t.Errorf("journal %+v", ch)
	}
	if ck, _ := mailbox.ParseChangeKey(mv.ChangeKey); ck != ch[0].Seq {
		t.Errorf("change key %q is not seq %d", mv.ChangeKey, ch[0].Seq)
	}
	if _, err := s.MoveItem(ctx, svc, m, it.Key, 9999); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("move to a missing folder: %v", err)
	}
	if _, err := s.MoveItem(ctx, svc, m, 9999, inbox); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("move a missing item: %v", err)
	}
}

func TestDeleteItemModes(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		from    string // distinguished folder the item starts in
		mode    mailbox.DeleteMode
		to      string // where it ends, "" = gone
		op      string
		softDel bool // listed by Traversal SoftDeleted of from
	}{
		{"hard", "inbox", mailbox.HardDelete, "", "delete", false},
		{"soft", "inbox", mailbox.SoftDelete, "recoverableitemsdeletions", "move", true},
		{"to deleted items", "inbox", mailbox.MoveToDeletedItems, "deleteditems", "move", false},
		{"to deleted items from deleted items", "deleteditems", mailbox.MoveToDeletedItems, "recoverableitemsdeletions", "move", true},
		{"soft from the dumpster", "recoverableitemsdeletions", mailbox.SoftDelete, "", "delete", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, m := newMailbox(t)
			from := folderKey(t, s, m, c.from)
			it := must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, from, msg("x")))
			seq := lastSeq(t, s, m)
			if err := s.DeleteItem(ctx, owner, m, it.Key, c.mode); err != nil {
				t.Fatal(err)
			}
			got, err := s.Item(ctx, m, it.Key)
			if c.to == "" {
				if !errors.Is(err, mailbox.ErrNotFound) {
					t.Errorf("after delete: %+v, %v", got, err)
				}
			} else if err != nil || got.FolderKey != folderKey(t, s, m, c.to) || got.ID() != it.ID() {
				t.Errorf("after delete: %+v, %v", got, err)
			}
			ch := journal(t, s, m, seq)
			if len(ch) != 1 || ch[0].Op != c.op || ch[0].ItemKey != it.Key {
				t.Errorf("journal %+v", ch)
			} else if c.op == "move" && ch[0].OldFolderKey != from {
				t.Errorf("journal %+v: old folder %d", ch[0], from)
			}
			_, n := must2(t)(s.Items(ctx, m, from, mailbox.Query{Traversal: "SoftDeleted"}))
			if (n == 1) != c.softDel {
				t.Errorf("soft-deleted view of %s: %d items", c.from, n)
			}
		})
	}
	s, m := newMailbox(t)
	if err := s.DeleteItem(ctx, owner, m, 12345, mailbox.HardDelete); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("delete a missing item: %v", err)
	}
}

func TestCopyItem(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	m2 := newGUID()
	if err := s.Ensure(ctx, m2); err != nil {
		t.Fatal(err)
	}
	inbox := folderKey(t, s, m, "inbox")
	src := msg("copy me")
	src.Attachments = []mailbox.Attachment{{Name: "a", Content: []byte("A")}, {Name: "b", Content: []byte("B")}}
	it := must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, inbox, src))
	for _, c := range []struct {
		name, to, folder string
		oldFolder        int64
	}{
		{"same mailbox", m, "drafts", inbox},
		{"other mailbox", m2, "inbox", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			seq := lastSeq(t, s, c.to)
			dst := folderKey(t, s, c.to, c.folder)
			cp := must[*mailbox.Item](t)(s.CopyItem(ctx, svc, m, it.Key, c.to, dst))
			if cp.ID() == it.ID() || cp.Mailbox != c.to || cp.FolderKey != dst || cp.Subject != "copy me" || len(cp.Attachments) != 2 {
				t.Errorf("copy %+v", cp)
			}
			back := must[*mailbox.Item](t)(s.Item(ctx, c.to, cp.Key))
			if string(back.Attachments[1].Content) != "B" || back.Attachments[1].Num != 2 {
				t.Errorf("copied attachments %+v", back.Attachments)
			}
			ch := journal(t, s, c.to, seq)
			if len(ch) != 1 || ch[0].Op != mailbox.OpCopy || ch[0].ItemKey != cp.Key || ch[0].FolderKey != dst || ch[0].OldFolderKey != c.oldFolder {
				t.Errorf("journal %+v", ch)
			}
		})
	}
	if orig := must[*mailbox.Item](t)(s.Item(ctx, m, it.Key)); orig.ChangeKey != it.ChangeKey {
		t.Error("copying changed the source")
	}
	if _, err := s.CopyItem(ctx, svc, m, it.Key, newGUID(), 1); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("copy to an unknown mailbox: %v", err)
	}
}

func TestAttachments(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	inbox := folderKey(t, s, m, "inbox")
	in := msg("att")
	in.MIME = []byte("Subject: att\r\n\r\nx")
	it := must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, inbox, in))
	ck := it.ChangeKey
	var nums []int64
	for _, name := range []string{"one", "two", "three"} {
		x, a, err := s.AddAttachment(ctx, owner, m, it.Key, mailbox.Attachment{Name: name, ContentType: "text/plain", Content: []byte(name)})
		if err != nil {
			t.Fatal(err)
		}
		if x.ChangeKey == ck || x.MIME != nil {
			t.Errorf("after adding %s: change key %q, MIME %q", name, x.ChangeKey, x.MIME)
		}
		ck = x.ChangeKey
		nums = append(nums, a.Num)
	}
	if !slices.Equal(nums, []int64{1, 2, 3}) {
		t.Errorf("numbers %v", nums)
	}
	x := must[*mailbox.Item](t)(s.DeleteAttachment(ctx, owner, m, it.Key, 3))
	if x.ChangeKey == ck || len(x.Attachments) != 2 {
		t.Errorf("after delete %+v", x)
	}
	if want := len(x.Subject) + len(x.Body) + len("one") + len("two"); x.Size != want {
		t.Errorf("size %d, want %d", x.Size, want)
	}
	// Numbers are never reused.
	_, a, err := s.AddAttachment(ctx, owner, m, it.Key, mailbox.Attachment{Name: "four"})
	if err != nil || a.Num != 4 {
		t.Errorf("next number %d, %v", a.Num, err)
	}
	if _, err := s.DeleteAttachment(ctx, owner, m, it.Key, 3); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("delete a deleted attachment: %v", err)
	}
	ops := 0
	for _, c := range journal(t, s, m, 0) {
		if c.ItemKey == it.Key && c.Op == mailbox.OpUpdate {
			ops++
		}
	}
	if ops != 5 {
		t.Errorf("%d update rows, want 5", ops)
	}
}

func TestDeliver(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	bob, carol := newGUID(), newGUID()
	if err := s.Ensure(ctx, bob); err != nil {
		t.Fatal(err)
	}
	m := msg("meeting notes")
	m.Bcc = []mailbox.Address{{Email: "secret@example.com"}}
	m.IsRead, m.IsDraft = true, true
	m.Attachments = []mailbox.Attachment{{Name: "notes.txt", ContentType: "text/plain", Content: []byte("notes")}}
	before := time.Now().Add(-time.Second)
	got, err := s.Deliver(ctx, svc, []string{bob, carol, bob}, m) // carol has no folders yet
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Mailbox != bob || got[1].Mailbox != carol {
		t.Fatalf("delivered %d items: %+v", len(got), got)
	}
	for _, it := range got {
		if it.FolderKey != folderKey(t, s, it.Mailbox, "inbox") || it.IsRead || it.IsDraft || it.Bcc != nil ||
			it.DateTimeReceived.Before(before) || len(it.Attachments) != 1 || len(it.MIME) == 0 ||
			it.InternetMessageID == "" || it.InternetMessageID != got[0].InternetMessageID {
			t.Errorf("delivered %+v", it)
		}
		if strings.Contains(string(it.MIME), "secret@") {
			t.Error("Bcc in the delivered MIME")
		}
		stored := must[*mailbox.Item](t)(s.Item(ctx, it.Mailbox, it.Key))
		if stored.Subject != "meeting notes" || stored.IsRead {
			t.Errorf("stored %+v", stored)
		}
		ch := journal(t, s, it.Mailbox, 0)
		if last := ch[len(ch)-1]; last.Op != mailbox.OpCreate || last.ItemKey != it.Key || last.Actor != svc {
			t.Errorf("journal %+v", last)
		}
	}
	if m.Bcc == nil || !m.IsRead {
		t.Error("Deliver changed its argument")
	}
	if _, err := s.Deliver(ctx, svc, []string{"not-a-guid"}, m); !errors.Is(err, mailbox.ErrNoMailbox) {
		t.Errorf("deliver to a bad id: %v", err)
	}
}

func TestJournal(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	inbox := folderKey(t, s, m, "inbox")
	start := lastSeq(t, s, m)
	f := must[*mailbox.Folder](t)(s.CreateFolder(ctx, owner, m, inbox, "F", ""))
	it := must[*mailbox.Item](t)(s.CreateItem(ctx, svc, m, inbox, msg("j")))
	must[*mailbox.Item](t)(s.UpdateItem(ctx, owner, m, it.Key, "", func(x *mailbox.Item) error { x.Subject = "j2"; return nil }))
	must[*mailbox.Item](t)(s.UpdateItem(ctx, owner, m, it.Key, "", func(x *mailbox.Item) error { x.IsRead = true; return nil }))
	must[*mailbox.Item](t)(s.MoveItem(ctx, owner, m, it.Key, f.Key))
	cp := must[*mailbox.Item](t)(s.CopyItem(ctx, owner, m, it.Key, m, inbox))
	if err := s.DeleteItem(ctx, owner, m, cp.Key, mailbox.HardDelete); err != nil {
		t.Fatal(err)
	}
	must[*mailbox.Folder](t)(s.RenameFolder(ctx, owner, m, f.Key, "G"))
	if err := s.SetPermissions(ctx, owner, m, f.Key, []mailbox.Permission{{User: "Default", Level: "Reviewer"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOof(ctx, owner, m, &mailbox.Oof{State: "Enabled"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFolder(ctx, owner, m, f.Key, mailbox.HardDelete); err != nil {
		t.Fatal(err)
	}
	want := []mailbox.Change{
		{Op: "folder-create", FolderKey: f.Key, Actor: owner},
		{Op: "create", ItemKey: it.Key, FolderKey: inbox, Actor: svc},
		{Op: "update", ItemKey: it.Key, FolderKey: inbox, Actor: owner},
		{Op: "readflag", ItemKey: it.Key, FolderKey: inbox, Actor: owner},
		{Op: "move", ItemKey: it.Key, FolderKey: f.Key, OldFolderKey: inbox, Actor: owner},
		{Op: "copy", ItemKey: cp.Key, FolderKey: inbox, OldFolderKey: f.Key, OldItemKey: it.Key, Actor: owner},
		{Op: "delete", ItemKey: cp.Key, FolderKey: inbox, Actor: owner},
		{Op: "folder-update", FolderKey: f.Key, Actor: owner},
		{Op: "folder-update", FolderKey: f.Key, Actor: owner},
		{Op: "oof", Actor: owner},
		{Op: "delete", ItemKey: it.Key, FolderKey: f.Key, Actor: owner},
		{Op: "folder-delete", FolderKey: f.Key, OldFolderKey: inbox, Actor: owner},
	}
	got := journal(t, s, m, start)
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(got), len(want), got)
	}
	for i, c := range got {
		if c.Seq != start+int64(i)+1 || c.Mailbox != m || c.At.IsZero() {
			t.Errorf("row %d: %+v", i, c)
		}
		c.Seq, c.Mailbox, c.At = 0, "", time.Time{}
		if c != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, c, want[i])
		}
	}
	// Paging.
	var paged []mailbox.Change
	for after := start; ; {
		page, err := s.Journal(ctx, m, after, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 5 {
			t.Fatalf("page of %d", len(page))
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	if len(paged) != len(want) {
		t.Errorf("paged %d rows, want %d", len(paged), len(want))
	}
}

func TestFailedWriteLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	inbox := folderKey(t, s, m, "inbox")
	seq := lastSeq(t, s, m)

	// Into a missing folder.
	if _, err := s.CreateItem(ctx, owner, m, 9999, msg("x")); !errors.Is(err, mailbox.ErrNotFound) {
		t.Fatalf("create in a missing folder: %v", err)
	}
	// Failing after every statement of the write ran.
	fail := errors.New("injected")
	mailbox.SetBeforeCommit(s, func(string) error { return fail })
	in := msg("x")
	in.Attachments = []mailbox.Attachment{{Name: "a", Content: []byte("a")}}
	if _, err := s.CreateItem(ctx, owner, m, inbox, in); !errors.Is(err, fail) {
		t.Fatalf("create with failing commit: %v", err)
	}
	if _, err := s.CreateFolder(ctx, owner, m, inbox, "F", ""); !errors.Is(err, fail) {
		t.Fatalf("create folder with failing commit: %v", err)
	}
	if _, err := s.Deliver(ctx, owner, []string{m, newGUID()}, msg("y")); !errors.Is(err, fail) {
		t.Fatalf("deliver with failing commit: %v", err)
	}
	mailbox.SetBeforeCommit(s, nil)

	if got := lastSeq(t, s, m); got != seq {
		t.Errorf("journal moved from %d to %d", seq, got)
	}
	if f := must[*mailbox.Folder](t)(s.Folder(ctx, m, inbox)); f.TotalCount != 0 || f.ChildFolderCount != 0 {
		t.Errorf("inbox %+v", f)
	}
	// The counters were rolled back too: the next item and folder get the
	// keys the failed writes would have had.
	it := must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, inbox, msg("ok")))
	if it.Key != 1 {
		t.Errorf("next item key %d, want 1", it.Key)
	}
	if ck, _ := mailbox.ParseChangeKey(it.ChangeKey); ck != seq+1 {
		t.Errorf("next seq %d, want %d", ck, seq+1)
	}
}

func TestRemove(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	other := newGUID()
	if err := s.Ensure(ctx, other); err != nil {
		t.Fatal(err)
	}
	inbox := folderKey(t, s, m, "inbox")
	it := msg("x")
	it.Attachments = []mailbox.Attachment{{Name: "a", Content: []byte("a")}}
	must[*mailbox.Item](t)(s.CreateItem(ctx, owner, m, inbox, it))
	if err := s.SetOof(ctx, owner, m, &mailbox.Oof{State: "Enabled"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Folder(ctx, m, inbox); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("folder after remove: %v", err)
	}
	if _, err := s.Journal(ctx, m, 0, 0); !errors.Is(err, mailbox.ErrNotFound) {
		t.Errorf("journal after remove: %v", err)
	}
	if _, err := s.Distinguished(ctx, other, "inbox"); err != nil {
		t.Errorf("other mailbox after remove: %v", err)
	}
	// Ensure brings it back, empty.
	if err := s.Ensure(ctx, m); err != nil {
		t.Fatal(err)
	}
	if f := must[*mailbox.Folder](t)(s.Distinguished(ctx, m, "inbox")); f.TotalCount != 0 {
		t.Errorf("inbox after re-ensure %+v", f)
	}
}

func TestPermissionLevels(t *testing.T) {
	for _, c := range []struct {
		in   mailbox.Permission
		want mailbox.Permission
	}{
		{mailbox.Permission{User: "u", Level: "Owner"}, mailbox.Permission{User: "u", CanCreateItems: true, CanCreateSubFolders: true,
			IsFolderOwner: true, IsFolderVisible: true, IsFolderContact: true, EditItems: "All", DeleteItems: "All", ReadItems: "FullDetails", Level: "Owner"}},
		{mailbox.Permission{User: "u", Level: "reviewer", CanCreateItems: true}, mailbox.Permission{User: "u", IsFolderVisible: true,
			EditItems: "None", DeleteItems: "None", ReadItems: "FullDetails", Level: "Reviewer"}},
		{mailbox.Permission{User: "u"}, mailbox.Permission{User: "u", EditItems: "None", DeleteItems: "None", ReadItems: "None", Level: "None"}},
		{mailbox.Permission{User: "u", CanCreateItems: true, IsFolderVisible: true, EditItems: "owned", DeleteItems: "Owned", ReadItems: "FullDetails"},
			mailbox.Permission{User: "u", CanCreateItems: true, IsFolderVisible: true, EditItems: "Owned", DeleteItems: "Owned", ReadItems: "FullDetails", Level: "Author"}},
		{mailbox.Permission{User: "u", CanCreateItems: true, IsFolderVisible: true, EditItems: "None", DeleteItems: "Owned", ReadItems: "FullDetails", Level: "Custom"},
			mailbox.Permission{User: "u", CanCreateItems: true, IsFolderVisible: true, EditItems: "None", DeleteItems: "Owned", ReadItems: "FullDetails", Level: "NoneditingAuthor"}},
		{mailbox.Permission{User: "u", CanCreateItems: true, IsFolderVisible: true, ReadItems: "None"},
			mailbox.Permission{User: "u", CanCreateItems: true, IsFolderVisible: true, EditItems: "None", DeleteItems: "None", ReadItems: "None", Level: "Contributor"}},
		{mailbox.Permission{User: "u", IsFolderVisible: true, EditItems: "All", ReadItems: "FullDetails"},
			mailbox.Permission{User: "u", IsFolderVisible: true, EditItems: "All", DeleteItems: "None", ReadItems: "FullDetails", Level: "Custom"}},
		{mailbox.Permission{User: "u", ReadItems: "TimeOnly"},
			mailbox.Permission{User: "u", EditItems: "None", DeleteItems: "None", ReadItems: "TimeOnly", Level: "FreeBusyTimeOnly"}},
		{mailbox.Permission{User: "u", Level: "FreeBusyTimeAndSubjectAndLocation"},
			mailbox.Permission{User: "u", EditItems: "None", DeleteItems: "None", ReadItems: "TimeAndSubjectAndLocation", Level: "FreeBusyTimeAndSubjectAndLocation"}},
	} {
		if got := c.in.Normalize(); got != c.want {
			t.Errorf("Normalize(%+v)\n = %+v\nwant %+v", c.in, got, c.want)
		}
	}
	for _, l := range []string{"None", "Owner", "PublishingEditor", "Editor", "PublishingAuthor", "Author", "NoneditingAuthor",
		"Reviewer", "Contributor", "FreeBusyTimeOnly", "FreeBusyTimeAndSubjectAndLocation"} {
		p, ok := mailbox.LevelRights(l)
		if !ok || p.Level != l {
			t.Errorf("LevelRights(%s) = %+v, %v", l, p, ok)
		}
		// The flags of a level give back the level.
		p.Level = ""
		if got := p.Normalize().Level; got != l {
			t.Errorf("flags of %s normalize to %s", l, got)
		}
	}
	for _, l := range []string{"Custom", "", "Boss"} {
		if _, ok := mailbox.LevelRights(l); ok {
			t.Errorf("LevelRights(%q) ok", l)
		}
	}
}

func TestPermissions(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	inbox := folderKey(t, s, m, "inbox")
	cal := folderKey(t, s, m, "calendar")
	for _, c := range []struct {
		folder int64
		level  string
	}{{inbox, "None"}, {cal, "FreeBusyTimeOnly"}} {
		acl := must[[]mailbox.Permission](t)(s.Permissions(ctx, m, c.folder))
		if len(acl) != 1 || acl[0].User != "Default" || acl[0].Level != c.level {
			t.Errorf("default ACL of %d: %+v", c.folder, acl)
		}
	}
	sub := must[*mailbox.Folder](t)(s.CreateFolder(ctx, owner, m, cal, "Team", "IPF.Appointment"))
	if acl := must[[]mailbox.Permission](t)(s.Permissions(ctx, m, sub.Key)); len(acl) != 1 || acl[0].Level != "FreeBusyTimeOnly" {
		t.Errorf("default ACL of a new calendar: %+v", acl)
	}

	user := newGUID()
	before := must[*mailbox.Folder](t)(s.Folder(ctx, m, inbox))
	set := []mailbox.Permission{
		{User: "default", Level: "Reviewer"},
		{User: user, CanCreateItems: true, IsFolderVisible: true, EditItems: "Owned", DeleteItems: "Owned", ReadItems: "FullDetails"},
		{User: "Anonymous"},
	}
	if err := s.SetPermissions(ctx, owner, m, inbox, set); err != nil {
		t.Fatal(err)
	}
	acl := must[[]mailbox.Permission](t)(s.Permissions(ctx, m, inbox))
	if len(acl) != 3 || acl[0].User != "Default" || acl[0].Level != "Reviewer" || !acl[0].IsFolderVisible ||
		acl[1].User != user || acl[1].Level != "Author" || acl[2].Level != "None" {
		t.Errorf("ACL %+v", acl)
	}
	if after := must[*mailbox.Folder](t)(s.Folder(ctx, m, inbox)); after.ChangeKey == before.ChangeKey {
		t.Error("SetPermissions kept the folder's change key")
	}

	for _, c := range []struct {
		name   string
		folder int64
		perms  []mailbox.Permission
		want   error
	}{
		{"duplicate user", inbox, []mailbox.Permission{{User: user, Level: "Editor"}, {User: user, Level: "Reviewer"}}, mailbox.ErrDuplicateUser},
		{"duplicate Default", inbox, []mailbox.Permission{{User: "Default"}, {User: "DEFAULT"}}, mailbox.ErrDuplicateUser},
		{"no user", inbox, []mailbox.Permission{{Level: "Editor"}}, mailbox.ErrInvalidPermission},
		{"unknown level", inbox, []mailbox.Permission{{User: user, Level: "Boss"}}, mailbox.ErrInvalidPermission},
		{"bad value", inbox, []mailbox.Permission{{User: user, EditItems: "Some"}}, mailbox.ErrInvalidPermission},
		{"free/busy on a mail folder", inbox, []mailbox.Permission{{User: user, Level: "FreeBusyTimeOnly"}}, mailbox.ErrCalendarLevel},
		{"time only on a mail folder", inbox, []mailbox.Permission{{User: user, ReadItems: "TimeOnly"}}, mailbox.ErrCalendarLevel},
		{"missing folder", 9999, nil, mailbox.ErrNotFound},
	} {
		if err := s.SetPermissions(ctx, owner, m, c.folder, c.perms); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if err := s.SetPermissions(ctx, owner, m, cal, []mailbox.Permission{{User: "Default", Level: "FreeBusyTimeAndSubjectAndLocation"}}); err != nil {
		t.Errorf("free/busy on a calendar: %v", err)
	}
	if acl := must[[]mailbox.Permission](t)(s.Permissions(ctx, m, inbox)); len(acl) != 3 {
		t.Errorf("refused updates changed the ACL: %+v", acl)
	}
	if err := s.SetPermissions(ctx, owner, m, inbox, nil); err != nil {
		t.Fatal(err)
	}
	if acl := must[[]mailbox.Permission](t)(s.Permissions(ctx, m, inbox)); len(acl) != 0 {
		t.Errorf("after clearing: %+v", acl)
	}
}

func TestOof(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	o := must[*mailbox.Oof](t)(s.Oof(ctx, m))
	if o.State != "Disabled" || o.ExternalAudience != "None" {
		t.Errorf("default %+v", o)
	}
	start := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		in   mailbox.Oof
		want error
	}{
		{"enabled", mailbox.Oof{State: "Enabled", ExternalAudience: "All", InternalReply: "away", ExternalReply: "away!"}, nil},
		{"scheduled", mailbox.Oof{State: "scheduled", ExternalAudience: "known", Start: start, End: start.Add(48 * time.Hour)}, nil},
		{"bad state", mailbox.Oof{State: "Maybe"}, mailbox.ErrInvalidArgument},
		{"bad audience", mailbox.Oof{State: "Enabled", ExternalAudience: "Friends"}, mailbox.ErrInvalidArgument},
		{"end before start", mailbox.Oof{State: "Scheduled", Start: start, End: start.Add(-time.Hour)}, mailbox.ErrInvalidOofDuration},
		{"end equals start", mailbox.Oof{State: "Scheduled", Start: start, End: start}, mailbox.ErrInvalidOofDuration},
		{"scheduled without times", mailbox.Oof{State: "Scheduled"}, mailbox.ErrInvalidOofDuration},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.SetOof(ctx, owner, m, &c.in)
			if !errors.Is(err, c.want) {
				t.Fatalf("SetOof: %v, want %v", err, c.want)
			}
			if err != nil {
				return
			}
			got := must[*mailbox.Oof](t)(s.Oof(ctx, m))
			want := c.in
			want.State = strings.ToUpper(want.State[:1]) + want.State[1:]
			want.ExternalAudience = strings.ToUpper(want.ExternalAudience[:1]) + want.ExternalAudience[1:]
			if *got != want {
				t.Errorf("read back %+v, want %+v", got, want)
			}
		})
	}
	o = must[*mailbox.Oof](t)(s.Oof(ctx, m))
	if !o.Active(start.Add(time.Hour)) || o.Active(start.Add(-time.Hour)) || o.Active(start.Add(48*time.Hour)) {
		t.Errorf("Active of %+v", o)
	}
}

func BenchmarkItemsPage(b *testing.B) {
	ctx := context.Background()
	s, m := newMailbox(b)
	inbox := folderKey(b, s, m, "inbox")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		it := msg(fmt.Sprintf("message %d", i))
		it.Body = strings.Repeat("lorem ipsum ", 100)
		it.DateTimeReceived = base.Add(time.Duration(i) * time.Second)
		it.Categories = []string{"Blue"}
		must[*mailbox.Item](b)(s.CreateItem(ctx, owner, m, inbox, it))
	}
	b.Run("sql", func(b *testing.B) {
		for b.Loop() {
			items, total, err := s.Items(ctx, m, inbox, mailbox.Query{Max: 100})
			if err != nil || len(items) != 100 || total != 1000 {
				b.Fatal(len(items), total, err)
			}
		}
	})
	b.Run("filtered", func(b *testing.B) {
		for b.Loop() {
			items, total, err := s.Items(ctx, m, inbox, mailbox.Query{Max: 100, Filter: func(*mailbox.Item) bool { return true }})
			if err != nil || len(items) != 100 || total != 1000 {
				b.Fatal(len(items), total, err)
			}
		}
	})
}

func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	s, m := newMailbox(t)
	inbox := folderKey(t, s, m, "inbox")
	start := lastSeq(t, s, m)
	const workers, each = 4, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				it, err := s.CreateItem(ctx, owner, m, inbox, msg(fmt.Sprint(w, "/", i)))
				if err == nil {
					_, err = s.UpdateItem(ctx, owner, m, it.Key, it.ChangeKey, func(x *mailbox.Item) error { x.IsRead = true; return nil })
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ch := journal(t, s, m, start)
	if len(ch) != 2*workers*each {
		t.Fatalf("%d journal rows, want %d", len(ch), 2*workers*each)
	}
	keys := map[int64]bool{}
	for i, c := range ch {
		if c.Seq != start+int64(i)+1 {
			t.Fatalf("row %d has seq %d", i, c.Seq)
		}
		if c.Op == mailbox.OpCreate {
			if keys[c.ItemKey] {
				t.Fatalf("key %d created twice", c.ItemKey)
			}
			keys[c.ItemKey] = true
		}
	}
	if f := must[*mailbox.Folder](t)(s.Folder(ctx, m, inbox)); f.TotalCount != workers*each || f.UnreadCount != 0 {
		t.Errorf("inbox %+v", f)
	}
}
