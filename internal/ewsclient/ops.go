package ewsclient

import (
	"context"
	"strconv"
)

// FolderRef names a distinguished folder, optionally of another mailbox
// (explicit delegate access: DistinguishedFolderId with Mailbox).
type FolderRef struct {
	ID      string // distinguished folder id, e.g. "inbox"
	Mailbox string // owner's SMTP address; empty for the effective user's own
}

func (f FolderRef) xml() string {
	s := `<t:DistinguishedFolderId Id="` + escape(f.ID) + `"`
	if f.Mailbox == "" {
		return s + `/>`
	}
	return s + `><t:Mailbox><t:EmailAddress>` + escape(f.Mailbox) + `</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>`
}

// Folder is what GetFolder returned.
type Folder struct {
	ID, ChangeKey    string
	DisplayName      string
	FolderClass      string
	TotalCount       int
	UnreadCount      int
	ChildFolderCount int
	HasTotalCount    bool
}

// GetFolder gets one distinguished folder (Default shape). The folder is
// nil unless the response succeeded.
func (c *Client) GetFolder(ctx context.Context, opts Options, f FolderRef) (*Folder, *Response, error) {
	body := `<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>` + f.xml() + `</m:FolderIds></m:GetFolder>`
	resp, err := c.Call(ctx, opts, body)
	if err != nil || !resp.OK() || len(resp.Messages) == 0 {
		return nil, resp, err
	}
	fs := resp.Messages[0].Node.Child("Folders")
	if fs == nil || len(fs.Children) == 0 {
		return nil, resp, nil
	}
	el := fs.Children[0]
	out := &Folder{DisplayName: el.TextOf("DisplayName"), FolderClass: el.TextOf("FolderClass")}
	if id := el.Child("FolderId"); id != nil {
		out.ID, out.ChangeKey = id.Attr("Id"), id.Attr("ChangeKey")
	}
	if v := el.Child("TotalCount"); v != nil {
		out.TotalCount, _ = strconv.Atoi(v.Text)
		out.HasTotalCount = true
	}
	out.UnreadCount, _ = strconv.Atoi(el.TextOf("UnreadCount"))
	out.ChildFolderCount, _ = strconv.Atoi(el.TextOf("ChildFolderCount"))
	return out, resp, nil
}

// FindItemCount runs a shallow FindItem (IdOnly, one item per page) and
// returns TotalItemsInView; ok is false unless the response succeeded.
func (c *Client) FindItemCount(ctx context.Context, opts Options, f FolderRef) (total int, ok bool, resp *Response, err error) {
	body := `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>` +
		`<m:IndexedPageItemView MaxEntriesReturned="1" Offset="0" BasePoint="Beginning"/>` +
		`<m:ParentFolderIds>` + f.xml() + `</m:ParentFolderIds></m:FindItem>`
	resp, err = c.Call(ctx, opts, body)
	if err != nil || !resp.OK() || len(resp.Messages) == 0 {
		return 0, false, resp, err
	}
	rf := resp.Messages[0].Node.Child("RootFolder")
	if rf == nil {
		return 0, false, resp, nil
	}
	total, _ = strconv.Atoi(rf.Attr("TotalItemsInView"))
	return total, true, resp, nil
}

// Subscription is a pull subscription.
type Subscription struct {
	ID, Watermark string
}

// SubscribePull creates a pull subscription on a folder for all event
// types, timing out after timeoutMinutes (1–1440) of no GetEvents.
func (c *Client) SubscribePull(ctx context.Context, opts Options, f FolderRef, timeoutMinutes int) (*Subscription, *Response, error) {
	body := `<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds>` + f.xml() + `</t:FolderIds><t:EventTypes>` +
		`<t:EventType>NewMailEvent</t:EventType><t:EventType>CreatedEvent</t:EventType><t:EventType>DeletedEvent</t:EventType>` +
		`<t:EventType>ModifiedEvent</t:EventType><t:EventType>MovedEvent</t:EventType><t:EventType>CopiedEvent</t:EventType>` +
		`</t:EventTypes><t:Timeout>` + strconv.Itoa(timeoutMinutes) + `</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>`
	resp, err := c.Call(ctx, opts, body)
	if err != nil || !resp.OK() || len(resp.Messages) == 0 {
		return nil, resp, err
	}
	m := resp.Messages[0].Node
	s := &Subscription{ID: m.TextOf("SubscriptionId"), Watermark: m.TextOf("Watermark")}
	if s.ID == "" {
		return nil, resp, nil
	}
	return s, resp, nil
}

// Events is what GetEvents returned.
type Events struct {
	Count     int    // events other than StatusEvent
	Status    int    // StatusEvent (heartbeat) count
	More      bool   // MoreEvents
	Watermark string // the last watermark seen
}

// GetEvents reads a pull subscription's events.
func (c *Client) GetEvents(ctx context.Context, opts Options, s *Subscription) (*Events, *Response, error) {
	body := `<m:GetEvents><m:SubscriptionId>` + escape(s.ID) + `</m:SubscriptionId><m:Watermark>` + escape(s.Watermark) + `</m:Watermark></m:GetEvents>`
	resp, err := c.Call(ctx, opts, body)
	if err != nil || !resp.OK() || len(resp.Messages) == 0 {
		return nil, resp, err
	}
	n := resp.Messages[0].Node.Child("Notification")
	if n == nil {
		return nil, resp, nil
	}
	ev := &Events{More: n.TextOf("MoreEvents") == "true", Watermark: s.Watermark}
	for _, c := range n.Children {
		switch c.Local {
		case "SubscriptionId", "PreviousWatermark", "MoreEvents":
		case "StatusEvent":
			ev.Status++
		default:
			ev.Count++
		}
		if w := c.TextOf("Watermark"); w != "" {
			ev.Watermark = w
		}
	}
	return ev, resp, nil
}

// Unsubscribe ends a subscription.
func (c *Client) Unsubscribe(ctx context.Context, opts Options, s *Subscription) (*Response, error) {
	return c.Call(ctx, opts, `<m:Unsubscribe><m:SubscriptionId>`+escape(s.ID)+`</m:SubscriptionId></m:Unsubscribe>`)
}

// ConvertIdProbe sends the dummy ConvertId exchangelib uses to probe
// authentication and the server version. Any SOAP answer (normally the
// error ErrorInvalidIdMalformed) shows the endpoint works.
func (c *Client) ConvertIdProbe(ctx context.Context, opts Options) (*Response, error) {
	return c.Call(ctx, opts, `<m:ConvertId DestinationFormat="EntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="DUMMY" Mailbox="DUMMY"/></m:SourceIds></m:ConvertId>`)
}
