package ews

import (
	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/store"
	"net/http/httptest"
	"strings"
	"testing"
)

const getInbox = `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>`

func TestAuthAndMethods(t *testing.T) {
	w := newWorld(t)
	r := w.post(nil, envelope("Exchange2016", "", getInbox))
	if r.status != 401 || r.hdr.Get("WWW-Authenticate") != `Basic realm="Actas"` {
		t.Fatalf("unauthenticated: %d %q", r.status, r.hdr.Get("WWW-Authenticate"))
	}
	for _, tc := range []struct {
		method string
		status int
	}{{"GET", 200}, {"HEAD", 200}, {"PUT", 405}, {"DELETE", 405}} {
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/EWS/Exchange.asmx", nil))
		if rec.Code != tc.status {
			t.Errorf("%s: %d, want %d", tc.method, rec.Code, tc.status)
		}
	}
}

func TestEnvelopeErrors(t *testing.T) {
	w := newWorld(t)
	w.h.opts.MaxRequestBytes = 64 << 10
	w.h.opts.MaxDepth = 50
	w.h.opts.MaxElements = 2000
	deep := strings.Repeat("<t:X>", 60) + strings.Repeat("</t:X>", 60)
	many := strings.Repeat("<t:X/>", 3000)
	cases := []struct {
		name, body, code string
	}{
		{"malformed", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetFolder>`, "ErrorSchemaValidation"},
		{"doctype", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&a;</s:Body></s:Envelope>`, "ErrorSchemaValidation"},
		{"entity", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&lol;</s:Body></s:Envelope>`, "ErrorSchemaValidation"},
		{"not envelope", `<foo/>`, "ErrorSchemaValidation"},
		{"no body", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"></s:Envelope>`, "ErrorSchemaValidation"},
		{"empty body", envelope("Exchange2016", "", ""), "ErrorInvalidRequest"},
		{"too deep", envelope("Exchange2016", "", `<m:GetFolder xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">`+deep+`</m:GetFolder>`), "ErrorInvalidRequest"},
		{"too many", envelope("Exchange2016", "", `<m:GetFolder>`+many+`</m:GetFolder>`), "ErrorInvalidRequest"},
		{"too big", envelope("Exchange2016", "", `<m:GetFolder>`+strings.Repeat("x", 70<<10)+`</m:GetFolder>`), "ErrorInvalidRequest"},
		{"foreign op", envelope("Exchange2016", "", `<x:GetFolder xmlns:x="urn:other"/>`), "ErrorInvalidRequest"},
		{"bad version", envelope("Exchange2019", "", getInbox), "ErrorInvalidServerVersion"},
		{"garbage version", envelope("Exchange2016x", "", getInbox), "ErrorInvalidServerVersion"},
		{"utf16", `<?xml version="1.0" encoding="utf-16"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>`, "ErrorSchemaValidation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.post(w.alice, tc.body)
			if r.status != 500 || r.faultCode() != tc.code {
				t.Fatalf("got %d %q, want 500 %s\n%s", r.status, r.faultCode(), tc.code, r.body)
			}
			if find(r.root, "ServerVersionInfo") == nil {
				t.Fatal("fault without ServerVersionInfo")
			}
			if ct := r.hdr.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
				t.Fatalf("content type %q", ct)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	w := newWorld(t)
	for _, v := range []string{"Exchange2007", "Exchange2007_SP1", "Exchange2010_SP2", "Exchange2013_SP1", "Exchange2016", "V2017_07_11", "V2018_01_08", ""} {
		r := w.post(w.alice, envelope(v, "", getInbox))
		w.mustOK(r)
		svi := find(r.root, "ServerVersionInfo")
		if svi == nil || svi.Space != nsTypes || svi.attr("MajorVersion") != "15" || svi.attr("MinorVersion") != "1" ||
			svi.attr("MajorBuildNumber") != "2507" || svi.attr("MinorBuildNumber") != "6" || svi.attr("Version") != "V2017_07_11" {
			t.Fatalf("%q: ServerVersionInfo %+v", v, svi)
		}
	}
}

// TestFaultShape checks the fault element by element, in order.
func TestFaultShape(t *testing.T) {
	w := newWorld(t)
	r := w.post(w.alice, envelope("Bogus", "", getInbox))
	if r.status != 500 {
		t.Fatal(r.status)
	}
	if !strings.Contains(r.body, `<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorInvalidServerVersion</faultcode>`) {
		t.Fatalf("faultcode: %s", r.body)
	}
	if !strings.Contains(r.body, `<faultstring xml:lang="en-US">The specified server version is invalid.</faultstring>`) {
		t.Fatalf("faultstring: %s", r.body)
	}
	f := r.bodyEl()
	var names []string
	for _, c := range f.Children {
		names = append(names, c.Local)
	}
	if strings.Join(names, ",") != "faultcode,faultstring,detail" {
		t.Fatalf("fault children %v", names)
	}
	det := f.child("detail")
	if det.Children[0].Local != "ResponseCode" || det.Children[0].Space != nsErrors || det.Children[1].Local != "Message" || det.Children[1].Space != nsErrors {
		t.Fatalf("detail: %s", r.body)
	}
	// With MessageXml: an impersonation denial.
	r = w.call(w.alice, primary(w.bob), getInbox)
	det = r.bodyEl().child("detail")
	if len(det.Children) != 3 || det.Children[2].Local != "MessageXml" || det.Children[2].Space != nsTypes {
		t.Fatalf("detail with MessageXml: %s", r.body)
	}
}

func TestImpersonation(t *testing.T) {
	w := newWorld(t)
	noRole := w.carol
	disabled := w.recipient(w.org, "svc2", "UserMailbox")
	w.assign("svc2-off", disabled, nil, func(a *d_Assignment) { a.Enabled = false })
	scoped := w.recipient(w.org, "svc3", "UserMailbox")
	w.assign("svc3-rooms", scoped, w.scope("Rooms", "RecipientTypeDetails -eq 'RoomMailbox'", false))
	cases := []struct {
		name   string
		caller *d_Recipient
		sid    string
		code   string // "" = success
		reason string
		target *d_Recipient
	}{
		{"primary smtp", w.svc, primary(w.alice), "", "", w.alice},
		{"smtp proxy", w.svc, `<t:SmtpAddress>alice.proxy@contoso.test</t:SmtpAddress>`, "", "", w.alice},
		{"upn", w.svc, `<t:PrincipalName>alice@contoso.test</t:PrincipalName>`, "", "", w.alice},
		{"sid", w.svc, `<t:SID>` + w.alice.SID + `</t:SID>`, "", "", w.alice},
		{"primary given a proxy", w.svc, `<t:PrimarySmtpAddress>alice.proxy@contoso.test</t:PrimarySmtpAddress>`, "ErrorNonPrimarySmtpAddress", "", nil},
		{"unknown smtp", w.svc, `<t:SmtpAddress>nobody@contoso.test</t:SmtpAddress>`, "ErrorNonExistentMailbox", "TargetUnknown", nil},
		{"unknown primary", w.svc, `<t:PrimarySmtpAddress>nobody@contoso.test</t:PrimarySmtpAddress>`, "ErrorNonExistentMailbox", "TargetUnknown", nil},
		{"group is no mailbox", w.svc, `<t:SmtpAddress>team@contoso.test</t:SmtpAddress>`, "ErrorNonExistentMailbox", "TargetUnknown", nil},
		{"unknown upn", w.svc, `<t:PrincipalName>nobody@contoso.test</t:PrincipalName>`, "ErrorInvalidUserPrincipalName", "TargetUnknown", nil},
		{"bad sid", w.svc, `<t:SID>not-a-sid</t:SID>`, "ErrorInvalidSid", "TargetUnknown", nil},
		{"unknown sid", w.svc, `<t:SID>S-1-5-21-9-9-9-9</t:SID>`, "ErrorInvalidSid", "TargetUnknown", nil},
		{"empty", w.svc, `<t:PrimarySmtpAddress> </t:PrimarySmtpAddress>`, "ErrorInvalidExchangeImpersonationHeaderData", "", nil},
		{"missing", w.svc, ``, "ErrorInvalidExchangeImpersonationHeaderData", "", nil},
		{"multiple", w.svc, primary(w.alice) + `<t:SmtpAddress>bob@contoso.test</t:SmtpAddress>`, "ErrorInvalidExchangeImpersonationHeaderData", "", nil},
		{"unknown element", w.svc, `<t:Foo>x</t:Foo>`, "ErrorInvalidExchangeImpersonationHeaderData", "", nil},
		{"no assignment", noRole, primary(w.alice), "ErrorImpersonationDenied", "NoApplicationImpersonationAssignment", nil},
		{"no assignment, unknown target", noRole, `<t:SmtpAddress>nobody@contoso.test</t:SmtpAddress>`, "ErrorImpersonationDenied", "NoApplicationImpersonationAssignment", nil},
		{"disabled", disabled, primary(w.alice), "ErrorImpersonationDenied", "AssignmentDisabled", nil},
		{"out of scope", scoped, primary(w.alice), "ErrorImpersonateUserDenied", "OutsideWriteScope", nil},
		{"in custom scope", scoped, primary(w.room), "", "", w.room},
		{"exclusive scope", w.svc, primary(w.vip), "ErrorImpersonateUserDenied", "HeldByExclusiveScope", nil},
		{"other tenant", w.svc, primary(w.stranger), "ErrorNonExistentMailbox", "TargetUnknown", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.post(tc.caller, envelope("Exchange2016", "", getInbox)) // warm: the caller's own mailbox
			w.post(tc.caller, envelope("Exchange2016", "@", getInbox), "X-AnchorMailbox", "someone.else@contoso.test")
			r := w.call(tc.caller, tc.sid, getInbox)
			if tc.name == "missing" {
				r = w.post(tc.caller, strings.Replace(envelope("Exchange2016", "", getInbox), "<s:Header>", "<s:Header><t:ExchangeImpersonation/>", 1))
			}
			if tc.code == "" {
				w.mustOK(r)
				id, err := decodeID(folderIDOf(r))
				if err != nil || id.Mailbox != tc.target.ID {
					t.Fatalf("folder of %v, want mailbox %s", id, tc.target.Name)
				}
				return
			}
			if r.status != 500 || r.faultCode() != tc.code {
				t.Fatalf("got %d %s, want 500 %s\n%s", r.status, r.faultCode(), tc.code, r.body)
			}
			if got := r.faultValue("ActasReason"); got != tc.reason {
				t.Fatalf("ActasReason %q, want %q\n%s", got, tc.reason, r.body)
			}
			if tc.reason != "" && r.faultValue("ActasExplanation") == "" {
				t.Fatal("no ActasExplanation")
			}
			if strings.Contains(r.body, "fabrikam") || strings.Contains(r.body, "TargetInAnotherOrganization") {
				t.Fatalf("reveals another tenant: %s", r.body)
			}
			if tc.code == "ErrorNonPrimarySmtpAddress" && r.faultValue("Primary") != "alice@contoso.test" {
				t.Fatalf("primary not given: %s", r.body)
			}
		})
	}
	// Decided on every request: removing the assignment takes effect at once.
	w.mustOK(w.call(scoped, primary(w.room), getInbox))
	w.write(func(tx *d_Tx) error {
		for _, a := range tx.State().AssignmentsOf(scoped.ID) {
			tx.DeleteAssignment(a.ID)
		}
		return nil
	})
	if r := w.call(scoped, primary(w.room), getInbox); r.faultCode() != "ErrorImpersonationDenied" {
		t.Fatalf("after removal: %s", r.body)
	}
}

func TestUnknownOperationAndConvertIdProbe(t *testing.T) {
	w := newWorld(t)
	r := w.call(w.alice, "", `<m:FrobnicateItem/>`)
	if r.status != 200 || r.bodyEl().Local != "FrobnicateItemResponse" || code(r.messages()[0]) != "ErrorInvalidOperation" {
		t.Fatalf("unknown op: %d\n%s", r.status, r.body)
	}
	r = w.call(w.alice, "", `<m:FindPeople/>`)
	if r.status != 200 || r.bodyEl().attr("ResponseClass") != "Error" || r.bodyEl().childText("ResponseCode") != "ErrorInvalidOperation" {
		t.Fatalf("flat unknown op: %s", r.body)
	}
	// exchangelib's version probe.
	probe := `<m:ConvertId DestinationFormat="EntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="DUMMY" Mailbox="DUMMY"/></m:SourceIds></m:ConvertId>`
	r = w.call(w.alice, "", probe)
	if r.status != 200 || code(r.messages()[0]) != "ErrorInvalidIdMalformed" || find(r.root.child("Header"), "ServerVersionInfo") == nil {
		t.Fatalf("probe: %s", r.body)
	}
	m := r.messages()[0]
	var order []string
	for _, c := range m.Children {
		order = append(order, c.Local)
	}
	if strings.Join(order, ",") != "MessageText,ResponseCode,DescriptiveLinkKey" {
		t.Fatalf("error message order %v", order)
	}
	// A real id converts to itself and names its mailbox.
	fid := folderIDOf(w.mustOK(w.call(w.alice, "", getInbox)))
	r = w.mustOK(w.call(w.alice, "", `<m:ConvertId DestinationFormat="HexEntryId"><m:SourceIds><t:AlternateId Format="EwsId" Id="`+fid+`" Mailbox="alice@contoso.test"/></m:SourceIds></m:ConvertId>`))
	alt := find(r.root, "AlternateId")
	if alt.attr("Id") != fid || alt.attr("Format") != "HexEntryId" || alt.attr("Mailbox") != "alice@contoso.test" {
		t.Fatalf("convert: %s", r.body)
	}
}

func TestPanicBecomesFault(t *testing.T) {
	w := newWorldWith(t, func(*store.SQLite) mailbox.Mailboxes { return panicky{newFake()} })
	r := w.call(w.alice, "", getInbox)
	if r.status != 500 || r.faultCode() != "ErrorInternalServerError" || !strings.Contains(r.body, "request ") {
		t.Fatalf("%d %s", r.status, r.body)
	}
}
