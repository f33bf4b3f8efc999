// Package mailbox stores mailbox contents: folders, items, attachments,
// folder permissions and out-of-office settings, with ids that never change
// (a move changes the parent, not the id), change keys taken from a
// per-mailbox change journal, and delivery between mailboxes.
package mailbox

import (
	"context"
	"errors"
	"time"
)

// This file is the package's contract with its callers (internal/ews, the
// cmdlets, later sync and notifications). Implementations live in the other
// files of the package.

// Errors callers map to EWS response codes.
var (
	ErrNotFound            = errors.New("mailbox: not found")                               // ErrorItemNotFound / ErrorFolderNotFound
	ErrStale               = errors.New("mailbox: change key is stale")                     // ErrorIrresolvableConflict
	ErrFolderExists        = errors.New("mailbox: a folder with that name already exists")  // ErrorFolderExists
	ErrInvalidID           = errors.New("mailbox: malformed id")                            // ErrorInvalidIdMalformed
	ErrNoMailbox           = errors.New("mailbox: the recipient has no mailbox")            // ErrorNonExistentMailbox
	ErrDeleteDistinguished = errors.New("mailbox: distinguished folders cannot be deleted") // ErrorDeleteDistinguishedFolder
)

// Id kinds encoded in an id.
const (
	KindFolder     byte = 'F'
	KindItem       byte = 'I'
	KindAttachment byte = 'A'
)

// ID is the decoded form of an opaque EWS id: which mailbox (the owner's
// directory Guid), what kind, and the stable key within the mailbox. For
// attachments Sub is the attachment number within item Key.
type ID struct {
	Kind    byte
	Mailbox string
	Key     int64
	Sub     int64
}

// The functions EncodeID(ID) string and DecodeID(string) (ID, error)
// produce and read the opaque standard-base64 form clients see.

// Folder is one folder of a mailbox.
type Folder struct {
	Mailbox       string // owner's recipient id
	Key           int64
	ParentKey     int64  // 0 for the root folder
	Distinguished string // "inbox", "calendar", ...; "" for user-created folders
	DisplayName   string
	Class         string // IPF.Note, IPF.Appointment, IPF.Contact, IPF.Task, IPF.StickyNote, IPF.Journal
	ChangeKey     string
	// Counts, filled in by reads.
	TotalCount       int
	UnreadCount      int
	ChildFolderCount int
}

// Address is a mailbox address as EWS shows it.
type Address struct {
	Name        string
	Email       string
	RoutingType string // "SMTP"
	MailboxType string // "Mailbox", "PublicDL", "PrivateDL", "OneOff", ...
}

// Attachment is a file attachment.
type Attachment struct {
	Num          int64 // stable within its item
	Name         string
	ContentType  string
	ContentID    string
	IsInline     bool
	Content      []byte
	LastModified time.Time
}

// Item is one item (a message for now; calendar items extend it later).
type Item struct {
	Mailbox   string
	Key       int64
	FolderKey int64
	ChangeKey string
	Class     string // IPM.Note, ...

	Subject     string
	Body        string
	BodyType    string // "HTML" or "Text"
	From        *Address
	Sender      *Address
	To, Cc, Bcc []Address
	ReplyTo     []Address

	DateTimeCreated  time.Time
	DateTimeReceived time.Time
	DateTimeSent     time.Time
	LastModified     time.Time

	IsRead            bool
	IsDraft           bool
	Importance        string // Low, Normal, High
	Sensitivity       string // Normal, Personal, Private, Confidential
	Categories        []string
	InternetMessageID string
	InReplyTo         string
	References        string
	// Extended holds extended MAPI properties set by clients, keyed by a
	// canonical form of their ExtendedFieldURI.
	Extended map[string]string

	Attachments []Attachment
	Size        int
	// MIME is the RFC 5322 form when the item was created from MIME or
	// delivered; otherwise it is built on demand by BuildMIME.
	MIME []byte
}

// HasAttachments reports whether the item has non-inline attachments.
func (it *Item) HasAttachments() bool {
	for _, a := range it.Attachments {
		if !a.IsInline {
			return true
		}
	}
	return false
}

// Actor is who performs a write, for the journal: the authenticated
// account, and how it reached the mailbox.
type Actor struct {
	ID  string // recipient id of the authenticated caller
	Via string // "owner", "impersonation" or "delegate"
}

// DeleteMode is how DeleteItem and DeleteFolder remove things.
type DeleteMode string

// Delete modes, as EWS names them.
const (
	HardDelete         DeleteMode = "HardDelete"
	SoftDelete         DeleteMode = "SoftDelete"         // to Recoverable Items (deletions)
	MoveToDeletedItems DeleteMode = "MoveToDeletedItems" // to Deleted Items
)

// Query selects and pages items of one folder.
type Query struct {
	Offset    int
	Max       int                   // 0 = no limit
	Filter    func(*Item) bool      // nil = all
	Less      func(a, b *Item) bool // nil = newest DateTimeReceived first
	Traversal string                // "Shallow" (default) or "SoftDeleted"
	// Window, when set, lets the store skip items outside a time window
	// before Filter runs (in SQL, without decoding them). It only narrows:
	// callers still filter exactly, and a store may ignore it.
	Window *Window
	// Match, when set, keeps only items whose Extended property Match[0]
	// equals Match[1] (in SQL, without decoding the others). Like Window it
	// only narrows: callers still filter exactly.
	Match *[2]string
}

// Window selects items by string-valued Extended properties holding times
// in one sortable form (RFC 3339 in UTC): an item is kept when it has
// AlwaysKey, or when its EndKey value is not before From and its StartKey
// value is before To. An item lacking EndKey or StartKey is kept.
type Window struct {
	StartKey, EndKey, AlwaysKey string
	From, To                    string
}

// Permission is one folder ACE. User is a recipient id, or "Default" or
// "Anonymous". Level is derived from the flags unless it names a role.
type Permission struct {
	User                string
	CanCreateItems      bool
	CanCreateSubFolders bool
	IsFolderOwner       bool
	IsFolderVisible     bool
	IsFolderContact     bool
	EditItems           string // None, Owned, All
	DeleteItems         string // None, Owned, All
	ReadItems           string // None, FullDetails; calendars also TimeOnly, TimeAndSubjectAndLocation
	Level               string // None, Owner, PublishingEditor, Editor, PublishingAuthor, Author, NoneditingAuthor, Reviewer, Contributor, FreeBusyTimeOnly, FreeBusyTimeAndSubjectAndLocation, Custom
}

// Oof is a mailbox's out-of-office configuration.
type Oof struct {
	State            string // Disabled, Enabled, Scheduled
	ExternalAudience string // None, Known, All
	Start, End       time.Time
	InternalReply    string
	ExternalReply    string
}

// Change is one row of a mailbox's change journal.
type Change struct {
	Seq          int64
	Mailbox      string
	Op           string // "create", "update", "delete", "move", "copy", "readflag", "folder-create", "folder-update", "folder-delete", "oof" (audit only; sync ignores it)
	ItemKey      int64
	FolderKey    int64
	OldFolderKey int64
	OldItemKey   int64 // "copy" within one mailbox: the source item (0 otherwise)
	Actor        Actor
	At           time.Time
}

// Mailboxes is what the EWS layer and the cmdlets use; *Store implements
// it. Every method that writes appends to the mailbox's journal in the same
// SQL transaction, and changes the ChangeKey of what it touches. mbx is
// always the owner's recipient id; authorization is the caller's job.
type Mailboxes interface {
	// Ensure creates the mailbox's default folders if they are missing
	// (idempotent): root, msgfolderroot (Top of Information Store) and under
	// it inbox, drafts, sentitems, deleteditems, outbox, junkemail, calendar,
	// contacts, tasks, notes, journal; under root also recoverableitemsroot
	// with recoverableitemsdeletions.
	Ensure(ctx context.Context, mbx string) error
	// Remove deletes a mailbox's contents (the recipient was removed).
	Remove(ctx context.Context, mbx string) error

	Folder(ctx context.Context, mbx string, key int64) (*Folder, error)
	Distinguished(ctx context.Context, mbx, name string) (*Folder, error)
	// Children lists a folder's subfolders, the whole subtree when deep,
	// in a stable order (parents before children, then by name).
	Children(ctx context.Context, mbx string, parent int64, deep bool) ([]*Folder, error)
	CreateFolder(ctx context.Context, a Actor, mbx string, parent int64, name, class string) (*Folder, error)
	RenameFolder(ctx context.Context, a Actor, mbx string, key int64, name string) (*Folder, error)
	MoveFolder(ctx context.Context, a Actor, mbx string, key, newParent int64) (*Folder, error)
	DeleteFolder(ctx context.Context, a Actor, mbx string, key int64, mode DeleteMode) error
	EmptyFolder(ctx context.Context, a Actor, mbx string, key int64, mode DeleteMode, subfolders bool) error

	// Items returns one page of a folder's items and the folder's total.
	// The items are summaries: MIME is nil and attachments have no Content
	// (Item returns the whole item).
	Items(ctx context.Context, mbx string, folder int64, q Query) ([]*Item, int, error)
	Item(ctx context.Context, mbx string, key int64) (*Item, error)
	CreateItem(ctx context.Context, a Actor, mbx string, folder int64, it *Item) (*Item, error)
	// UpdateItem applies fn to a copy of the item and saves it. A non-empty
	// changeKey that is not the current one gives ErrStale.
	UpdateItem(ctx context.Context, a Actor, mbx string, key int64, changeKey string, fn func(*Item) error) (*Item, error)
	DeleteItem(ctx context.Context, a Actor, mbx string, key int64, mode DeleteMode) error
	// MoveItem moves within a mailbox; the item keeps its id.
	MoveItem(ctx context.Context, a Actor, mbx string, key, folder int64) (*Item, error)
	// CopyItem copies into a folder of the same or another mailbox; the copy
	// has a new id.
	CopyItem(ctx context.Context, a Actor, mbx string, key int64, toMbx string, folder int64) (*Item, error)
	AddAttachment(ctx context.Context, a Actor, mbx string, key int64, att Attachment) (*Item, Attachment, error)
	DeleteAttachment(ctx context.Context, a Actor, mbx string, key, num int64) (*Item, error)

	// Deliver stores a copy of a sent message in each recipient mailbox's
	// inbox (unread, DateTimeReceived now) and returns the new items.
	Deliver(ctx context.Context, a Actor, to []string, msg *Item) ([]*Item, error)

	Permissions(ctx context.Context, mbx string, folder int64) ([]Permission, error)
	// SetPermissions replaces the folder's whole ACL; UpdatePermissions
	// changes it from its current value in one transaction.
	SetPermissions(ctx context.Context, a Actor, mbx string, folder int64, perms []Permission) error
	UpdatePermissions(ctx context.Context, a Actor, mbx string, folder int64, fn func([]Permission) ([]Permission, error)) ([]Permission, error)

	Oof(ctx context.Context, mbx string) (*Oof, error)
	SetOof(ctx context.Context, a Actor, mbx string, o *Oof) error

	// Delegates and UpdateDelegates keep the delegate list (delegates.go);
	// UpdateDelegates also writes the delegates' folder permissions, in the
	// same transaction as the read-modify-write of the list.
	Delegates(ctx context.Context, mbx string) (*DelegateSettings, error)
	UpdateDelegates(ctx context.Context, a Actor, mbx string, fn func(*DelegateSettings) error) (*DelegateSettings, error)
	// MeetingResponses and SetMeetingResponse keep an organizer's tracking
	// of attendee responses (meetings.go).
	MeetingResponses(ctx context.Context, mbx, uid string) (map[string]MeetingResponse, error)
	SetMeetingResponse(ctx context.Context, a Actor, mbx, uid, attendee, response string) error

	// Journal returns changes after seq, oldest first, at most limit (no
	// limit when limit <= 0). For folder operations FolderKey is the folder
	// and, on moves and deletes, OldFolderKey its (previous) parent; for
	// item moves FolderKey is the new folder and OldFolderKey the old one;
	// for copies within one mailbox ItemKey is the copy, OldItemKey the
	// source item and OldFolderKey its folder.
	Journal(ctx context.Context, mbx string, after int64, limit int) ([]Change, error)
}
