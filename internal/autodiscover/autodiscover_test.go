package autodiscover

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/store"
)

type fixture struct {
	dir                 *d.Directory
	h                   *Handler
	alice, bob, outside *d.Recipient
}

func newFixture(t *testing.T) *fixture {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir, err := d.Open(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{dir: dir}
	n := 0
	id := func() string { n++; return "00000000-0000-4000-8000-00000000000" + string(rune('0'+n)) }
	org := &d.Org{ID: id(), Name: "Contoso", Domains: []string{"contoso.test"}, WhenCreated: time.Now()}
	other := &d.Org{ID: id(), Name: "Fabrikam", Domains: []string{"fabrikam.test"}, WhenCreated: time.Now()}
	mk := func(o *d.Org, name string) *d.Recipient {
		return &d.Recipient{ID: id(), Org: o.ID, Type: d.UserMailbox, Name: name, DisplayName: strings.ToUpper(name[:1]) + name[1:],
			PrimarySmtpAddress: name + "@" + o.Domains[0], UserPrincipalName: name + "@" + o.Domains[0],
			EmailAddresses: []string{"SMTP:" + name + "@" + o.Domains[0], "smtp:" + name + ".alt@" + o.Domains[0]}}
	}
	f.alice, f.bob = mk(org, "alice"), mk(org, "bob")
	f.outside = mk(other, "eve")
	err = dir.Write(ctx, func(tx *d.Tx) error {
		for _, o := range []*d.Org{org, other} {
			if err := tx.PutOrg(o); err != nil {
				return err
			}
		}
		for _, r := range []*d.Recipient{f.alice, f.bob, f.outside} {
			if err := tx.PutRecipient(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	authn := func(r *http.Request) (string, error) {
		u, p, ok := r.BasicAuth()
		if !ok || p != "pw" {
			return "", errors.New("no")
		}
		var id string
		_ = dir.Read(func(s *d.State) error {
			if x := s.RecipientByUPN(u); x != nil {
				id = x.ID
			}
			return nil
		})
		if id == "" {
			return "", errors.New("no")
		}
		return id, nil
	}
	f.h = New(dir, authn, func(*http.Request) string { return "https://mail.contoso.test/EWS/Exchange.asmx" }, nil)
	return f
}

func (f *fixture) do(method, path, user, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if user != "" {
		r.SetBasicAuth(user, "pw")
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

const poxReq = `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>%s</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`

type poxResp struct {
	XMLName  xml.Name `xml:"Autodiscover"`
	Response struct {
		User struct {
			DisplayName, LegacyDN, AutoDiscoverSMTPAddress string
		}
		Account struct {
			Action   string
			Protocol []struct {
				Type, EwsUrl, ASUrl, AuthPackage, ServerVersion string
			}
		}
		Error struct {
			ErrorCode, Message string
		}
	}
}

func TestPOX(t *testing.T) {
	f := newFixture(t)
	// Unauthenticated: 401 with the Basic challenge (exchangelib's probe).
	w := f.do("POST", "/autodiscover/autodiscover.xml", "", strings.Replace(poxReq, "%s", "alice@contoso.test", 1))
	if w.Code != 401 || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("unauthenticated: %d %v", w.Code, w.Header())
	}
	for _, tc := range []struct {
		path, addr, want, code string
	}{
		{"/autodiscover/autodiscover.xml", "alice@contoso.test", "alice@contoso.test", ""},
		{"/Autodiscover/Autodiscover.xml", "bob.alt@contoso.test", "bob@contoso.test", ""},
		{"/AUTODISCOVER/AUTODISCOVER.XML", "nobody@contoso.test", "", "500"},
		{"/autodiscover/autodiscover.xml", "eve@fabrikam.test", "", "500"},
	} {
		w := f.do("POST", tc.path, "alice@contoso.test", strings.Replace(poxReq, "%s", tc.addr, 1))
		var resp poxResp
		if err := xml.Unmarshal(w.Body.Bytes(), &resp); err != nil || w.Code != 200 {
			t.Fatalf("%s: %d %v\n%s", tc.addr, w.Code, err, w.Body)
		}
		if tc.code != "" {
			if resp.Response.Error.ErrorCode != tc.code || resp.Response.Error.Message != "The email address can't be found." {
				t.Fatalf("%s: %+v", tc.addr, resp.Response.Error)
			}
			continue
		}
		if resp.Response.User.AutoDiscoverSMTPAddress != tc.want || resp.Response.Account.Action != "settings" || len(resp.Response.Account.Protocol) != 2 {
			t.Fatalf("%s: %s", tc.addr, w.Body)
		}
		for _, p := range resp.Response.Account.Protocol {
			if p.EwsUrl != "https://mail.contoso.test/EWS/Exchange.asmx" || p.AuthPackage != "basic" || p.ServerVersion != "73C189CB" {
				t.Fatalf("protocol %+v", p)
			}
		}
	}
	w = f.do("POST", "/autodiscover/autodiscover.xml", "alice@contoso.test", `<Autodiscover><Request></Request></Autodiscover>`)
	if !strings.Contains(w.Body.String(), "<ErrorCode>600</ErrorCode><Message>Invalid Request</Message>") {
		t.Fatal(w.Body)
	}
	w = f.do("GET", "/autodiscover/autodiscover.xml", "", "")
	if w.Header().Get("X-SOAP-Enabled") != "True" {
		t.Fatal("GET probe headers")
	}
}

const soapReq = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://schemas.microsoft.com/exchange/2010/Autodiscover" xmlns:wsa="http://www.w3.org/2005/08/addressing"><soap:Header><a:RequestedServerVersion>Exchange2013</a:RequestedServerVersion><wsa:Action>http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings</wsa:Action></soap:Header><soap:Body><a:GetUserSettingsRequestMessage><a:Request><a:Users><a:User><a:Mailbox>alice.alt@contoso.test</a:Mailbox></a:User><a:User><a:Mailbox>ghost@contoso.test</a:Mailbox></a:User></a:Users><a:RequestedSettings><a:Setting>UserDN</a:Setting><a:Setting>ExternalEwsUrl</a:Setting><a:Setting>EwsSupportedSchemas</a:Setting><a:Setting>AutoDiscoverSMTPAddress</a:Setting><a:Setting>UserDisplayName</a:Setting><a:Setting>ExternalOABUrl</a:Setting><a:Setting>Bogus</a:Setting></a:RequestedSettings></a:Request></a:GetUserSettingsRequestMessage></soap:Body></soap:Envelope>`

func TestSOAP(t *testing.T) {
	f := newFixture(t)
	if w := f.do("POST", "/autodiscover/autodiscover.svc", "", soapReq); w.Code != 401 {
		t.Fatal(w.Code)
	}
	w := f.do("POST", "/Autodiscover/Autodiscover.svc", "bob@contoso.test", soapReq)
	var env struct {
		Header struct {
			Action            string `xml:"Action"`
			ServerVersionInfo struct {
				MajorVersion, MajorBuildNumber int
				Version                        string
			}
		}
		Body struct {
			Msg struct {
				Response struct {
					ErrorCode     string
					UserResponses struct {
						UserResponse []struct {
							ErrorCode         string
							UserSettingErrors struct {
								UserSettingError []struct{ ErrorCode, SettingName string }
							}
							UserSettings struct {
								UserSetting []struct{ Name, Value string }
							}
						}
					}
				}
			} `xml:"GetUserSettingsResponseMessage"`
		}
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &env); err != nil {
		t.Fatal(err, w.Body)
	}
	ur := env.Body.Msg.Response.UserResponses.UserResponse
	if env.Header.ServerVersionInfo.MajorVersion != 15 || env.Header.ServerVersionInfo.MajorBuildNumber != 2507 || len(ur) != 2 {
		t.Fatalf("%s", w.Body)
	}
	got := map[string]string{}
	for _, s := range ur[0].UserSettings.UserSetting {
		got[s.Name] = s.Value
	}
	if len(got) != 5 || got["ExternalEwsUrl"] != "https://mail.contoso.test/EWS/Exchange.asmx" || got["AutoDiscoverSMTPAddress"] != "alice@contoso.test" ||
		!strings.HasSuffix(got["EwsSupportedSchemas"], "Exchange2016") {
		t.Fatalf("settings %v", got)
	}
	errs := ur[0].UserSettingErrors.UserSettingError
	if len(errs) != 2 || errs[0].ErrorCode != "SettingIsNotAvailable" || errs[1].ErrorCode != "InvalidSetting" {
		t.Fatalf("setting errors %+v", errs)
	}
	if ur[1].ErrorCode != "InvalidUser" {
		t.Fatalf("unknown user %+v", ur[1])
	}
}

func TestJSON(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		path   string
		status int
		url    string
	}{
		{"/autodiscover/autodiscover.json/v1.0/alice@contoso.test?Protocol=EWS", 200, "https://mail.contoso.test/EWS/Exchange.asmx"},
		{"/Autodiscover/Autodiscover.json?Email=alice@contoso.test&Protocol=ews", 200, "https://mail.contoso.test/EWS/Exchange.asmx"},
		{"/autodiscover/autodiscover.json/v1.0/alice@contoso.test?Protocol=AutodiscoverV1", 200, "https://mail.contoso.test/autodiscover/autodiscover.xml"},
		{"/autodiscover/autodiscover.json/v1.0/alice@contoso.test?Protocol=ActiveSync", 400, ""},
		{"/autodiscover/autodiscover.json?Protocol=EWS", 400, ""},
	} {
		w := f.do("GET", tc.path, "", "")
		var out map[string]string
		json.Unmarshal(w.Body.Bytes(), &out)
		if w.Code != tc.status || out["Url"] != tc.url || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %v", tc.path, w.Code, out)
		}
	}
}
