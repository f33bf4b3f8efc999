package notify

import (
	"context"
	"errors"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
)

// Event is one notification event derived from one journal row.
type Event struct {
	Type      string // CreatedEvent, NewMailEvent, ...
	Seq       int64  // the row; Watermark(Mailbox, Seq) is the event's watermark
	Mailbox   string
	At        time.Time
	Folder    bool  // a folder event (FolderId) rather than an item event (ItemId)
	Key       int64 // item or folder key
	Parent    int64 // parent folder key (0: unknown)
	OldParent int64 // Moved/Copied: the previous parent (Copied: the source's folder)
	OldKey    int64 // Copied: the source item (Moved: 0, the id never changes)
}

// Batch is what one read of a subscription's journal produced.
type Batch struct {
	Events []Event
	// Next is the sequence the read got to: the watermark to resume from
	// (also when no row matched, as for a StatusEvent).
	Next int64
	More bool // rows remain after Next
}

// Read returns the events for s after sequence after, reading at most
// limit journal rows. A hole in the journal (rows pruned, or a mailbox
// recreated) is ErrGap, never a silent skip.
func (h *Hub) Read(ctx context.Context, s *Subscription, after int64, limit int) (Batch, error) {
	rows, err := h.src.Journal(ctx, s.Mailbox, after, limit+1)
	if err != nil {
		if errors.Is(err, mailbox.ErrNotFound) {
			return Batch{}, ErrGap
		}
		return Batch{}, err
	}
	b := Batch{Next: after}
	if len(rows) > limit {
		rows, b.More = rows[:limit], true
	}
	for i, c := range rows {
		if c.Seq != after+int64(i)+1 {
			return Batch{}, ErrGap
		}
		b.Events = append(b.Events, h.events(ctx, s, c)...)
		b.Next = c.Seq
	}
	if n := len(rows); n > 0 {
		if v, ok := h.head.Load(s.Mailbox); !ok || v.(int64) < rows[n-1].Seq {
			h.head.Store(s.Mailbox, rows[n-1].Seq)
		}
	}
	return b, nil
}

func (s *Subscription) inFolder(k int64) bool { return s.Folders == nil || s.Folders[k] }

func (h *Hub) inboxOf(ctx context.Context, mbx string) int64 {
	return h.distinguished(ctx, mbx, "inbox")
}

// distinguished returns (and caches) the key of a distinguished folder.
func (h *Hub) distinguished(ctx context.Context, mbx, name string) int64 {
	k := mbx + "/" + name
	if v, ok := h.inbox.Load(k); ok {
		return v.(int64)
	}
	f, err := h.src.Distinguished(ctx, mbx, name)
	if err != nil {
		return 0
	}
	h.inbox.Store(k, f.Key)
	return f.Key
}

// events maps one journal row to the events s wants.
func (h *Hub) events(ctx context.Context, s *Subscription, c mailbox.Change) []Event {
	e := Event{Seq: c.Seq, Mailbox: c.Mailbox, At: c.At, Key: c.ItemKey, Parent: c.FolderKey}
	var out []Event
	matched := false // the row concerns a watched folder (whatever the types)
	add := func(typ string, ev Event) {
		matched = true
		if s.Types == nil || s.Types[typ] {
			ev.Type = typ
			out = append(out, ev)
		}
	}
	switch c.Op {
	case mailbox.OpCopy:
		if c.OldItemKey == 0 {
			// A copy from another mailbox (or journaled before the source
			// was recorded): an item appeared here.
			if s.inFolder(c.FolderKey) {
				add("CreatedEvent", e)
			}
			break
		}
		// Like a move, a copy concerns the folder it went to and the one
		// it came from.
		if s.inFolder(c.FolderKey) || s.inFolder(c.OldFolderKey) {
			e.OldParent, e.OldKey = c.OldFolderKey, c.OldItemKey
			add("CopiedEvent", e)
		}
	case mailbox.OpCreate:
		if !s.inFolder(c.FolderKey) {
			return nil
		}
		add("CreatedEvent", e)
		// New mail: a message created in the inbox by someone other than
		// the owner acting on their own mailbox (delivery, or a service
		// importing mail).
		if c.FolderKey == h.inboxOf(ctx, c.Mailbox) && !(c.Actor.ID == c.Mailbox && c.Actor.Via == "owner") {
			add("NewMailEvent", e)
		}
	case mailbox.OpUpdate, mailbox.OpReadFlag:
		if s.inFolder(c.FolderKey) {
			add("ModifiedEvent", e)
		}
	case mailbox.OpDelete:
		if s.inFolder(c.FolderKey) {
			add("DeletedEvent", e)
		}
	case mailbox.OpMove:
		if s.inFolder(c.FolderKey) || s.inFolder(c.OldFolderKey) {
			e.OldParent = c.OldFolderKey
			add("MovedEvent", e)
		}
	case mailbox.OpFolderCreate, mailbox.OpFolderUpdate, mailbox.OpFolderDelete:
		e.Folder, e.Key, e.Parent = true, c.FolderKey, 0
		if c.Op == mailbox.OpFolderDelete {
			e.Parent = c.OldFolderKey
		} else if f, err := h.src.Folder(ctx, c.Mailbox, c.FolderKey); err == nil {
			e.Parent = f.ParentKey
		}
		if !s.inFolder(e.Parent) && !s.inFolder(e.Key) && !(c.OldFolderKey != 0 && s.inFolder(c.OldFolderKey)) {
			return nil
		}
		switch {
		case c.Op == mailbox.OpFolderCreate:
			add("CreatedEvent", e)
		case c.Op == mailbox.OpFolderDelete:
			add("DeletedEvent", e)
		case c.OldFolderKey != 0:
			e.OldParent = c.OldFolderKey
			add("MovedEvent", e)
		default:
			add("ModifiedEvent", e)
		}
	}
	// A change to the calendar changes the owner's free/busy.
	if !e.Folder && matched && (s.Types == nil || s.Types["FreeBusyChangedEvent"]) {
		cal := h.distinguished(ctx, c.Mailbox, "calendar")
		if cal != 0 && (c.FolderKey == cal || c.OldFolderKey == cal) {
			fb := e
			fb.Type, fb.Parent, fb.OldParent = "FreeBusyChangedEvent", c.FolderKey, 0
			out = append(out, fb)
		}
	}
	return out
}
