package ews

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/actasmail/actas/internal/mailbox"
)

// exchangelib-like shapes: IdOnly plus the properties it asks for.
const benchShape = `<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` +
	`<t:FieldURI FieldURI="item:Subject"/><t:FieldURI FieldURI="item:DateTimeReceived"/><t:FieldURI FieldURI="message:From"/>` +
	`<t:FieldURI FieldURI="message:IsRead"/><t:FieldURI FieldURI="item:HasAttachments"/><t:FieldURI FieldURI="item:Size"/>` +
	`<t:FieldURI FieldURI="item:Categories"/><t:FieldURI FieldURI="item:Importance"/><t:FieldURI FieldURI="message:ToRecipients"/>` +
	`</t:AdditionalProperties></m:ItemShape>`

type benchEnv struct {
	w        *world
	item     *mailbox.Item
	items    []*mailbox.Item
	getItem  string
	findItem string
}

func newBenchEnv(b *testing.B) *benchEnv {
	w := newWorld(b)
	items := w.seed(w.alice.ID, "inbox", 100, func(i int, it *mailbox.Item) {
		it.Body = strings.Repeat("Lorem ipsum dolor sit amet. ", 40)
		it.Categories = []string{"Blue"}
	})
	e := &benchEnv{w: w, item: items[0], items: items}
	e.getItem = envelope("Exchange2016", primary(w.alice), `<m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="`+items[0].ID()+`" ChangeKey="`+items[0].ChangeKey+`"/></m:ItemIds></m:GetItem>`)
	e.findItem = envelope("Exchange2016", primary(w.alice), `<m:FindItem Traversal="Shallow">`+benchShape+`<m:IndexedPageItemView MaxEntriesReturned="100" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds>`+distFolder("inbox", w.alice)+`</m:ParentFolderIds></m:FindItem>`)
	return e
}

func BenchmarkDecodeGetItem(b *testing.B) {
	e := newBenchEnv(b)
	data := []byte(e.getItem)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := parseXML(data, limits{maxDepth: 200, maxElements: 1e6}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeFindItem(b *testing.B) {
	e := newBenchEnv(b)
	data := []byte(e.findItem)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := parseXML(data, limits{maxDepth: 200, maxElements: 1e6}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchCtx(e *benchEnv) *reqCtx {
	return &reqCtx{ctx: context.Background(), h: e.w.h, user: e.w.alice, caller: e.w.svc, impersonating: true}
}

func BenchmarkEncodeGetItem(b *testing.B) {
	e := newBenchEnv(b)
	rc := benchCtx(e)
	sh := itemShape{bits: shapeDefaultGet, bodyType: "Best"}
	w := &xw{}
	b.ReportAllocs()
	for b.Loop() {
		w.b.Reset()
		w.raw(envelopeStart)
		beginResponse(w, "GetItem")
		okStart(w, "GetItemResponseMessage")
		w.start("m:Items")
		if err := rc.writeItem(w, e.item, &sh); err != nil {
			b.Fatal(err)
		}
		w.end("m:Items")
		w.end("m:GetItemResponseMessage")
		endResponse(w, "GetItem")
		w.raw(envelopeEnd)
	}
	b.SetBytes(int64(w.b.Len()))
}

func BenchmarkEncodeFindItem100(b *testing.B) {
	e := newBenchEnv(b)
	rc := benchCtx(e)
	root, _ := parseXML([]byte(e.findItem), limits{maxDepth: 200, maxElements: 1e6})
	sh := parseItemShape(find(root, "ItemShape"), false)
	w := &xw{}
	b.ReportAllocs()
	for b.Loop() {
		w.b.Reset()
		w.raw(envelopeStart)
		beginResponse(w, "FindItem")
		okStart(w, "FindItemResponseMessage")
		w.open("m:RootFolder")
		writeRootFolderAttrs(w, pageView{max: 100}, 0, 100, 100)
		w.openEnd()
		w.start("t:Items")
		for _, it := range e.items {
			if err := rc.writeItem(w, it, &sh); err != nil {
				b.Fatal(err)
			}
		}
		w.end("t:Items")
		w.end("m:RootFolder")
		w.end("m:FindItemResponseMessage")
		endResponse(w, "FindItem")
		w.raw(envelopeEnd)
	}
	b.SetBytes(int64(w.b.Len()))
}

func benchHandler(b *testing.B, e *benchEnv, body string) {
	b.ReportAllocs()
	var n int
	for b.Loop() {
		req := httptest.NewRequest("POST", "/EWS/Exchange.asmx", strings.NewReader(body))
		req.SetBasicAuth(e.w.svc.UserPrincipalName, "pw")
		rec := httptest.NewRecorder()
		e.w.h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		n = rec.Body.Len()
	}
	b.SetBytes(int64(n))
}

// BenchmarkGetItemHandler is the whole path: auth, parse, impersonation
// (rbac.Decide), access, store read (the in-memory fake), encode.
func BenchmarkGetItemHandler(b *testing.B) {
	e := newBenchEnv(b)
	benchHandler(b, e, e.getItem)
}

func BenchmarkFindItem100Handler(b *testing.B) {
	e := newBenchEnv(b)
	benchHandler(b, e, e.findItem)
}

var _ = fmt.Sprint
