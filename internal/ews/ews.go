// Package ews serves Exchange Web Services (SOAP 1.1 at /EWS/Exchange.asmx)
// over the directory, RBAC and mailbox packages, so that unmodified EWS
// clients (exchangelib, the EWS Managed API family) work against Actas.
//
// A request flows: limits → authenticate → parse (namespace-aware, no DTDs)
// → SOAP header (version, impersonation) → rbac.Decide → operation → one
// buffered response, written only when complete. Header-level errors are
// SOAP faults with HTTP 500 in Exchange's exact shape; per-item errors are
// response messages with HTTP 200. Every response, faults included, carries
// t:ServerVersionInfo in the SOAP header.
package ews

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/notify"
)

// Options tune the handler. Zero values take the defaults.
type Options struct {
	MaxRequestBytes int64 // default 32 MiB
	MaxDepth        int   // default 200
	MaxElements     int   // default 1,000,000
	ServerName      string
	// AuthError answers a failed authentication. The default writes 401
	// with WWW-Authenticate: Basic realm="Actas"; the server passes its
	// WriteAuthError (which also answers rate limiting).
	AuthError func(http.ResponseWriter, error)
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Handler serves EWS.
type Handler struct {
	dir   *directory.Directory
	mbx   mailbox.Mailboxes
	authn func(*http.Request) (string, error)
	log   *slog.Logger
	opts  Options

	reqID   atomic.Uint64
	ensured sync.Map // mailbox id -> struct{}: Ensure already ran
	hubOnce sync.Once
	hub     *notify.Hub // subscriptions; made on first use (notify.go)
	// Throttling budgets (notify.go): per-account lookup and in-flight
	// request counts.
	budgets  atomic.Pointer[func(callerID string) notify.Budget]
	inflight sync.Map // caller id -> *atomic.Int32
}

// New returns an EWS handler.
func New(dir *directory.Directory, mbx mailbox.Mailboxes, authn func(*http.Request) (string, error), log *slog.Logger, opts Options) *Handler {
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = 32 << 20
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = 200
	}
	if opts.MaxElements <= 0 {
		opts.MaxElements = 1_000_000
	}
	if opts.ServerName == "" {
		opts.ServerName = "actas.local"
	}
	if opts.AuthError == nil {
		opts.AuthError = func(w http.ResponseWriter, _ error) {
			w.Header().Set("WWW-Authenticate", `Basic realm="Actas"`)
			http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Handler{dir: dir, mbx: mbx, authn: authn, log: log, opts: opts}
}

const infoPage = `<!DOCTYPE html>
<html><head><title>Actas Exchange Web Services</title></head>
<body><h1>Actas Exchange Web Services</h1>
<p>This is an EWS endpoint. Send SOAP 1.1 requests with HTTP POST (Content-Type: text/xml; charset=utf-8),
authenticated with HTTP Basic.</p></body></html>
`

// ServeHTTP answers GET with a short page and POST with EWS.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.Method == http.MethodGet {
			io.WriteString(w, infoPage)
		}
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "405 Method Not Allowed: EWS requests use POST.", http.StatusMethodNotAllowed)
		return
	}
	callerID, err := h.authn(r)
	if err != nil {
		h.opts.AuthError(w, err)
		return
	}
	release, busy := h.admit(callerID)
	if busy != nil {
		status, resp := faultResponse(busy)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
		w.WriteHeader(status)
		w.Write(resp)
		return
	}
	defer release()
	id := h.reqID.Add(1)
	start := h.opts.Now()
	ex := &httpExtras{req: r.Header, resp: http.Header{}}
	r = r.WithContext(context.WithValue(r.Context(), httpExtrasKey{}, ex))
	status, resp, op, pooled := h.handle(r, callerID, id)
	if pooled != nil {
		defer putWriter(pooled)
	}
	for k, v := range ex.resp {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("request-id", strconv.FormatUint(id, 10))
	if v := r.Header.Get("client-request-id"); v != "" && strings.EqualFold(r.Header.Get("return-client-request-id"), "true") {
		w.Header().Set("client-request-id", v)
	}
	w.Header().Set("X-FEServer", h.opts.ServerName)
	if ex.stream != nil && status == http.StatusOK {
		// GetStreamingEvents: several envelopes over one chunked response,
		// charged to the streaming budget instead of the concurrency one.
		release()
		ex.stream(w, r)
		h.log.Debug("ews", "request", id, "op", op, "caller", callerID, "status", status, "streamed", true, "elapsed", time.Since(start))
		return
	}
	if len(resp) > 1024 && acceptsGzip(r) {
		var zb bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
		zw.Write(resp)
		zw.Close()
		resp = zb.Bytes()
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
	w.WriteHeader(status)
	w.Write(resp)
	h.log.Debug("ews", "request", id, "op", op, "caller", callerID, "status", status, "bytes", len(resp), "elapsed", time.Since(start))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		p := strings.TrimSpace(part)
		if i := strings.IndexByte(p, ';'); i >= 0 {
			if strings.Contains(strings.ReplaceAll(p[i:], " ", ""), "q=0") && !strings.Contains(p[i:], "q=0.") {
				continue
			}
			p = strings.TrimSpace(p[:i])
		}
		if strings.EqualFold(p, "gzip") {
			return true
		}
	}
	return false
}

// handle reads, runs and encodes one request. It never panics: a panic
// anywhere below becomes an ErrorInternalServerError fault, and because the
// response is built in a buffer nothing half-written ever reaches the client.
func (h *Handler) handle(r *http.Request, callerID string, id uint64) (status int, resp []byte, op string, pooled *xw) {
	defer func() {
		if p := recover(); p != nil {
			pooled = nil // may be half-written: dropped, never reused
			h.log.Error("ews panic", "request", id, "caller", callerID, "panic", p, "stack", string(debug.Stack()))
			status, resp = faultResponse(&fault{Code: "ErrorInternalServerError",
				Msg: fmt.Sprintf("An internal server error occurred. The operation failed. (request %d)", id)})
		}
	}()
	body, f := h.readBody(r)
	if f != nil {
		s, b := faultResponse(f)
		return s, b, "", nil
	}
	var rc *reqCtx
	status, resp, op, rc = h.serveSOAPCtx(r.Context(), callerID, id, body)
	if rc != nil {
		pooled = rc.out
	}
	return status, resp, op, pooled
}

// serveSOAP runs one request and returns the response bytes (tests, fuzzing).
func (h *Handler) serveSOAP(ctx context.Context, callerID string, id uint64, body []byte) (int, []byte, string) {
	s, b, op, _ := h.serveSOAPCtx(ctx, callerID, id, body)
	return s, b, op
}

func (h *Handler) readBody(r *http.Request) ([]byte, *fault) {
	max := h.opts.MaxRequestBytes
	tooBig := &fault{Code: "ErrorInvalidRequest", Msg: fmt.Sprintf("The request is larger than the maximum of %d bytes.", max)}
	if r.ContentLength > max {
		return nil, tooBig
	}
	var src io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, &fault{Code: "ErrorInvalidRequest", Msg: "The request body is not valid gzip."}
		}
		defer zr.Close()
		src = zr
	}
	body, err := io.ReadAll(io.LimitReader(src, max+1))
	if err != nil {
		return nil, &fault{Code: "ErrorInvalidRequest", Msg: "The request body could not be read."}
	}
	if int64(len(body)) > max {
		return nil, tooBig
	}
	return body, nil
}

// reqCtx is one request being served.
type reqCtx struct {
	ctx     context.Context
	h       *Handler
	id      uint64
	version string
	// caller is the authenticated account; user is the effective user: the
	// impersonated mailbox under ExchangeImpersonation, else the caller.
	caller, user  *directory.Recipient
	impersonating bool
	now           time.Time
	// per-request caches
	owners map[string]*directory.Recipient
	grants map[string]grant
	// private caches canViewPrivate per mailbox (privacy.go).
	private map[string]bool
	out     *xw // the pooled response buffer
	// tz is the TimeZoneContext header's zone (nil: none); timezones.go.
	tz *time.Location
}

// opFunc runs one operation and writes its response element. A returned
// *fault replaces the whole response; any other error becomes an
// ErrorInternalServerError fault.
type opFunc func(rc *reqCtx, op *node, w *xw) error

var ops map[string]opFunc

func init() {
	ops = map[string]opFunc{
		"GetFolder":                 opGetFolder,
		"FindFolder":                opFindFolder,
		"CreateFolder":              opCreateFolder,
		"UpdateFolder":              opUpdateFolder,
		"DeleteFolder":              opDeleteFolder,
		"EmptyFolder":               opEmptyFolder,
		"MoveFolder":                opMoveFolder,
		"FindItem":                  opFindItem,
		"GetItem":                   opGetItem,
		"CreateItem":                opCreateItem,
		"UpdateItem":                opUpdateItem,
		"DeleteItem":                opDeleteItem,
		"MoveItem":                  opMoveItem,
		"CopyItem":                  opCopyItem,
		"SendItem":                  opSendItem,
		"MarkAsJunk":                opMarkAsJunk,
		"CreateAttachment":          opCreateAttachment,
		"GetAttachment":             opGetAttachment,
		"DeleteAttachment":          opDeleteAttachment,
		"ConvertId":                 opConvertId,
		"ResolveNames":              opResolveNames,
		"ExpandDL":                  opExpandDL,
		"GetUserOofSettingsRequest": opGetUserOofSettings,
		"SetUserOofSettingsRequest": opSetUserOofSettings,
		"SyncFolderItems":           opSyncFolderItems,
		"SyncFolderHierarchy":       opSyncFolderHierarchy,
		"Subscribe":                 opSubscribe,
		"Unsubscribe":               opUnsubscribe,
		"GetEvents":                 opGetEvents,
		"GetStreamingEvents":        opGetStreamingEvents,
		// Calendars and rooms (issue 4): rooms.go, calendar*.go.
		"GetRoomLists": opGetRoomLists,
		"GetRooms":     opGetRooms,
		// timezones.go, availability.go (issue 4).
		"GetServerTimeZones":         opGetServerTimeZones,
		"GetUserAvailabilityRequest": opGetUserAvailability,
		// delegates.go (issue 4).
		"GetDelegate":    opGetDelegate,
		"AddDelegate":    opAddDelegate,
		"UpdateDelegate": opUpdateDelegate,
		"RemoveDelegate": opRemoveDelegate,
	}
}

// flatOps are operations whose response is itself a ResponseMessageType
// (no ResponseMessages wrapper); an unsupported one is answered that way.
var flatOps = map[string]bool{"GetRoomLists": true, "GetRooms": true, "FindPeople": true, "GetPersona": true,
	"GetDelegate": true, "AddDelegate": true, "UpdateDelegate": true, "RemoveDelegate": true,
	"GetUserPhoto": true, "GetServerTimeZones": false}

func (h *Handler) serveSOAPCtx(ctx context.Context, callerID string, id uint64, body []byte) (int, []byte, string, *reqCtx) {
	root, err := parseXML(body, limits{maxDepth: h.opts.MaxDepth, maxElements: h.opts.MaxElements})
	if err != nil {
		var pe *parseError
		if errors.As(err, &pe) {
			f := &fault{Code: pe.Code, Msg: pe.Msg}
			if pe.Code == "ErrorSchemaValidation" {
				f.Schema = &schemaInfo{Line: pe.Line, Col: pe.Col, Violation: pe.Violation}
			}
			s, b := faultResponse(f)
			return s, b, "", nil
		}
		s, b := faultResponse(&fault{Code: "ErrorInvalidRequest", Msg: err.Error()})
		return s, b, "", nil
	}
	if root.Local != "Envelope" || (root.Space != nsSOAP && root.Space != nsSOAP12) {
		s, b := faultResponse(&fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: the root element is not a SOAP envelope.",
			Schema: &schemaInfo{Line: root.Line, Violation: "The root element must be {" + nsSOAP + "}Envelope."}})
		return s, b, "", nil
	}
	var header, bodyEl *node
	for _, c := range root.Children {
		if c.Space != root.Space {
			continue
		}
		switch c.Local {
		case "Header":
			header = c
		case "Body":
			bodyEl = c
		}
	}
	if bodyEl == nil {
		s, b := faultResponse(&fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: the envelope has no Body.",
			Schema: &schemaInfo{Line: root.Line, Violation: "The SOAP Body element is missing."}})
		return s, b, "", nil
	}
	if len(bodyEl.Children) == 0 {
		s, b := faultResponse(&fault{Code: "ErrorInvalidRequest", Msg: "The request is invalid: the SOAP Body is empty."})
		return s, b, "", nil
	}
	opEl := bodyEl.Children[0]
	opName := opEl.Local
	hdr, f := parseHeader(header)
	if f != nil {
		s, b := faultResponse(f)
		return s, b, opName, nil
	}
	if opEl.Space != nsMsgs {
		s, b := faultResponse(&fault{Code: "ErrorInvalidRequest", Msg: fmt.Sprintf("The request is invalid: %s is not an Exchange Web Services operation.", opName)})
		return s, b, opName, nil
	}
	fn := ops[opName]
	if fn == nil {
		// A well-formed answer in the operation's own response shape, which
		// both exchangelib (raises ErrorInvalidOperation, no version
		// fallback loop) and the Managed API (ServiceResponseException)
		// handle cleanly. A fault with ErrorInvalidRequest would make
		// exchangelib retry every older server version first.
		return http.StatusOK, unsupportedOpResponse(opName), opName, nil
	}
	rc := &reqCtx{ctx: ctx, h: h, id: id, version: hdr.version, now: h.opts.Now().UTC(), tz: timeZoneContext(header)}
	if f := h.establishUser(rc, callerID, hdr); f != nil {
		s, b := faultResponse(f)
		return s, b, opName, nil
	}
	w := getWriter()
	rc.out = w
	w.raw(envelopeStart)
	if err := fn(rc, opEl, w); err != nil {
		putWriter(w)
		rc.out = nil
		var ff *fault
		if !errors.As(err, &ff) {
			h.log.Error("ews operation failed", "request", id, "op", opName, "error", err)
			ff = &fault{Code: "ErrorInternalServerError", Msg: fmt.Sprintf("An internal server error occurred. The operation failed. (request %d)", id)}
		}
		s, b := faultResponse(ff)
		return s, b, opName, nil
	}
	w.raw(envelopeEnd)
	return http.StatusOK, w.b.Bytes(), opName, rc
}

// Response buffers are pooled: a FindItem page is tens of KiB, and growing
// a fresh buffer for every request is most of the handler's allocation.
var writerPool = sync.Pool{New: func() any { w := &xw{}; w.b.Grow(8 << 10); return w }}

func getWriter() *xw { return writerPool.Get().(*xw) }

func putWriter(w *xw) {
	if w.b.Cap() > 4<<20 {
		return // let unusually large buffers go
	}
	w.b.Reset()
	writerPool.Put(w)
}

// ServerVersionInfo values: Exchange 2016 CU23.
const serverVersionInfo = `<t:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11"/>`

const envelopeStart = `<?xml version="1.0" encoding="utf-8"?>` +
	`<s:Envelope xmlns:s="` + nsSOAP + `" xmlns:m="` + nsMsgs + `" xmlns:t="` + nsTypes + `" xmlns:xsi="` + nsXSI + `">` +
	`<s:Header>` + serverVersionInfo + `</s:Header><s:Body>`

const envelopeEnd = `</s:Body></s:Envelope>`

func unsupportedOpResponse(op string) []byte {
	w := &xw{}
	w.raw(envelopeStart)
	text := fmt.Sprintf("The operation %s is not supported by this server.", op)
	e := &ewsErr{Code: "ErrorInvalidOperation", Text: text}
	if flatOps[op] {
		w.open("m:" + op + "Response")
		w.attr("ResponseClass", "Error")
		w.openEnd()
		writeErrorBody(w, e)
		w.end("m:" + op + "Response")
	} else {
		w.start("m:" + op + "Response")
		w.start("m:ResponseMessages")
		writeErrorMessage(w, op+"ResponseMessage", e)
		w.end("m:ResponseMessages")
		w.end("m:" + op + "Response")
	}
	w.raw(envelopeEnd)
	return w.b.Bytes()
}

// --- faults ---

type schemaInfo struct {
	Line, Col int
	Violation string
}

// fault is a SOAP fault: a header-level error, sent with HTTP 500.
type fault struct {
	Code   string
	Msg    string
	Values [][2]string // t:MessageXml/t:Value Name=...
	Schema *schemaInfo
}

func (f *fault) Error() string { return f.Code + ": " + f.Msg }

// faultResponse renders a fault exactly as Exchange 2010+ does, plus the
// ServerVersionInfo header that exchangelib's version probe needs.
func faultResponse(f *fault) (int, []byte) {
	w := &xw{}
	w.raw(`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="` + nsSOAP + `">`)
	w.raw(`<s:Header><t:ServerVersionInfo xmlns:t="` + nsTypes + `" MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11"/></s:Header>`)
	w.raw(`<s:Body><s:Fault><faultcode xmlns:a="` + nsTypes + `">a:`)
	w.text(f.Code)
	w.raw(`</faultcode><faultstring xml:lang="en-US">`)
	w.text(f.Msg)
	w.raw(`</faultstring><detail><e:ResponseCode xmlns:e="` + nsErrors + `">`)
	w.text(f.Code)
	w.raw(`</e:ResponseCode><e:Message xmlns:e="` + nsErrors + `">`)
	w.text(f.Msg)
	w.raw(`</e:Message>`)
	if len(f.Values) > 0 || f.Schema != nil {
		w.raw(`<t:MessageXml xmlns:t="` + nsTypes + `">`)
		if s := f.Schema; s != nil {
			w.elemInt("t:LineNumber", int64(s.Line))
			w.elemInt("t:LinePosition", int64(s.Col))
			w.elem("t:Violation", s.Violation)
		}
		for _, v := range f.Values {
			w.open("t:Value")
			w.attr("Name", v[0])
			w.openEnd()
			w.text(v[1])
			w.end("t:Value")
		}
		w.raw(`</t:MessageXml>`)
	}
	w.raw(`</detail></s:Fault></s:Body></s:Envelope>`)
	return http.StatusInternalServerError, w.b.Bytes()
}

// --- per-item errors ---

// ewsErr is a per-item error: a response message with ResponseClass Error
// (or Warning), HTTP 200.
type ewsErr struct {
	Code    string
	Text    string
	Values  [][2]string
	Warning bool
}

func (e *ewsErr) Error() string { return e.Code + ": " + e.Text }

var defaultTexts = map[string]string{
	"ErrorItemNotFound":                  "The specified object was not found in the store., The process failed to get the correct properties.",
	"ErrorFolderNotFound":                "The specified folder could not be found in the store.",
	"ErrorAccessDenied":                  "Access is denied. Check credentials and try again.",
	"ErrorNonExistentMailbox":            "The SMTP address has no mailbox associated with it.",
	"ErrorInvalidIdMalformed":            "Id is malformed.",
	"ErrorInvalidIdEmpty":                "Id is empty.",
	"ErrorIrresolvableConflict":          "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
	"ErrorFolderExists":                  "A folder with the specified name already exists.",
	"ErrorDeleteDistinguishedFolder":     "Distinguished folders cannot be deleted.",
	"ErrorInvalidChangeKey":              "The change key is invalid.",
	"ErrorSendAsDenied":                  "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account.",
	"ErrorNameResolutionNoResults":       "No results were found.",
	"ErrorNameResolutionMultipleResults": "Multiple results were found.",
	"ErrorInvalidAttachmentId":           "The attachment id is invalid.",
	"ErrorAttachmentNotFound":            "The attachment could not be found.",
	"ErrorCannotUseFolderIdForItemId":    "The folder id cannot be used as an item id.",
	"ErrorCannotUseItemIdForFolderId":    "The item id cannot be used as a folder id.",
	"ErrorInternalServerError":           "An internal server error occurred. The operation failed.",
	"ErrorInvalidOperation":              "The operation is not valid.",
	"ErrorMissingEmailAddress":           "When making a request as an account that does not have a mailbox, you must specify the mailbox primary SMTP address for any distinguished folder Ids.",
}

func newErr(code string, text ...string) *ewsErr {
	e := &ewsErr{Code: code, Text: defaultTexts[code]}
	if len(text) > 0 && text[0] != "" {
		e.Text = text[0]
	}
	if e.Text == "" {
		e.Text = code
	}
	return e
}

// mapErr turns a mailbox error into a per-item error. notFound is the code
// for mailbox.ErrNotFound (items and folders differ).
func (rc *reqCtx) mapErr(err error, notFound string) *ewsErr {
	var e *ewsErr
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, mailbox.ErrNotFound):
		return newErr(notFound)
	case errors.Is(err, mailbox.ErrStale):
		return newErr("ErrorIrresolvableConflict")
	case errors.Is(err, mailbox.ErrFolderExists):
		return newErr("ErrorFolderExists")
	case errors.Is(err, mailbox.ErrInvalidID):
		return newErr("ErrorInvalidIdMalformed")
	case errors.Is(err, mailbox.ErrNoMailbox):
		return newErr("ErrorNonExistentMailbox")
	case errors.Is(err, mailbox.ErrDeleteDistinguished):
		return newErr("ErrorDeleteDistinguishedFolder")
	case errors.Is(err, mailbox.ErrInvalidChangeKey):
		return newErr("ErrorInvalidChangeKey")
	case errors.Is(err, mailbox.ErrMoveDistinguished):
		return newErr("ErrorMoveDistinguishedFolder", "Distinguished folders cannot be moved.")
	case errors.Is(err, mailbox.ErrMoveIntoSelf):
		return newErr("ErrorMoveCopyFailed", "A folder cannot be moved into itself or one of its subfolders.")
	case errors.Is(err, mailbox.ErrDuplicateUser):
		return newErr("ErrorDuplicateUserIdsSpecified", "A user appears more than once in the permission set.")
	case errors.Is(err, mailbox.ErrCalendarLevel):
		return newErr("ErrorCannotSetCalendarPermissionOnNonCalendarFolder", "Calendar permissions can only be set on calendar folders.")
	case errors.Is(err, mailbox.ErrInvalidPermission):
		return newErr("ErrorInvalidPermissionSettings", "The permission settings are invalid.")
	case errors.Is(err, mailbox.ErrInvalidOofDuration):
		return newErr("ErrorInvalidScheduledOofDuration", "The scheduled end time must be after the start time.")
	case errors.Is(err, mailbox.ErrInvalidArgument):
		return newErr("ErrorInvalidRequest", strings.TrimPrefix(err.Error(), "mailbox: "))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return newErr("ErrorTimeoutExpired", "The request timed out or was canceled.")
	}
	rc.h.log.Error("ews mailbox error", "request", rc.id, "error", err)
	return &ewsErr{Code: "ErrorInternalServerError", Text: fmt.Sprintf("An internal server error occurred. The operation failed. (request %d)", rc.id)}
}

// writeErrorBody writes MessageText, ResponseCode, DescriptiveLinkKey and
// MessageXml, in the order the Managed API reads them.
func writeErrorBody(w *xw, e *ewsErr) {
	w.elem("m:MessageText", e.Text)
	w.elem("m:ResponseCode", e.Code)
	w.raw("<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>")
	if len(e.Values) > 0 {
		w.start("m:MessageXml")
		for _, v := range e.Values {
			w.open("t:Value")
			w.attr("Name", v[0])
			w.openEnd()
			w.text(v[1])
			w.end("t:Value")
		}
		w.end("m:MessageXml")
	}
}

// writeErrorMessage writes a whole <m:name ResponseClass="Error"> message.
func writeErrorMessage(w *xw, name string, e *ewsErr) {
	w.open("m:" + name)
	if e.Warning {
		w.attr("ResponseClass", "Warning")
	} else {
		w.attr("ResponseClass", "Error")
	}
	w.openEnd()
	writeErrorBody(w, e)
	w.end("m:" + name)
}

// okStart opens a successful response message; the caller writes the
// payload and closes it with w.end("m:"+name).
func okStart(w *xw, name string) {
	w.raw(`<m:` + name + ` ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`)
}

// okEmpty writes a successful message with no payload.
func okEmpty(w *xw, name string) {
	w.raw(`<m:` + name + ` ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:` + name + `>`)
}

// beginResponse and endResponse wrap the common
// m:<Op>Response/m:ResponseMessages shape.
func beginResponse(w *xw, op string) {
	w.raw("<m:" + op + "Response><m:ResponseMessages>")
}

func endResponse(w *xw, op string) {
	w.raw("</m:ResponseMessages></m:" + op + "Response>")
}

// httpExtras lets an operation see the request's HTTP headers, add
// response headers (the affinity cookie) and take over the response body
// (GetStreamingEvents). It travels in the request context.
type httpExtras struct {
	req    http.Header
	resp   http.Header
	stream func(http.ResponseWriter, *http.Request)
}

type httpExtrasKey struct{}

func (rc *reqCtx) extras() *httpExtras {
	if ex, ok := rc.ctx.Value(httpExtrasKey{}).(*httpExtras); ok {
		return ex
	}
	return nil
}
