package ews

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
)

// fakeMailboxes is an in-memory mailbox.Mailboxes for tests.
type fakeMailboxes struct {
	mu      sync.Mutex
	seq     int64
	next    int64
	folders map[string]map[int64]*mailbox.Folder
	items   map[string]map[int64]*mailbox.Item
	perms   map[string]map[int64][]mailbox.Permission
	oof     map[string]*mailbox.Oof
	journal map[string][]mailbox.Change
}

func newFake() *fakeMailboxes {
	return &fakeMailboxes{folders: map[string]map[int64]*mailbox.Folder{}, items: map[string]map[int64]*mailbox.Item{},
		perms: map[string]map[int64][]mailbox.Permission{}, oof: map[string]*mailbox.Oof{}, journal: map[string][]mailbox.Change{}}
}

var _ mailbox.Mailboxes = (*fakeMailboxes)(nil)

func (f *fakeMailboxes) ck() string { f.seq++; return fmt.Sprintf("CK%d", f.seq) }

func (f *fakeMailboxes) log(a mailbox.Actor, mbx, op string, item, folder int64) {
	f.journal[mbx] = append(f.journal[mbx], mailbox.Change{Seq: f.seq, Mailbox: mbx, Op: op, ItemKey: item, FolderKey: folder, Actor: a, At: time.Now()})
}

var fakeDefaults = []struct{ name, parent, display, class string }{
	{"root", "", "", "IPF.Note"}, {"msgfolderroot", "root", "Top of Information Store", "IPF.Note"},
	{"inbox", "msgfolderroot", "Inbox", "IPF.Note"}, {"drafts", "msgfolderroot", "Drafts", "IPF.Note"},
	{"sentitems", "msgfolderroot", "Sent Items", "IPF.Note"}, {"deleteditems", "msgfolderroot", "Deleted Items", "IPF.Note"},
	{"outbox", "msgfolderroot", "Outbox", "IPF.Note"}, {"junkemail", "msgfolderroot", "Junk Email", "IPF.Note"},
	{"calendar", "msgfolderroot", "Calendar", "IPF.Appointment"}, {"contacts", "msgfolderroot", "Contacts", "IPF.Contact"},
	{"tasks", "msgfolderroot", "Tasks", "IPF.Task"}, {"notes", "msgfolderroot", "Notes", "IPF.StickyNote"},
	{"journal", "msgfolderroot", "Journal", "IPF.Journal"}, {"recoverableitemsroot", "root", "Recoverable Items", "IPF.Note"},
	{"recoverableitemsdeletions", "recoverableitemsroot", "Deletions", "IPF.Note"},
}

func (f *fakeMailboxes) Ensure(ctx context.Context, mbx string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !validGUID(mbx) {
		return mailbox.ErrNoMailbox
	}
	if f.folders[mbx] != nil {
		return nil
	}
	f.folders[mbx] = map[int64]*mailbox.Folder{}
	f.items[mbx] = map[int64]*mailbox.Item{}
	f.perms[mbx] = map[int64][]mailbox.Permission{}
	keys := map[string]int64{}
	for _, d := range fakeDefaults {
		f.next++
		fo := &mailbox.Folder{Mailbox: mbx, Key: f.next, ParentKey: keys[d.parent], Distinguished: d.name, DisplayName: d.display, Class: d.class, ChangeKey: f.ck()}
		keys[d.name] = f.next
		f.folders[mbx][f.next] = fo
	}
	return nil
}

func (f *fakeMailboxes) Remove(ctx context.Context, mbx string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.folders, mbx)
	delete(f.items, mbx)
	return nil
}

func (f *fakeMailboxes) withCounts(fo *mailbox.Folder) *mailbox.Folder {
	c := *fo
	c.TotalCount, c.UnreadCount, c.ChildFolderCount = 0, 0, 0
	for _, it := range f.items[fo.Mailbox] {
		if it.FolderKey == fo.Key {
			c.TotalCount++
			if !it.IsRead {
				c.UnreadCount++
			}
		}
	}
	for _, x := range f.folders[fo.Mailbox] {
		if x.ParentKey == fo.Key {
			c.ChildFolderCount++
		}
	}
	return &c
}

func (f *fakeMailboxes) Folder(ctx context.Context, mbx string, key int64) (*mailbox.Folder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fo := f.folders[mbx][key]
	if fo == nil {
		return nil, mailbox.ErrNotFound
	}
	return f.withCounts(fo), nil
}

func (f *fakeMailboxes) Distinguished(ctx context.Context, mbx, name string) (*mailbox.Folder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fo := range f.folders[mbx] {
		if fo.Distinguished == name {
			return f.withCounts(fo), nil
		}
	}
	return nil, mailbox.ErrNotFound
}

func (f *fakeMailboxes) Children(ctx context.Context, mbx string, parent int64, deep bool) ([]*mailbox.Folder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.folders[mbx][parent] == nil {
		return nil, mailbox.ErrNotFound
	}
	var out []*mailbox.Folder
	var walk func(p int64)
	walk = func(p int64) {
		var kids []*mailbox.Folder
		for _, fo := range f.folders[mbx] {
			if fo.ParentKey == p && fo.Key != p {
				kids = append(kids, fo)
			}
		}
		sort.Slice(kids, func(i, j int) bool { return kids[i].DisplayName < kids[j].DisplayName })
		for _, k := range kids {
			out = append(out, f.withCounts(k))
			if deep {
				walk(k.Key)
			}
		}
	}
	walk(parent)
	return out, nil
}

func (f *fakeMailboxes) CreateFolder(ctx context.Context, a mailbox.Actor, mbx string, parent int64, name, class string) (*mailbox.Folder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.folders[mbx][parent] == nil {
		return nil, mailbox.ErrNotFound
	}
	for _, fo := range f.folders[mbx] {
		if fo.ParentKey == parent && strings.EqualFold(fo.DisplayName, name) {
			return nil, mailbox.ErrFolderExists
		}
	}
	f.next++
	fo := &mailbox.Folder{Mailbox: mbx, Key: f.next, ParentKey: parent, DisplayName: name, Class: class, ChangeKey: f.ck()}
	f.folders[mbx][fo.Key] = fo
	f.log(a, mbx, "folder-create", 0, fo.Key)
	return f.withCounts(fo), nil
}

func (f *fakeMailboxes) RenameFolder(ctx context.Context, a mailbox.Actor, mbx string, key int64, name string) (*mailbox.Folder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fo := f.folders[mbx][key]
	if fo == nil {
		return nil, mailbox.ErrNotFound
	}
	fo.DisplayName, fo.ChangeKey = name, f.ck()
	return f.withCounts(fo), nil
}

func (f *fakeMailboxes) MoveFolder(ctx context.Context, a mailbox.Actor, mbx string, key, newParent int64) (*mailbox.Folder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fo := f.folders[mbx][key]
	if fo == nil || f.folders[mbx][newParent] == nil {
		return nil, mailbox.ErrNotFound
	}
	fo.ParentKey, fo.ChangeKey = newParent, f.ck()
	return f.withCounts(fo), nil
}

func (f *fakeMailboxes) DeleteFolder(ctx context.Context, a mailbox.Actor, mbx string, key int64, mode mailbox.DeleteMode) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fo := f.folders[mbx][key]
	if fo == nil {
		return mailbox.ErrNotFound
	}
	if fo.Distinguished != "" {
		return mailbox.ErrDeleteDistinguished
	}
	delete(f.folders[mbx], key)
	return nil
}

func (f *fakeMailboxes) EmptyFolder(ctx context.Context, a mailbox.Actor, mbx string, key int64, mode mailbox.DeleteMode, subfolders bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.folders[mbx][key] == nil {
		return mailbox.ErrNotFound
	}
	for k, it := range f.items[mbx] {
		if it.FolderKey == key {
			delete(f.items[mbx], k)
		}
	}
	return nil
}

func cloneItem(it *mailbox.Item) *mailbox.Item {
	c := *it
	c.To = append([]mailbox.Address(nil), it.To...)
	c.Cc = append([]mailbox.Address(nil), it.Cc...)
	c.Bcc = append([]mailbox.Address(nil), it.Bcc...)
	c.Categories = append([]string(nil), it.Categories...)
	c.Attachments = append([]mailbox.Attachment(nil), it.Attachments...)
	if it.Extended != nil {
		c.Extended = map[string]string{}
		for k, v := range it.Extended {
			c.Extended[k] = v
		}
	}
	if it.From != nil {
		a := *it.From
		c.From = &a
	}
	if it.Sender != nil {
		a := *it.Sender
		c.Sender = &a
	}
	return &c
}

func (f *fakeMailboxes) Items(ctx context.Context, mbx string, folder int64, q mailbox.Query) ([]*mailbox.Item, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.folders[mbx][folder] == nil {
		return nil, 0, mailbox.ErrNotFound
	}
	var all []*mailbox.Item
	for _, it := range f.items[mbx] {
		if it.FolderKey == folder && (q.Filter == nil || q.Filter(it)) {
			all = append(all, cloneItem(it))
		}
	}
	less := q.Less
	if less == nil {
		less = func(a, b *mailbox.Item) bool { return a.DateTimeReceived.After(b.DateTimeReceived) }
	}
	sort.SliceStable(all, func(i, j int) bool { return less(all[i], all[j]) })
	total := len(all)
	if q.Offset >= len(all) {
		return nil, total, nil
	}
	all = all[q.Offset:]
	if q.Max > 0 && len(all) > q.Max {
		all = all[:q.Max]
	}
	return all, total, nil
}

func (f *fakeMailboxes) Item(ctx context.Context, mbx string, key int64) (*mailbox.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[mbx][key]
	if it == nil {
		return nil, mailbox.ErrNotFound
	}
	return cloneItem(it), nil
}

func (f *fakeMailboxes) createLocked(mbx string, folder int64, it *mailbox.Item) (*mailbox.Item, error) {
	if f.folders[mbx][folder] == nil {
		return nil, mailbox.ErrNotFound
	}
	c := cloneItem(it)
	f.next++
	c.Mailbox, c.Key, c.FolderKey, c.ChangeKey = mbx, f.next, folder, f.ck()
	if c.DateTimeCreated.IsZero() {
		c.DateTimeCreated = time.Now().UTC()
	}
	if c.DateTimeReceived.IsZero() {
		c.DateTimeReceived = c.DateTimeCreated
	}
	c.LastModified = time.Now().UTC()
	for i := range c.Attachments {
		c.Attachments[i].Num = int64(i + 1)
	}
	f.items[mbx][c.Key] = c
	return cloneItem(c), nil
}

func (f *fakeMailboxes) CreateItem(ctx context.Context, a mailbox.Actor, mbx string, folder int64, it *mailbox.Item) (*mailbox.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.createLocked(mbx, folder, it)
	if err == nil {
		f.log(a, mbx, "create", c.Key, folder)
	}
	return c, err
}

func (f *fakeMailboxes) UpdateItem(ctx context.Context, a mailbox.Actor, mbx string, key int64, changeKey string, fn func(*mailbox.Item) error) (*mailbox.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[mbx][key]
	if it == nil {
		return nil, mailbox.ErrNotFound
	}
	if changeKey != "" && changeKey != it.ChangeKey {
		return nil, mailbox.ErrStale
	}
	c := cloneItem(it)
	if err := fn(c); err != nil {
		return nil, err
	}
	c.Mailbox, c.Key, c.FolderKey, c.ChangeKey = mbx, key, it.FolderKey, f.ck()
	f.items[mbx][key] = c
	f.log(a, mbx, "update", key, c.FolderKey)
	return cloneItem(c), nil
}

func (f *fakeMailboxes) DeleteItem(ctx context.Context, a mailbox.Actor, mbx string, key int64, mode mailbox.DeleteMode) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[mbx][key]
	if it == nil {
		return mailbox.ErrNotFound
	}
	if mode == mailbox.MoveToDeletedItems {
		for _, fo := range f.folders[mbx] {
			if fo.Distinguished == "deleteditems" && it.FolderKey != fo.Key {
				it.FolderKey, it.ChangeKey = fo.Key, f.ck()
				return nil
			}
		}
	}
	delete(f.items[mbx], key)
	return nil
}

func (f *fakeMailboxes) MoveItem(ctx context.Context, a mailbox.Actor, mbx string, key, folder int64) (*mailbox.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[mbx][key]
	if it == nil || f.folders[mbx][folder] == nil {
		return nil, mailbox.ErrNotFound
	}
	it.FolderKey, it.ChangeKey = folder, f.ck()
	return cloneItem(it), nil
}

func (f *fakeMailboxes) CopyItem(ctx context.Context, a mailbox.Actor, mbx string, key int64, toMbx string, folder int64) (*mailbox.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[mbx][key]
	if it == nil {
		return nil, mailbox.ErrNotFound
	}
	return f.createLocked(toMbx, folder, it)
}

func (f *fakeMailboxes) AddAttachment(ctx context.Context, a mailbox.Actor, mbx string, key int64, att mailbox.Attachment) (*mailbox.Item, mailbox.Attachment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[mbx][key]
	if it == nil {
		return nil, att, mailbox.ErrNotFound
	}
	var max int64
	for _, x := range it.Attachments {
		if x.Num > max {
			max = x.Num
		}
	}
	att.Num = max + 1
	it.Attachments = append(it.Attachments, att)
	it.ChangeKey = f.ck()
	return cloneItem(it), att, nil
}

func (f *fakeMailboxes) DeleteAttachment(ctx context.Context, a mailbox.Actor, mbx string, key, num int64) (*mailbox.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[mbx][key]
	if it == nil {
		return nil, mailbox.ErrNotFound
	}
	for i, x := range it.Attachments {
		if x.Num == num {
			it.Attachments = append(it.Attachments[:i:i], it.Attachments[i+1:]...)
			it.ChangeKey = f.ck()
			return cloneItem(it), nil
		}
	}
	return nil, mailbox.ErrNotFound
}

func (f *fakeMailboxes) Deliver(ctx context.Context, a mailbox.Actor, to []string, msg *mailbox.Item) ([]*mailbox.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*mailbox.Item
	for _, mbx := range to {
		var inbox int64
		for _, fo := range f.folders[mbx] {
			if fo.Distinguished == "inbox" {
				inbox = fo.Key
			}
		}
		if inbox == 0 {
			return nil, mailbox.ErrNoMailbox
		}
		c := cloneItem(msg)
		c.IsRead, c.IsDraft, c.DateTimeReceived = false, false, time.Now().UTC()
		it, err := f.createLocked(mbx, inbox, c)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

func (f *fakeMailboxes) Permissions(ctx context.Context, mbx string, folder int64) ([]mailbox.Permission, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.folders[mbx][folder] == nil {
		return nil, mailbox.ErrNotFound
	}
	return append([]mailbox.Permission(nil), f.perms[mbx][folder]...), nil
}

func (f *fakeMailboxes) SetPermissions(ctx context.Context, a mailbox.Actor, mbx string, folder int64, perms []mailbox.Permission) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.folders[mbx][folder] == nil {
		return mailbox.ErrNotFound
	}
	f.perms[mbx][folder] = append([]mailbox.Permission(nil), perms...)
	return nil
}

func (f *fakeMailboxes) UpdatePermissions(ctx context.Context, a mailbox.Actor, mbx string, folder int64, fn func([]mailbox.Permission) ([]mailbox.Permission, error)) ([]mailbox.Permission, error) {
	cur, err := f.Permissions(ctx, mbx, folder)
	if err != nil {
		return nil, err
	}
	perms, err := fn(cur)
	if err != nil {
		return nil, err
	}
	return perms, f.SetPermissions(ctx, a, mbx, folder, perms)
}

func (f *fakeMailboxes) Oof(ctx context.Context, mbx string) (*mailbox.Oof, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o := f.oof[mbx]; o != nil {
		c := *o
		return &c, nil
	}
	return &mailbox.Oof{State: "Disabled", ExternalAudience: "All"}, nil
}

func (f *fakeMailboxes) SetOof(ctx context.Context, a mailbox.Actor, mbx string, o *mailbox.Oof) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *o
	f.oof[mbx] = &c
	return nil
}

// Delegates: the fake has none (delegates are tested on the SQL store).
func (f *fakeMailboxes) Delegates(ctx context.Context, mbx string) (*mailbox.DelegateSettings, error) {
	return &mailbox.DelegateSettings{DeliverMeetingRequests: "DelegatesAndSendInformationToMe"}, nil
}

func (f *fakeMailboxes) UpdateDelegates(ctx context.Context, a mailbox.Actor, mbx string, fn func(*mailbox.DelegateSettings) error) (*mailbox.DelegateSettings, error) {
	return nil, mailbox.ErrInvalidArgument
}

func (f *fakeMailboxes) MeetingResponses(ctx context.Context, mbx, uid string) (map[string]mailbox.MeetingResponse, error) {
	return map[string]mailbox.MeetingResponse{}, nil
}

func (f *fakeMailboxes) SetMeetingResponse(ctx context.Context, a mailbox.Actor, mbx, uid, attendee, response string) error {
	return nil
}

func (f *fakeMailboxes) Journal(ctx context.Context, mbx string, after int64, limit int) ([]mailbox.Change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []mailbox.Change
	for _, c := range f.journal[mbx] {
		if c.Seq > after {
			out = append(out, c)
		}
	}
	return out, nil
}

func validGUID(s string) bool { return mailbox.ValidMailboxID(s) }

func fakeDistinguished() []string {
	var out []string
	for _, d := range fakeDefaults {
		out = append(out, d.name)
	}
	return out
}
