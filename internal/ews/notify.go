package ews

// Subscribe, GetEvents, Unsubscribe and GetStreamingEvents over
// internal/notify. Subscriptions belong to the authenticated account that
// created them (the service account under impersonation) and watch one
// mailbox: the effective user's. Naming another mailbox's folders is
// delegate access, which cannot subscribe.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/notify"
	"github.com/actasmail/actas/internal/rbac"
)

const (
	maxStreamingIDs   = 200
	pullEventsPerCall = 100
	streamRowsPerRead = 200
	heartbeatEvery    = 30 * time.Second
)

// Streaming envelopes are written as Exchange writes them: an unprefixed
// Envelope in the SOAP namespace, no XML declaration. ews-javascript-api
// finds each document by searching the stream for "<Envelope" and
// "</Envelope>"; exchangelib accepts any prefix.
const (
	streamEnvelopeStart = `<Envelope xmlns="` + nsSOAP + `" xmlns:m="` + nsMsgs + `" xmlns:t="` + nsTypes + `" xmlns:xsi="` + nsXSI + `">` +
		`<Header>` + serverVersionInfo + `</Header><Body>`
	streamEnvelopeEnd = `</Body></Envelope>`
)

// streamMinute is a ConnectionTimeout minute (tests shorten it).
var streamMinute = time.Minute

var notifyTexts = map[string]string{
	"ErrorSubscriptionNotFound":                   "The specified subscription was not found.",
	"ErrorSubscriptionAccessDenied":               "A subscription can only be used by the account that created it.",
	"ErrorExpiredSubscription":                    "The subscription has expired.",
	"ErrorInvalidWatermark":                       "The watermark is invalid (unknown, corrupt, or of another mailbox).",
	"ErrorMissedNotificationEvents":               "Events were lost from the mailbox journal since the watermark: resynchronize (SyncFolderItems) and subscribe again.",
	"ErrorSubscriptionDelegateAccessNotSupported": "Subscriptions are not supported for delegate user access.",
	"ErrorInvalidSubscriptionRequest":             "The subscription request is invalid.",
}

func notifyErr(code string, text ...string) *ewsErr {
	e := newErr(code, text...)
	if len(text) == 0 && notifyTexts[code] != "" {
		e.Text = notifyTexts[code]
	}
	return e
}

func (rc *reqCtx) mapNotifyErr(err error) *ewsErr {
	switch {
	case errors.Is(err, notify.ErrNotFound):
		return notifyErr("ErrorSubscriptionNotFound")
	case errors.Is(err, notify.ErrAccessDenied):
		return notifyErr("ErrorSubscriptionAccessDenied")
	case errors.Is(err, notify.ErrExpired):
		return notifyErr("ErrorExpiredSubscription")
	case errors.Is(err, notify.ErrWatermark):
		return notifyErr("ErrorInvalidWatermark")
	case errors.Is(err, notify.ErrGap):
		return notifyErr("ErrorMissedNotificationEvents")
	case errors.Is(err, errRevoked):
		return errWatchRevoked()
	case errors.Is(err, notify.ErrTooManySubscriptions):
		return notifyErr("ErrorExceededSubscriptionCount", "The mailbox has reached its subscription budget (EWSMaxSubscriptions); unsubscribe unused subscriptions or raise the policy.")
	case errors.Is(err, notify.ErrTooManyStreams):
		return notifyErr("ErrorExceededConnectionCount", "The account has reached its budget of open streaming connections (HangingConnectionLimit); put up to 200 subscription ids on one connection.")
	}
	return rc.mapErr(err, "ErrorSubscriptionNotFound")
}

// --- Subscribe ---

func opSubscribe(rc *reqCtx, op *node, w *xw) error {
	if f := checkDistinguished(op); f != nil {
		return f
	}
	beginResponse(w, "Subscribe")
	defer endResponse(w, "Subscribe")
	const name = "SubscribeResponseMessage"
	var req *node
	kind := ""
	for _, c := range op.Children {
		switch c.Local {
		case "PullSubscriptionRequest":
			req, kind = c, notify.Pull
		case "StreamingSubscriptionRequest":
			req, kind = c, notify.Streaming
		case "PushSubscriptionRequest":
			req, kind = c, notify.Push
		}
	}
	if req == nil {
		writeErrorMessage(w, name, notifyErr("ErrorInvalidSubscriptionRequest", "Subscribe needs a Pull, Push or StreamingSubscriptionRequest."))
		return nil
	}
	s := &notify.Subscription{Kind: kind, Owner: rc.caller.ID, Types: map[string]bool{}}
	for _, t := range req.child("EventTypes").all("EventType") {
		v := strings.TrimSpace(t.Text)
		ok := false
		for _, k := range notify.EventTypes {
			ok = ok || k == v
		}
		if !ok {
			return &fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: EventType '" + v + "' is invalid."}
		}
		s.Types[v] = true
	}
	if len(s.Types) == 0 {
		writeErrorMessage(w, name, notifyErr("ErrorInvalidSubscriptionRequest", "EventTypes must name at least one event type."))
		return nil
	}
	all := req.attr("SubscribeToAllFolders") == "true" || op.attr("SubscribeToAllFolders") == "true"
	mbx := ""
	if !all {
		s.Folders = map[int64]bool{}
	}
	for _, ref := range folderRefs(req.child("FolderIds")) {
		f, e := rc.folderRef(ref)
		if e != nil {
			writeErrorMessage(w, name, e)
			return nil
		}
		if f.Mailbox != rc.user.ID {
			writeErrorMessage(w, name, notifyErr("ErrorSubscriptionDelegateAccessNotSupported"))
			return nil
		}
		if mbx != "" && mbx != f.Mailbox {
			writeErrorMessage(w, name, notifyErr("ErrorInvalidSubscriptionRequest", "A subscription watches folders of one mailbox."))
			return nil
		}
		mbx = f.Mailbox
		if s.Folders != nil {
			s.Folders[f.Key] = true
		}
	}
	if mbx == "" {
		if !all {
			writeErrorMessage(w, name, notifyErr("ErrorInvalidSubscriptionRequest", "FolderIds is empty and SubscribeToAllFolders is not set."))
			return nil
		}
		if !rc.user.IsMailbox() {
			writeErrorMessage(w, name, newErr("ErrorMissingEmailAddress"))
			return nil
		}
		mbx = rc.user.ID
		if err := rc.ensure(mbx); err != nil {
			writeErrorMessage(w, name, rc.mapErr(err, "ErrorFolderNotFound"))
			return nil
		}
	}
	s.Mailbox = mbx
	watermark := ""
	if kind == notify.Pull {
		s.Timeout = 30 * time.Minute
		if v := req.childText("Timeout"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1440 {
				return &fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: Timeout must be from 1 to 1440 minutes."}
			}
			s.Timeout = time.Duration(n) * time.Minute
		}
		watermark = req.childText("Watermark")
	}
	if kind == notify.Push {
		s.StatusFrequency = 30 * time.Minute
		if v := req.childText("StatusFrequency"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1440 {
				return &fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: StatusFrequency must be from 1 to 1440 minutes."}
			}
			s.StatusFrequency = time.Duration(n) * time.Minute
		}
		u, err := url.Parse(req.childText("URL"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			writeErrorMessage(w, name, notifyErr("ErrorInvalidPushSubscriptionUrl", "The push subscription URL must be an absolute http or https URL."))
			return nil
		}
		s.URL = u.String()
		s.CallerData = req.childText("CallerData")
		watermark = req.childText("Watermark")
	}
	// EWSMaxSubscriptions is charged to the target mailbox.
	if _, err := rc.h.notifyHub().Add(rc.ctx, s, watermark, rc.h.budget(rc.caller.ID).Subscriptions); err != nil {
		writeErrorMessage(w, name, rc.mapNotifyErr(err))
		return nil
	}
	if kind == notify.Push {
		go rc.h.runPush(s)
	}
	// Affinity: the cookie Exchange sets when the client asks for it; any
	// later request works with or without it (one process holds every
	// subscription).
	if ex := rc.extras(); ex != nil && strings.EqualFold(ex.req.Get("X-PreferServerAffinity"), "true") {
		ex.resp.Add("Set-Cookie", "X-BackEndOverrideCookie="+rc.h.opts.ServerName+"~1; path=/; HttpOnly")
	}
	okStart(w, name)
	w.elem("m:SubscriptionId", s.ID)
	if kind != notify.Streaming {
		w.elem("m:Watermark", notify.Watermark(s.Mailbox, s.Cursor()))
	}
	w.end("m:" + name)
	return nil
}

// --- Unsubscribe ---

func opUnsubscribe(rc *reqCtx, op *node, w *xw) error {
	beginResponse(w, "Unsubscribe")
	defer endResponse(w, "Unsubscribe")
	id := op.childText("SubscriptionId")
	if _, err := rc.h.notifyHub().Get(id, rc.caller.ID); err != nil {
		writeErrorMessage(w, "UnsubscribeResponseMessage", rc.mapNotifyErr(err))
		return nil
	}
	rc.h.notifyHub().Remove(id)
	okEmpty(w, "UnsubscribeResponseMessage")
	return nil
}

// --- GetEvents ---

func opGetEvents(rc *reqCtx, op *node, w *xw) error {
	beginResponse(w, "GetEvents")
	defer endResponse(w, "GetEvents")
	const name = "GetEventsResponseMessage"
	s, err := rc.h.notifyHub().Get(op.childText("SubscriptionId"), rc.caller.ID)
	if err == nil && s.Kind != notify.Pull {
		err = notify.ErrNotFound
	}
	if err != nil {
		writeErrorMessage(w, name, rc.mapNotifyErr(err))
		return nil
	}
	if !rc.h.mayWatch(s) {
		rc.h.notifyHub().Remove(s.ID) // it would only hold a place in the budget
		writeErrorMessage(w, name, errWatchRevoked())
		return nil
	}
	prev := op.childText("Watermark")
	after, err := rc.h.notifyHub().CheckWatermark(rc.ctx, s.Mailbox, prev)
	if err != nil {
		writeErrorMessage(w, name, rc.mapNotifyErr(err))
		return nil
	}
	b, err := rc.h.notifyHub().Read(rc.ctx, s, after, pullEventsPerCall)
	if err != nil {
		writeErrorMessage(w, name, rc.mapNotifyErr(err))
		return nil
	}
	okStart(w, name)
	writeNotification(w, s, prev, b, true)
	w.end("m:" + name)
	return nil
}

// writeNotification writes one m:Notification. With status, a batch
// without events carries a StatusEvent holding the watermark to resume
// from; when events were filtered out after the last one, a StatusEvent
// carries the later watermark too, so the client never rereads rows.
func writeNotification(w *xw, s *notify.Subscription, prev string, b notify.Batch, status bool) {
	w.start("m:Notification")
	w.elem("t:SubscriptionId", s.ID)
	w.elem("t:PreviousWatermark", prev)
	w.elemBool("t:MoreEvents", b.More)
	last := int64(-1)
	for _, e := range b.Events {
		writeEvent(w, e)
		last = e.Seq
	}
	if status && last != b.Next {
		w.start("t:StatusEvent")
		w.elem("t:Watermark", notify.Watermark(s.Mailbox, b.Next))
		w.end("t:StatusEvent")
	}
	w.end("m:Notification")
}

func writeEvent(w *xw, e notify.Event) {
	tag := "t:" + e.Type
	w.start(tag)
	w.elem("t:Watermark", notify.Watermark(e.Mailbox, e.Seq))
	w.elem("t:TimeStamp", e.At.UTC().Format("2006-01-02T15:04:05Z"))
	kind, idTag, oldTag := mailbox.KindItem, "t:ItemId", "t:OldItemId"
	if e.Folder {
		kind, idTag, oldTag = mailbox.KindFolder, "t:FolderId", "t:OldFolderId"
	}
	id := encodeID(mailbox.ID{Kind: kind, Mailbox: e.Mailbox, Key: e.Key})
	w.open(idTag)
	w.attr("Id", id)
	w.emptyEnd()
	if e.Parent != 0 {
		w.open("t:ParentFolderId")
		w.attr("Id", encodeID(mailbox.ID{Kind: mailbox.KindFolder, Mailbox: e.Mailbox, Key: e.Parent}))
		w.emptyEnd()
	}
	if e.Type == "MovedEvent" || e.Type == "CopiedEvent" {
		// Ids never change on move: the old id is the id. A copy names
		// its source.
		old := id
		if e.OldKey != 0 {
			old = encodeID(mailbox.ID{Kind: kind, Mailbox: e.Mailbox, Key: e.OldKey})
		}
		w.open(oldTag)
		w.attr("Id", old)
		w.emptyEnd()
		if e.OldParent != 0 {
			w.open("t:OldParentFolderId")
			w.attr("Id", encodeID(mailbox.ID{Kind: mailbox.KindFolder, Mailbox: e.Mailbox, Key: e.OldParent}))
			w.emptyEnd()
		}
	}
	w.end(tag)
}

// --- GetStreamingEvents ---

func opGetStreamingEvents(rc *reqCtx, op *node, w *xw) error {
	const name = "GetStreamingEventsResponseMessage"
	timeout := 30 * time.Minute
	if v := op.childText("ConnectionTimeout"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 30 {
			return &fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: ConnectionTimeout must be from 1 to 30 minutes."}
		}
		timeout = time.Duration(n) * streamMinute
	}
	ids := op.child("SubscriptionIds").all("SubscriptionId")
	fail := func(e *ewsErr, bad []string) error {
		if ex := rc.extras(); ex != nil {
			// Over HTTP the error goes out as a one-envelope stream in the
			// streaming shape, which streaming clients parse (a plain
			// s:Envelope would leave ews-javascript-api waiting).
			ew := &xw{}
			ew.raw(streamEnvelopeStart)
			writeStreamError(ew, e, bad, "Closed")
			ew.raw(streamEnvelopeEnd)
			ex.stream = func(hw http.ResponseWriter, _ *http.Request) {
				hw.Write(ew.b.Bytes())
			}
		}
		beginResponse(w, "GetStreamingEvents")
		w.open("m:" + name)
		w.attr("ResponseClass", "Error")
		w.openEnd()
		writeErrorBody(w, e)
		if len(bad) > 0 {
			w.start("m:ErrorSubscriptionIds")
			for _, b := range bad {
				w.elem("m:SubscriptionId", b)
			}
			w.end("m:ErrorSubscriptionIds")
		}
		w.elem("m:ConnectionStatus", "Closed")
		w.end("m:" + name)
		endResponse(w, "GetStreamingEvents")
		return nil
	}
	if len(ids) == 0 || len(ids) > maxStreamingIDs {
		return fail(notifyErr("ErrorInvalidSubscriptionRequest", "GetStreamingEvents takes 1 to 200 subscription ids."), nil)
	}
	var subs []*notify.Subscription
	var bad []string
	var firstErr error
	for _, n := range ids {
		id := strings.TrimSpace(n.Text)
		s, err := rc.h.notifyHub().Get(id, rc.caller.ID)
		if err == nil && s.Kind != notify.Streaming {
			err = notify.ErrNotFound
		}
		if err == nil && !rc.h.mayWatch(s) {
			err = errRevoked
		}
		if err != nil {
			bad = append(bad, id)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		subs = append(subs, s)
	}
	if len(bad) > 0 {
		return fail(rc.mapNotifyErr(firstErr), bad)
	}
	ex := rc.extras()
	if ex == nil {
		return fail(newErr("ErrorInvalidOperation", "Streaming needs an HTTP connection."), nil)
	}
	hub, log, reqID, owner, may := rc.h.notifyHub(), rc.h.log, rc.id, rc.caller.ID, rc.h.mayWatch
	if err := hub.OpenStream(owner, rc.h.budget(owner).Streaming); err != nil {
		return fail(rc.mapNotifyErr(err), nil)
	}
	ex.stream = func(hw http.ResponseWriter, r *http.Request) {
		defer hub.CloseStream(owner)
		streamEvents(r.Context(), hw, hub, subs, timeout, log, reqID, may)
	}
	return nil
}

type streamLogger interface {
	Debug(msg string, args ...any)
}

// streamEvents serves one GetStreamingEvents connection: an envelope per
// batch of events, a heartbeat every 30 s, a final Closed envelope at
// the ConnectionTimeout or when no subscription is left to serve. Cursors
// advance only after an envelope was flushed, so a broken connection
// resumes (with the same subscription ids) from the last envelope sent.
func streamEvents(ctx context.Context, hw http.ResponseWriter, hub *notify.Hub, subs []*notify.Subscription, timeout time.Duration, log streamLogger, reqID uint64, may func(*notify.Subscription) bool) {
	rcw := http.NewResponseController(hw)
	// The server's WriteTimeout would cut the stream: extend it for this
	// response (ignored by writers that cannot).
	_ = rcw.SetWriteDeadline(time.Now().Add(timeout + time.Minute))
	hw.Header().Del("Content-Length")
	hw.WriteHeader(http.StatusOK)
	conn := hub.Attach(subs)
	// Clients wait for the response headers before reading the stream.
	if err := rcw.Flush(); err != nil {
		conn.Detach()
		return
	}
	defer conn.Detach()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	beat := time.NewTicker(heartbeatEvery)
	defer beat.Stop()
	w := &xw{}
	send := func() bool {
		_, err := hw.Write(w.b.Bytes())
		if err == nil {
			err = rcw.Flush()
		}
		w.b.Reset()
		return err == nil
	}
	envelope := func(body func()) {
		w.raw(streamEnvelopeStart)
		w.raw("<m:GetStreamingEventsResponse><m:ResponseMessages>")
		w.raw(`<m:GetStreamingEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`)
		body()
		w.raw("</m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse>")
		w.raw(streamEnvelopeEnd)
	}
	for {
		if len(conn.Serving()) == 0 {
			break
		}
		serving := conn.Dirty()
		// Pending events of every subscription, one envelope.
		type pending struct {
			s    *notify.Subscription
			prev int64
			b    notify.Batch
		}
		var ps []pending
		more := false
		for _, s := range serving {
			if !may(s) { // access revoked while the connection is open
				hub.Remove(s.ID)
				w.raw(streamEnvelopeStart)
				writeStreamError(w, errWatchRevoked(), []string{s.ID}, "OK")
				w.raw(streamEnvelopeEnd)
				if !send() {
					return
				}
				continue
			}
			cur := s.Cursor()
			b, err := hub.Read(ctx, s, cur, streamRowsPerRead)
			if err != nil {
				// Never silent: the client is told which subscription
				// failed and why, and the subscription ends (it must
				// resynchronize and subscribe again).
				log.Debug("ews streaming read failed", "request", reqID, "subscription", s.ID, "error", err)
				code := "ErrorReadEventsFailed"
				if errors.Is(err, notify.ErrGap) {
					code = "ErrorMissedNotificationEvents"
				}
				e := notifyErr(code)
				if code == "ErrorReadEventsFailed" {
					e.Text = "The events of the subscription could not be read; subscribe again."
				}
				hub.Remove(s.ID)
				w.raw(streamEnvelopeStart)
				writeStreamError(w, e, []string{s.ID}, "OK")
				w.raw(streamEnvelopeEnd)
				if !send() {
					return
				}
				continue
			}
			if b.Next == cur {
				continue
			}
			if b.More {
				more = true
				conn.Mark(s.Mailbox)
			}
			ps = append(ps, pending{s, cur, b})
		}
		withEvents := ps[:0:0]
		for _, p := range ps {
			if len(p.b.Events) > 0 {
				withEvents = append(withEvents, p)
			} else {
				p.s.Advance(p.b.Next) // rows, but none this subscription wants
			}
		}
		if len(withEvents) > 0 {
			envelope(func() {
				w.start("m:Notifications")
				for _, p := range withEvents {
					writeNotification(w, p.s, notify.Watermark(p.s.Mailbox, p.prev), p.b, false)
				}
				w.end("m:Notifications")
				w.elem("m:ConnectionStatus", "OK")
			})
			if !send() {
				return
			}
			for _, p := range withEvents {
				p.s.Advance(p.b.Next)
			}
		}
		if more {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			goto closed
		case <-beat.C:
			envelope(func() { w.elem("m:ConnectionStatus", "OK") })
			if !send() {
				return
			}
		case <-conn.Wake():
		}
	}
closed:
	envelope(func() { w.elem("m:ConnectionStatus", "Closed") })
	send()
}

// notifyHub returns the handler's subscriptions, made on first use so
// handlers that never see a Subscribe start no goroutines.
func (h *Handler) notifyHub() *notify.Hub {
	h.hubOnce.Do(func() { h.hub = notify.NewHub(h.mbx, h.opts.Now) })
	return h.hub
}

// ResumeSubscriptions makes subscriptions survive restarts: they are kept
// in p from now on, and those p holds (from the previous run) are served
// again with their ids and cursors; push subscriptions post again. Call it
// once, before serving. It returns how many were resumed.
func (h *Handler) ResumeSubscriptions(ctx context.Context, p notify.Persister) (int, error) {
	subs, err := h.notifyHub().Restore(ctx, p, h.log)
	if err != nil {
		return 0, err
	}
	for _, s := range subs {
		if s.Kind == notify.Push {
			go h.runPush(s)
		}
	}
	return len(subs), nil
}

// Close stops the subscriptions' background work and writes their
// cursors (ResumeSubscriptions). Call it after the HTTP server stopped.
func (h *Handler) Close() {
	h.hubOnce.Do(func() {}) // no hub is made after Close
	if h.hub != nil {
		h.hub.Close()
	}
}

// --- push ---

// Push delivery: a goroutine per push subscription POSTs
// m:SendNotification to the subscription's URL when its mailbox commits
// matching events, and a StatusEvent when StatusFrequency passes without
// any. A reply of SubscriptionStatus Unsubscribe ends the subscription.
// Failures (network, non-2xx, unreadable reply) are retried with
// exponential back-off from 1 s up to min(StatusFrequency, 1 min) and the
// same events (the cursor only advances on OK); a callback unreachable
// for pushGiveUp is dropped, with the subscription, and logged.
var (
	pushGiveUp      = 10 * time.Minute
	pushFirstRetry  = time.Second
	pushPostTimeout = 30 * time.Second
)

// mayWatch reports whether a subscription's account may still see its
// mailbox's events: its own mailbox, or one it may impersonate now.
// Subscriptions outlive the request that made them (and restarts), so access
// is asked again whenever events are read, streamed or pushed: a revoked
// right or a removed account stops them at once.
func (h *Handler) mayWatch(s *notify.Subscription) bool {
	ok := false
	_ = h.dir.Read(func(st *directory.State) error {
		c, t := st.Recipient(s.Owner), st.Recipient(s.Mailbox)
		ok = c != nil && t != nil && (c.ID == t.ID || rbac.Decide(st, c, t).Allowed)
		return nil
	})
	return ok
}

// errRevoked is mayWatch's refusal for GetStreamingEvents ids.
var errRevoked = errors.New("ews: the account may no longer act as the subscription's mailbox")

func errWatchRevoked() *ewsErr {
	return notifyErr("ErrorAccessDenied", "The account may no longer act as the subscription's mailbox (its right was removed); subscribe again once it is restored.")
}

func (h *Handler) runPush(s *notify.Subscription) {
	hub := h.notifyHub()
	conn := hub.Attach([]*notify.Subscription{s})
	defer conn.Detach()
	ctx := context.Background()
	client := &http.Client{Timeout: pushPostTimeout}
	status := time.NewTimer(s.StatusFrequency)
	defer status.Stop()
	statusDue := false
	var failingSince time.Time
	backoff := time.Duration(0)
	maxBackoff := min(s.StatusFrequency, time.Minute)
	for {
		if len(conn.Serving()) == 0 {
			return
		}
		if !h.mayWatch(s) {
			h.log.Warn("ews push: the account may no longer act as the mailbox; subscription dropped", "subscription", s.ID, "owner", s.Owner)
			hub.Remove(s.ID)
			return
		}
		cur := s.Cursor()
		b, err := hub.Read(ctx, s, cur, pullEventsPerCall)
		if err != nil {
			h.log.Warn("ews push: cannot read the mailbox journal; subscription dropped", "subscription", s.ID, "error", err)
			hub.Remove(s.ID)
			return
		}
		if len(b.Events) == 0 && b.Next != cur {
			s.Advance(b.Next) // rows the subscription does not want
		}
		if len(b.Events) > 0 || statusDue {
			w := &xw{}
			w.raw(envelopeStart)
			w.raw(`<m:SendNotification><m:ResponseMessages><m:SendNotificationResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`)
			writeNotification(w, s, notify.Watermark(s.Mailbox, cur), b, true)
			w.raw(`</m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification>`)
			w.raw(envelopeEnd)
			unsub, err := postNotification(ctx, client, s.URL, w.b.Bytes())
			if err != nil {
				now := time.Now()
				if failingSince.IsZero() {
					failingSince = now
				}
				if now.Sub(failingSince) >= pushGiveUp {
					h.log.Warn("ews push: callback unreachable; subscription dropped", "subscription", s.ID, "url", s.URL, "since", failingSince, "error", err)
					hub.Remove(s.ID)
					return
				}
				backoff = min(max(2*backoff, pushFirstRetry), maxBackoff)
				h.log.Debug("ews push: delivery failed, retrying", "subscription", s.ID, "in", backoff, "error", err)
				select {
				case <-hub.Done():
					return
				case <-time.After(backoff):
				}
				continue
			}
			failingSince, backoff = time.Time{}, 0
			if unsub {
				hub.Remove(s.ID)
				return
			}
			s.Advance(b.Next)
			statusDue = false
			if !status.Stop() {
				select {
				case <-status.C:
				default:
				}
			}
			status.Reset(s.StatusFrequency)
			if b.More {
				continue
			}
		}
		select {
		case <-hub.Done():
			return // the handler closed; a restart resumes it (ResumeSubscriptions)
		case <-conn.Wake():
		case <-status.C:
			statusDue = true
		}
	}
}

// postNotification POSTs one SendNotification and reads the client's
// SendNotificationResult: unsubscribe is true for "Unsubscribe".
func postNotification(ctx context.Context, client *http.Client, u string, body []byte) (unsubscribe bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	res, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return false, err
	}
	if res.StatusCode/100 != 2 {
		return false, errors.New("callback answered " + res.Status)
	}
	root, err := parseXML(reply, limits{maxDepth: 20, maxElements: 1000})
	if err != nil {
		return false, errors.New("callback reply is not XML: " + err.Error())
	}
	var find func(n *node) string
	find = func(n *node) string {
		if n.Local == "SubscriptionStatus" {
			return strings.TrimSpace(n.Text)
		}
		for _, c := range n.Children {
			if v := find(c); v != "" {
				return v
			}
		}
		return ""
	}
	switch find(root) {
	case "OK":
		return false, nil
	case "Unsubscribe":
		return true, nil
	}
	return false, errors.New("callback reply has no SubscriptionStatus OK or Unsubscribe")
}

// --- throttling budgets ---

// SetBudgets sets the per-account budget lookup (organization and
// service-account policies); nil restores notify.DefaultBudget for all.
// It may be called at any time: the next request uses it.
func (h *Handler) SetBudgets(fn func(callerID string) notify.Budget) {
	if fn == nil {
		h.budgets.Store(nil)
		return
	}
	h.budgets.Store(&fn)
}

func (h *Handler) budget(callerID string) notify.Budget {
	if fn := h.budgets.Load(); fn != nil {
		return (*fn)(callerID).Fill()
	}
	return notify.DefaultBudget
}

// concurrencyBackOff is the BackOffMilliseconds hint when an account has
// EWSMaxConcurrency requests in flight: long enough for a request to end.
const concurrencyBackOff = 500 * time.Millisecond

// admit charges one request to the caller's concurrency budget. Over
// budget it returns the fault Exchange clients back off on: ErrorServerBusy
// with BackOffMilliseconds (exchangelib's FaultTolerance and the Managed
// API's ServerBusyException both read it).
func (h *Handler) admit(callerID string) (release func(), busy *fault) {
	v, _ := h.inflight.LoadOrStore(callerID, new(atomic.Int32))
	n := v.(*atomic.Int32)
	limit := h.budget(callerID).Concurrency
	if int(n.Add(1)) > limit {
		n.Add(-1)
		return nil, &fault{Code: "ErrorServerBusy",
			Msg: "The server cannot service this request right now: the account has " + strconv.Itoa(limit) +
				" concurrent requests (EWSMaxConcurrency). Try again after BackOffMilliseconds.",
			Values: [][2]string{{"BackOffMilliseconds", strconv.FormatInt(concurrencyBackOff.Milliseconds(), 10)}}}
	}
	var once sync.Once
	return func() { once.Do(func() { n.Add(-1) }) }, nil
}

// writeStreamError writes a GetStreamingEventsResponse with one Error
// message naming the failed subscription ids.
func writeStreamError(w *xw, e *ewsErr, bad []string, status string) {
	w.raw(`<m:GetStreamingEventsResponse><m:ResponseMessages><m:GetStreamingEventsResponseMessage ResponseClass="Error">`)
	writeErrorBody(w, e)
	if len(bad) > 0 {
		w.start("m:ErrorSubscriptionIds")
		for _, b := range bad {
			w.elem("m:SubscriptionId", b)
		}
		w.end("m:ErrorSubscriptionIds")
	}
	w.elem("m:ConnectionStatus", status)
	w.raw(`</m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse>`)
}
