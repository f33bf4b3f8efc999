package mailbox

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// plainKey is an Extended key safe to write into an SQL statement.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9:._-]+$`)

// Item rows keep what is queried or sorted in columns (folder, received,
// is_read, subject, class, size), the body in its own column (cheaper to
// read than out of JSON) and the rest in a JSON blob (itemBlob);
// attachments live in their own table and MIME in a nullable column.

const itemCols = `ikey, folder, class, subject, received, is_read, size, seq, body, data`

type itemBlob struct {
	// Body is only read: rows written before migration 3 have it here.
	Body        string            `json:"body,omitempty"`
	BodyType    string            `json:"bodyType,omitempty"`
	From        *Address          `json:"from,omitempty"`
	Sender      *Address          `json:"sender,omitempty"`
	To          []Address         `json:"to,omitempty"`
	Cc          []Address         `json:"cc,omitempty"`
	Bcc         []Address         `json:"bcc,omitempty"`
	ReplyTo     []Address         `json:"replyTo,omitempty"`
	Created     time.Time         `json:"created,omitzero"`
	Sent        time.Time         `json:"sent,omitzero"`
	Modified    time.Time         `json:"modified,omitzero"`
	IsDraft     bool              `json:"isDraft,omitempty"`
	Importance  string            `json:"importance,omitempty"`
	Sensitivity string            `json:"sensitivity,omitempty"`
	Categories  []string          `json:"categories,omitempty"`
	MessageID   string            `json:"messageId,omitempty"`
	InReplyTo   string            `json:"inReplyTo,omitempty"`
	References  string            `json:"references,omitempty"`
	Extended    map[string]string `json:"extended,omitempty"`
}

func encodeBlob(it *Item) (string, error) {
	b, err := json.Marshal(itemBlob{
		BodyType: it.BodyType, From: it.From, Sender: it.Sender,
		To: it.To, Cc: it.Cc, Bcc: it.Bcc, ReplyTo: it.ReplyTo,
		Created: it.DateTimeCreated, Sent: it.DateTimeSent, Modified: it.LastModified,
		IsDraft: it.IsDraft, Importance: it.Importance, Sensitivity: it.Sensitivity, Categories: it.Categories,
		MessageID: it.InternetMessageID, InReplyTo: it.InReplyTo, References: it.References, Extended: it.Extended,
	})
	if err != nil {
		return "", fmt.Errorf("encode item: %w", err)
	}
	return string(b), nil
}

func decodeBlob(data string, it *Item) error {
	var b itemBlob
	if err := json.Unmarshal([]byte(data), &b); err != nil {
		return fmt.Errorf("decode item %d: %w", it.Key, err)
	}
	it.Body, it.BodyType, it.From, it.Sender = b.Body, b.BodyType, b.From, b.Sender
	it.To, it.Cc, it.Bcc, it.ReplyTo = b.To, b.Cc, b.Bcc, b.ReplyTo
	it.DateTimeCreated, it.DateTimeSent, it.LastModified = b.Created, b.Sent, b.Modified
	it.IsDraft, it.Importance, it.Sensitivity, it.Categories = b.IsDraft, b.Importance, b.Sensitivity, b.Categories
	it.InternetMessageID, it.InReplyTo, it.References, it.Extended = b.MessageID, b.InReplyTo, b.References, b.Extended
	return nil
}

// scanItem reads itemCols and then the extra columns into extra.
func scanItem(mbx string, r scanner, extra ...any) (*Item, error) {
	it := &Item{Mailbox: mbx}
	var received, seq int64
	var body, data string
	dest := []any{&it.Key, &it.FolderKey, &it.Class, &it.Subject, &received, &it.IsRead, &it.Size, &seq, &body, &data}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	it.DateTimeReceived = fromMicro(received)
	it.ChangeKey = ChangeKey(seq)
	if err := decodeBlob(data, it); err != nil {
		return nil, err
	}
	if body != "" {
		it.Body = body
	}
	return it, nil
}

// Clone returns a deep copy of the item.
func (it *Item) Clone() *Item {
	c := *it
	if it.From != nil {
		f := *it.From
		c.From = &f
	}
	if it.Sender != nil {
		s := *it.Sender
		c.Sender = &s
	}
	c.To, c.Cc, c.Bcc, c.ReplyTo = slices.Clone(it.To), slices.Clone(it.Cc), slices.Clone(it.Bcc), slices.Clone(it.ReplyTo)
	c.Categories = slices.Clone(it.Categories)
	c.Extended = maps.Clone(it.Extended)
	c.MIME = bytes.Clone(it.MIME)
	c.Attachments = slices.Clone(it.Attachments)
	for i := range c.Attachments {
		c.Attachments[i].Content = bytes.Clone(c.Attachments[i].Content)
	}
	return &c
}

// MIMEContent returns the stored MIME form, or BuildMIME(it) when there is
// none.
func (it *Item) MIMEContent() []byte {
	if len(it.MIME) > 0 {
		return it.MIME
	}
	return BuildMIME(it)
}

// itemSize is the approximate size Store reports: subject, body, MIME and
// attachment contents.
func itemSize(it *Item, attBytes int) int {
	return len(it.Subject) + len(it.Body) + len(it.MIME) + attBytes
}

// getItem reads one item; with full, its MIME and its attachments with
// their contents.
func getItem(ctx context.Context, q querier, mbx string, key int64, full bool) (*Item, error) {
	var mime []byte
	var lastAtt int64
	extra := []any{&lastAtt}
	cols := itemCols + `, last_att`
	if full {
		cols += `, mime`
		extra = append(extra, &mime)
	}
	it, err := scanItem(mbx, q.QueryRowContext(ctx,
		`SELECT `+cols+` FROM mailbox_items WHERE mailbox = $1 AND ikey = $2`, mbx, key), extra...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("item %d of %s: %w", key, mbx, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("item %d: %w", key, err)
	}
	it.MIME = mime
	if lastAtt > 0 {
		atts, err := loadAttachments(ctx, q, mbx, `item = $2`, []any{mbx, key}, full)
		if err != nil {
			return nil, err
		}
		it.Attachments = atts[key]
	}
	return it, nil
}

// loadAttachments reads the attachments of the items matched by cond (an
// SQL condition on mailbox_attachments whose first argument is the
// mailbox), by item key, in number order. Without content, Content is nil.
func loadAttachments(ctx context.Context, q querier, mbx, cond string, args []any, content bool) (map[int64][]Attachment, error) {
	cols := `item, num, name, content_type, content_id, is_inline, modified`
	if content {
		cols += `, content`
	}
	rows, err := q.QueryContext(ctx,
		`SELECT `+cols+` FROM mailbox_attachments WHERE mailbox = $1 AND `+cond+` ORDER BY item, num`, args...)
	if err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	defer rows.Close()
	out := map[int64][]Attachment{}
	for rows.Next() {
		var a Attachment
		var item, modified int64
		dest := []any{&item, &a.Num, &a.Name, &a.ContentType, &a.ContentID, &a.IsInline, &modified}
		if content {
			dest = append(dest, &a.Content)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("attachments: %w", err)
		}
		a.LastModified = fromMicro(modified)
		if content && a.Content == nil {
			a.Content = []byte{}
		}
		out[item] = append(out[item], a)
	}
	return out, rows.Err()
}

// Item implements Mailboxes: the whole item, with its MIME (if stored) and
// attachment contents.
func (s *Store) Item(ctx context.Context, mbx string, key int64) (*Item, error) {
	var it *Item
	err := s.read(ctx, "item", func(q querier) error {
		var err error
		it, err = getItem(ctx, q, mbx, key, true)
		return err
	})
	return it, err
}

// Items implements Mailboxes. The items it returns are summaries: MIME is
// nil and attachments carry no Content (use Item for the whole item).
//
// Without Filter and Less the page is selected in SQL (newest
// DateTimeReceived first, then highest key). With either, every item of
// the folder is loaded and filtered and sorted in Go (stable sort): fine
// for folders of a few thousand items; a later version should translate
// common restrictions and orders to SQL. The total is the count after
// Filter. Traversal "SoftDeleted" lists the items soft-deleted from the
// folder (now in recoverableitemsdeletions).
func (s *Store) Items(ctx context.Context, mbx string, folder int64, q Query) ([]*Item, int, error) {
	if q.Offset < 0 || q.Max < 0 {
		return nil, 0, fmt.Errorf("mailbox: list items: %w: negative offset or max", ErrInvalidArgument)
	}
	var page []*Item
	var total int
	err := s.read(ctx, "list items", func(qr querier) error {
		if _, err := getFolder(ctx, qr, mbx, folder); err != nil {
			return err
		}
		where := `mailbox = $1 AND folder = $2`
		args := []any{mbx, folder}
		switch q.Traversal {
		case "", "Shallow":
		case "SoftDeleted":
			var del int64
			err := qr.QueryRowContext(ctx,
				`SELECT fkey FROM mailbox_folders WHERE mailbox = $1 AND distinguished = 'recoverableitemsdeletions'`, mbx).Scan(&del)
			if errors.Is(err, sql.ErrNoRows) {
				return nil // no dumpster, nothing soft-deleted
			}
			if err != nil {
				return err
			}
			where += ` AND from_folder = $3`
			args = []any{mbx, del, folder}
		default:
			return fmt.Errorf("%w: traversal %q", ErrInvalidArgument, q.Traversal)
		}
		from := `mailbox_items WHERE ` + where // the rows to read, narrowed below
		if m := q.Match; m != nil {
			// A plain key is written into the statement, so that an index on
			// the same expression (mailbox_items_caluid) can serve it.
			n := len(args)
			if plainKey.MatchString(m[0]) {
				where += ` AND json_extract(data, '$.extended."` + m[0] + `"') = $` + strconv.Itoa(n+1)
				args = append(args, m[1])
			} else {
				where += ` AND json_extract(data, '$.extended."' || $` + strconv.Itoa(n+1) + ` || '"') = $` + strconv.Itoa(n+2)
				args = append(args, m[0], m[1])
			}
			from = `mailbox_items WHERE ` + where
		}
		if w := q.Window; w != nil {
			from, args = windowRows(where, args, w)
		}
		if q.Filter == nil && q.Less == nil {
			if err := qr.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+from, args...).Scan(&total); err != nil {
				return err
			}
			limit := int64(math.MaxInt64)
			if q.Max > 0 {
				limit = int64(q.Max)
			}
			n := len(args)
			var err error
			page, err = queryItems(ctx, qr, mbx,
				`SELECT `+itemCols+`, last_att FROM `+from+
					` ORDER BY received DESC, ikey DESC LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2),
				append(args, limit, q.Offset)...)
			return err
		}
		all, err := queryItems(ctx, qr, mbx, `SELECT `+itemCols+`, last_att FROM `+from, args...)
		if err != nil {
			return err
		}
		if q.Filter != nil {
			all = slices.DeleteFunc(all, func(it *Item) bool { return !q.Filter(it) })
		}
		less := q.Less
		if less == nil {
			less = newestFirst
		}
		slices.SortStableFunc(all, func(a, b *Item) int {
			switch {
			case less(a, b):
				return -1
			case less(b, a):
				return 1
			}
			return cmp.Compare(b.Key, a.Key)
		})
		total = len(all)
		start := min(q.Offset, len(all))
		end := len(all)
		if q.Max > 0 {
			end = min(start+q.Max, len(all))
		}
		page = all[start:end]
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return page, total, nil
}

func newestFirst(a, b *Item) bool { return a.DateTimeReceived.After(b.DateTimeReceived) }

// queryItems runs a query selecting itemCols and last_att, and fills the
// attachments (without content) of the items that ever had any.
func queryItems(ctx context.Context, q querier, mbx, query string, args ...any) ([]*Item, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("items: %w", err)
	}
	var out, withAtts []*Item
	for rows.Next() {
		var lastAtt int64
		it, err := scanItem(mbx, rows, &lastAtt)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("items: %w", err)
		}
		out = append(out, it)
		if lastAtt > 0 {
			withAtts = append(withAtts, it)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("items: %w", err)
	}
	return out, attachSummaries(ctx, q, mbx, withAtts)
}

// attachSummaries fills the items' attachments (without content).
func attachSummaries(ctx context.Context, q querier, mbx string, items []*Item) error {
	const chunk = 500
	for len(items) > 0 {
		part := items[:min(chunk, len(items))]
		items = items[len(part):]
		args := []any{mbx}
		ph := make([]string, len(part))
		for i, it := range part {
			args = append(args, it.Key)
			ph[i] = "$" + strconv.Itoa(i+2)
		}
		atts, err := loadAttachments(ctx, q, mbx, `item IN (`+strings.Join(ph, ", ")+`)`, args, false)
		if err != nil {
			return err
		}
		for _, it := range part {
			it.Attachments = atts[it.Key]
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Writes

// prepareNew gives a new item its key, folder and store-set times.
func (w *wtx) prepareNew(it *Item, mbx string, folder int64) {
	it.Mailbox, it.FolderKey = mbx, folder
	it.Key = w.nextItem(mbx)
	if it.Class == "" {
		it.Class = "IPM.Note"
	}
	if it.BodyType == "" {
		it.BodyType = "Text"
	}
	if it.Importance == "" {
		it.Importance = "Normal"
	}
	if it.Sensitivity == "" {
		it.Sensitivity = "Normal"
	}
	it.DateTimeCreated, it.LastModified = w.now, w.now
	if it.DateTimeReceived.IsZero() {
		it.DateTimeReceived = w.now
	}
	it.DateTimeReceived = normTime(it.DateTimeReceived)
	it.DateTimeSent = normTime(it.DateTimeSent)
}

func mimeArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// insertItem writes a new item (key and folder set) with its attachments,
// numbered from 1, and journals op.
func (w *wtx) insertItem(it *Item, op string, oldFolder int64) error {
	return w.insertItemFrom(it, op, oldFolder, 0)
}

// insertItemFrom is insertItem journaling the source item of a copy.
func (w *wtx) insertItemFrom(it *Item, op string, oldFolder, oldItem int64) error {
	seq, err := w.logFrom(it.Mailbox, op, it.Key, it.FolderKey, oldFolder, oldItem)
	if err != nil {
		return err
	}
	it.ChangeKey = ChangeKey(seq)
	attBytes := 0
	for i := range it.Attachments {
		a := &it.Attachments[i]
		a.Num = int64(i + 1)
		if a.LastModified.IsZero() {
			a.LastModified = w.now
		}
		a.LastModified = normTime(a.LastModified)
		if a.Content == nil {
			a.Content = []byte{}
		}
		attBytes += len(a.Content)
	}
	it.Size = itemSize(it, attBytes)
	data, err := encodeBlob(it)
	if err != nil {
		return err
	}
	if _, err := w.tx.ExecContext(w.ctx,
		`INSERT INTO mailbox_items (mailbox, ikey, folder, from_folder, class, subject, received, is_read, size, seq, last_att, body, data, mime)
		 VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		it.Mailbox, it.Key, it.FolderKey, it.Class, it.Subject, micro(it.DateTimeReceived), it.IsRead, it.Size, seq,
		len(it.Attachments), it.Body, data, mimeArg(it.MIME)); err != nil {
		return fmt.Errorf("insert item: %w", err)
	}
	for _, a := range it.Attachments {
		if err := w.insertAttachment(it.Mailbox, it.Key, a); err != nil {
			return err
		}
	}
	return nil
}

func (w *wtx) insertAttachment(mbx string, item int64, a Attachment) error {
	if _, err := w.tx.ExecContext(w.ctx,
		`INSERT INTO mailbox_attachments (mailbox, item, num, name, content_type, content_id, is_inline, size, modified, content)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		mbx, item, a.Num, a.Name, a.ContentType, a.ContentID, a.IsInline, len(a.Content), micro(a.LastModified), a.Content); err != nil {
		return fmt.Errorf("insert attachment: %w", err)
	}
	return nil
}

// saveItem rewrites an existing item's row (not its attachments or
// folder) after journaling op; it sets ChangeKey and Size.
func (w *wtx) saveItem(it *Item, op string, lastAtt int64) error {
	seq, err := w.log(it.Mailbox, op, it.Key, it.FolderKey, 0)
	if err != nil {
		return err
	}
	it.ChangeKey = ChangeKey(seq)
	var attBytes int
	if err := w.tx.QueryRowContext(w.ctx,
		`SELECT COALESCE(SUM(size), 0) FROM mailbox_attachments WHERE mailbox = $1 AND item = $2`,
		it.Mailbox, it.Key).Scan(&attBytes); err != nil {
		return fmt.Errorf("attachment sizes: %w", err)
	}
	it.Size = itemSize(it, attBytes)
	data, err := encodeBlob(it)
	if err != nil {
		return err
	}
	set := `class = $3, subject = $4, received = $5, is_read = $6, size = $7, seq = $8, data = $9, mime = $10, body = $11`
	args := []any{it.Mailbox, it.Key, it.Class, it.Subject, micro(it.DateTimeReceived), it.IsRead, it.Size, seq, data, mimeArg(it.MIME), it.Body}
	if lastAtt > 0 {
		set += `, last_att = $12`
		args = append(args, lastAtt)
	}
	if _, err := w.tx.ExecContext(w.ctx, `UPDATE mailbox_items SET `+set+` WHERE mailbox = $1 AND ikey = $2`, args...); err != nil {
		return fmt.Errorf("save item: %w", err)
	}
	return nil
}

// CreateItem implements Mailboxes. It stores a copy of it with Key,
// ChangeKey, FolderKey, DateTimeCreated, LastModified, DateTimeReceived
// (when zero), Size and attachment numbers set, and defaults for Class
// (IPM.Note), BodyType (Text), Importance and Sensitivity (Normal).
func (s *Store) CreateItem(ctx context.Context, a Actor, mbx string, folder int64, it *Item) (*Item, error) {
	if it == nil {
		return nil, fmt.Errorf("mailbox: create item: %w: no item", ErrInvalidArgument)
	}
	cp := it.Clone()
	err := s.write(ctx, "create item", a, []string{mbx}, false, func(w *wtx) error {
		if _, err := getFolder(w.ctx, w.tx, mbx, folder); err != nil {
			return err
		}
		w.prepareNew(cp, mbx, folder)
		return w.insertItem(cp, OpCreate, 0)
	})
	if err != nil {
		return nil, err
	}
	return cp, nil
}

// mimeFields are the fields BuildMIME writes; when they change and the
// stored MIME does not, the MIME is dropped (rebuilt on demand).
func mimeFields(it *Item) string {
	b, _ := json.Marshal([]any{it.Subject, it.Body, it.BodyType, it.From, it.Sender, it.To, it.Cc, it.Bcc, it.ReplyTo,
		it.DateTimeSent, it.Importance, it.Sensitivity, it.InternetMessageID, it.InReplyTo, it.References})
	return string(b)
}

// UpdateItem implements Mailboxes. fn gets a copy of the whole item; its
// changes to Mailbox, Key, FolderKey, ChangeKey, DateTimeCreated,
// LastModified, Size and Attachments are ignored (use MoveItem and the
// attachment methods). A change of IsRead alone is journaled "readflag" and
// keeps LastModified; anything else is "update". When the fields that make
// up the MIME change but MIME does not, the stored MIME is dropped.
func (s *Store) UpdateItem(ctx context.Context, a Actor, mbx string, key int64, changeKey string, fn func(*Item) error) (*Item, error) {
	var out *Item
	err := s.write(ctx, "update item", a, []string{mbx}, false, func(w *wtx) error {
		old, err := getItem(w.ctx, w.tx, mbx, key, true)
		if err != nil {
			return err
		}
		if changeKey != "" && changeKey != old.ChangeKey {
			return fmt.Errorf("item %d: %w", key, ErrStale)
		}
		cp := old.Clone()
		if err := fn(cp); err != nil {
			return err
		}
		cp.Mailbox, cp.Key, cp.FolderKey, cp.ChangeKey = old.Mailbox, old.Key, old.FolderKey, old.ChangeKey
		cp.DateTimeCreated, cp.LastModified, cp.Size = old.DateTimeCreated, old.LastModified, old.Size
		cp.Attachments = old.Attachments
		cp.DateTimeReceived, cp.DateTimeSent = normTime(cp.DateTimeReceived), normTime(cp.DateTimeSent)
		if mimeFields(cp) != mimeFields(old) && bytes.Equal(cp.MIME, old.MIME) {
			cp.MIME = nil
		}
		op := OpUpdate
		if cp.IsRead != old.IsRead {
			flip := cp.Clone()
			flip.IsRead = old.IsRead
			if sameRow(flip, old) {
				op = OpReadFlag
			}
		}
		if op == OpUpdate {
			cp.LastModified = w.now
		}
		if err := w.saveItem(cp, op, 0); err != nil {
			return err
		}
		out = cp
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sameRow reports whether two versions of an item store the same row.
func sameRow(a, b *Item) bool {
	da, err1 := encodeBlob(a)
	db, err2 := encodeBlob(b)
	return err1 == nil && err2 == nil && da == db && a.Class == b.Class && a.Subject == b.Subject && a.Body == b.Body &&
		a.DateTimeReceived.Equal(b.DateTimeReceived) && a.IsRead == b.IsRead && bytes.Equal(a.MIME, b.MIME)
}

// itemFolder returns the folder of an item, or ErrNotFound.
func (w *wtx) itemFolder(mbx string, key int64) (int64, error) {
	var folder int64
	err := w.tx.QueryRowContext(w.ctx, `SELECT folder FROM mailbox_items WHERE mailbox = $1 AND ikey = $2`, mbx, key).Scan(&folder)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("item %d of %s: %w", key, mbx, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("item %d: %w", key, err)
	}
	return folder, nil
}

// DeleteItem implements Mailboxes. HardDelete removes the item (journal
// "delete"); SoftDelete moves it to recoverableitemsdeletions, remembering
// its folder for Traversal "SoftDeleted" (an item already under Recoverable
// Items is hard-deleted); MoveToDeletedItems moves it to deleteditems (an
// item already under deleteditems is soft-deleted). Moves are journaled
// "move" with OldFolderKey.
func (s *Store) DeleteItem(ctx context.Context, a Actor, mbx string, key int64, mode DeleteMode) error {
	return s.write(ctx, "delete item", a, []string{mbx}, false, func(w *wtx) error {
		folder, err := w.itemFolder(mbx, key)
		if err != nil {
			return err
		}
		t, err := loadTree(w.ctx, w.tx, mbx)
		if err != nil {
			return err
		}
		return w.deleteItem(mbx, t, key, folder, mode)
	})
}

func (w *wtx) deleteItem(mbx string, t folderTree, key, folder int64, mode DeleteMode) error {
	switch mode {
	case HardDelete:
		if _, err := w.log(mbx, OpDelete, key, folder, 0); err != nil {
			return err
		}
		if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM mailbox_items WHERE mailbox = $1 AND ikey = $2`, mbx, key); err != nil {
			return fmt.Errorf("delete item: %w", err)
		}
		return nil
	case SoftDelete:
		if t.within(folder, t.byName("recoverableitemsroot")) {
			return w.deleteItem(mbx, t, key, folder, HardDelete)
		}
		dst := t.byName("recoverableitemsdeletions")
		if dst == 0 {
			return fmt.Errorf("recoverableitemsdeletions of %s: %w", mbx, ErrNotFound)
		}
		return w.moveItem(mbx, key, folder, dst, folder)
	case MoveToDeletedItems:
		dst := t.byName("deleteditems")
		if dst == 0 {
			return fmt.Errorf("deleteditems of %s: %w", mbx, ErrNotFound)
		}
		if t.within(folder, dst) {
			return w.deleteItem(mbx, t, key, folder, SoftDelete)
		}
		return w.moveItem(mbx, key, folder, dst, 0)
	default:
		return fmt.Errorf("%w: delete mode %q", ErrInvalidArgument, mode)
	}
}

// moveItem moves an item and journals "move"; fromFolder is remembered for
// soft-deleted items (0 otherwise).
func (w *wtx) moveItem(mbx string, key, from, to, fromFolder int64) error {
	seq, err := w.log(mbx, OpMove, key, to, from)
	if err != nil {
		return err
	}
	if _, err := w.tx.ExecContext(w.ctx,
		`UPDATE mailbox_items SET folder = $3, from_folder = $4, seq = $5 WHERE mailbox = $1 AND ikey = $2`,
		mbx, key, to, fromFolder, seq); err != nil {
		return fmt.Errorf("move item: %w", err)
	}
	return nil
}

// MoveItem implements Mailboxes: the item keeps its key and id; its
// ChangeKey changes (journal "move" with OldFolderKey).
func (s *Store) MoveItem(ctx context.Context, a Actor, mbx string, key, folder int64) (*Item, error) {
	var out *Item
	err := s.write(ctx, "move item", a, []string{mbx}, false, func(w *wtx) error {
		from, err := w.itemFolder(mbx, key)
		if err != nil {
			return err
		}
		if _, err := getFolder(w.ctx, w.tx, mbx, folder); err != nil {
			return err
		}
		if err := w.moveItem(mbx, key, from, folder, 0); err != nil {
			return err
		}
		out, err = getItem(w.ctx, w.tx, mbx, key, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CopyItem implements Mailboxes. The copy gets a new key, DateTimeCreated
// and LastModified; everything else, attachments and MIME included, is
// copied. It is journaled "copy" in the target mailbox (OldItemKey and
// OldFolderKey are the source item and its folder when both are in one
// mailbox).
func (s *Store) CopyItem(ctx context.Context, a Actor, mbx string, key int64, toMbx string, folder int64) (*Item, error) {
	var out *Item
	err := s.write(ctx, "copy item", a, []string{mbx, toMbx}, false, func(w *wtx) error {
		src, err := getItem(w.ctx, w.tx, mbx, key, true)
		if err != nil {
			return err
		}
		if _, err := getFolder(w.ctx, w.tx, toMbx, folder); err != nil {
			return err
		}
		cp := src.Clone()
		w.prepareNew(cp, toMbx, folder)
		var oldFolder, oldItem int64
		if toMbx == mbx {
			oldFolder, oldItem = src.FolderKey, src.Key
		}
		if err := w.insertItemFrom(cp, OpCopy, oldFolder, oldItem); err != nil {
			return err
		}
		out = cp
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lastAtt returns the highest attachment number an item ever had.
func (w *wtx) lastAtt(mbx string, key int64) (int64, error) {
	var n int64
	err := w.tx.QueryRowContext(w.ctx, `SELECT last_att FROM mailbox_items WHERE mailbox = $1 AND ikey = $2`, mbx, key).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("item %d of %s: %w", key, mbx, ErrNotFound)
	}
	return n, err
}

// AddAttachment implements Mailboxes. The attachment gets the next number
// of the item (numbers are never reused) and LastModified now; the item's
// ChangeKey, LastModified and Size change, its stored MIME is dropped
// (journal "update").
func (s *Store) AddAttachment(ctx context.Context, a Actor, mbx string, key int64, att Attachment) (*Item, Attachment, error) {
	var out *Item
	att.Content = bytes.Clone(att.Content)
	if att.Content == nil {
		att.Content = []byte{}
	}
	err := s.write(ctx, "add attachment", a, []string{mbx}, false, func(w *wtx) error {
		last, err := w.lastAtt(mbx, key)
		if err != nil {
			return err
		}
		att.Num, att.LastModified = last+1, w.now
		if err := w.insertAttachment(mbx, key, att); err != nil {
			return err
		}
		return w.touchItem(mbx, key, att.Num, &out)
	})
	if err != nil {
		return nil, Attachment{}, err
	}
	return out, att, nil
}

// touchItem records an attachment change on the item and reads it back.
func (w *wtx) touchItem(mbx string, key, lastAtt int64, out **Item) error {
	it, err := getItem(w.ctx, w.tx, mbx, key, true)
	if err != nil {
		return err
	}
	it.MIME, it.LastModified = nil, w.now
	if err := w.saveItem(it, OpUpdate, lastAtt); err != nil {
		return err
	}
	*out = it
	return nil
}

// DeleteAttachment implements Mailboxes (ErrNotFound for an unknown
// number); the item changes as with AddAttachment.
func (s *Store) DeleteAttachment(ctx context.Context, a Actor, mbx string, key, num int64) (*Item, error) {
	var out *Item
	err := s.write(ctx, "delete attachment", a, []string{mbx}, false, func(w *wtx) error {
		if _, err := w.itemFolder(mbx, key); err != nil {
			return err
		}
		res, err := w.tx.ExecContext(w.ctx, `DELETE FROM mailbox_attachments WHERE mailbox = $1 AND item = $2 AND num = $3`, mbx, key, num)
		if err != nil {
			return fmt.Errorf("delete attachment: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete attachment: %w", err)
		} else if n == 0 {
			return fmt.Errorf("attachment %d of item %d: %w", num, key, ErrNotFound)
		}
		return w.touchItem(mbx, key, 0, &out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Deliver implements Mailboxes. Each distinct recipient mailbox (Ensured
// first) gets one copy in its inbox: unread, not a draft, received now,
// without Bcc, with the message's MIME (built by BuildMIME when it has
// none), one InternetMessageID shared by all copies (NewMessageID when the
// message has none) and DateTimeSent now when it is zero; all copies are written in one transaction (journal "create"
// in each mailbox). The result follows the order of first appearance in
// to.
func (s *Store) Deliver(ctx context.Context, a Actor, to []string, msg *Item) ([]*Item, error) {
	if msg == nil {
		return nil, fmt.Errorf("mailbox: deliver: %w: no message", ErrInvalidArgument)
	}
	var uniq []string
	seen := map[string]bool{}
	for _, m := range to {
		if !seen[m] {
			seen[m] = true
			uniq = append(uniq, m)
		}
	}
	if len(uniq) == 0 {
		return nil, nil
	}
	for _, m := range uniq {
		if err := s.Ensure(ctx, m); err != nil {
			return nil, fmt.Errorf("mailbox: deliver: %w", err)
		}
	}
	msgID := msg.InternetMessageID
	if msgID == "" {
		msgID = NewMessageID(msg.From) // one id for every copy
	}
	var out []*Item
	err := s.write(ctx, "deliver", a, uniq, false, func(w *wtx) error {
		for _, m := range uniq {
			var inbox int64
			if err := w.tx.QueryRowContext(w.ctx,
				`SELECT fkey FROM mailbox_folders WHERE mailbox = $1 AND distinguished = 'inbox'`, m).Scan(&inbox); err != nil {
				return fmt.Errorf("inbox of %s: %w", m, err)
			}
			cp := msg.Clone()
			cp.Bcc, cp.IsRead, cp.IsDraft, cp.DateTimeReceived = nil, false, false, time.Time{}
			cp.InternetMessageID = msgID
			w.prepareNew(cp, m, inbox)
			if cp.DateTimeSent.IsZero() {
				cp.DateTimeSent = w.now
			}
			if len(cp.MIME) == 0 {
				cp.MIME = BuildMIME(cp)
			}
			if err := w.insertItem(cp, OpCreate, 0); err != nil {
				return err
			}
			out = append(out, cp)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// windowRows returns the FROM clause (and its arguments) of the rows of
// where that a time window keeps: items with w.AlwaysKey, and items whose
// end is not before w.From and whose start is before w.To (a missing start
// or end keeps the row). With plain keys it is a union of three indexable
// queries — series masters, items in the window by their end
// (mailbox_items_calend), items without an end — so a window over a big
// calendar reads only its rows; otherwise one scan with json_extract.
func windowRows(where string, args []any, w *Window) (string, []any) {
	n := len(args)
	p := func(i int) string { return `$` + strconv.Itoa(n+i) }
	if plainKey.MatchString(w.AlwaysKey) && plainKey.MatchString(w.StartKey) && plainKey.MatchString(w.EndKey) {
		ext := func(k string) string { return `json_extract(data, '$.extended."` + k + `"')` }
		always, start, end := ext(w.AlwaysKey), ext(w.StartKey), ext(w.EndKey)
		sel := `SELECT * FROM mailbox_items WHERE ` + where + ` AND `
		// Values are JSON strings, so "x >= ''" is "x IS NOT NULL" as an
		// index range; a unary + keeps a term from choosing the index.
		return `(` + sel + always + ` >= '' UNION ALL ` +
			sel + `+` + always + ` IS NULL AND ` + end + ` >= ` + p(1) + ` AND (` + start + ` IS NULL OR ` + start + ` < ` + p(2) + `) UNION ALL ` +
			sel + `+` + always + ` IS NULL AND ` + end + ` IS NULL AND COALESCE(` + start + `, '') < ` + p(2) + `)`, append(args, w.From, w.To)
	}
	ext := func(i int) string { return `json_extract(data, '$.extended."' || ` + p(i) + ` || '"')` }
	// One json_extract per key (a missing end or start keeps the row).
	return `mailbox_items WHERE ` + where + ` AND (` + ext(1) + ` IS NOT NULL OR (COALESCE(` + ext(2) + `, ` + p(4) + `) >= ` + p(4) +
		` AND COALESCE(` + ext(3) + `, '') < ` + p(5) + `))`, append(args, w.AlwaysKey, w.EndKey, w.StartKey, w.From, w.To)
}
