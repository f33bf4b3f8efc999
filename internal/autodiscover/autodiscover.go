// Package autodiscover answers Exchange Autodiscover so EWS clients find
// Actas's EWS endpoint from an email address:
//
//   - POX: POST /autodiscover/autodiscover.xml (Outlook request and response
//     schemas 2006/2006a) — exchangelib 4.9's default, Evolution, the Managed
//     API's fallback;
//   - SOAP: POST /autodiscover/autodiscover.svc, GetUserSettings — exchangelib
//     5.x and the Managed API family; it answers only the settings asked for;
//   - JSON v2: GET /autodiscover/autodiscover.json/v1.0/{email}?Protocol=EWS
//     and /autodiscover/autodiscover.json?Email=..&Protocol=.. (unauthenticated).
//
// Paths match case-insensitively. POX and SOAP require authentication (an
// unauthenticated POST gets 401 with the Basic challenge, which is how
// exchangelib learns the auth type); a caller may discover any mailbox of
// its own organization, and an address elsewhere is "not found".
package autodiscover

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/actasmail/actas/internal/directory"
)

// Namespaces.
const (
	nsPOXRequest      = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	nsPOXResponse     = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	nsPOXOutlook      = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	nsSOAP            = "http://schemas.xmlsoap.org/soap/envelope/"
	nsAutodiscover    = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
	nsAddressing      = "http://www.w3.org/2005/08/addressing"
	nsXSI             = "http://www.w3.org/2001/XMLSchema-instance"
	actionGetSettings = "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse"
)

// Server identity, matching the EWS handler's ServerVersionInfo (Exchange
// 2016, 15.1.2507.6).
const (
	casVersion       = "15.01.2507.006"
	supportedSchemas = "Exchange2007, Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2016"
	maxBody          = 1 << 20
)

// serverVersionHex is POX ServerVersion: 4 bits structure version, 6 bits
// major, 6 bits minor, 1 flag bit, 15 bits build.
var serverVersionHex = fmt.Sprintf("%08X", uint32(7)<<28|15<<22|1<<16|1<<15|2507)

// Handler serves Autodiscover.
type Handler struct {
	dir    *directory.Directory
	authn  func(*http.Request) (string, error)
	ewsURL func(*http.Request) string
	log    *slog.Logger
	// AuthError answers a failed authentication; the default is 401 with
	// WWW-Authenticate: Basic realm="Actas". The server may set its own.
	AuthError func(http.ResponseWriter, error)
}

// New returns the Autodiscover handler. ewsURL gives the absolute EWS URL
// to advertise for a request (scheme and host as the client reached us).
func New(dir *directory.Directory, authn func(*http.Request) (string, error), ewsURL func(r *http.Request) string, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Handler{dir: dir, authn: authn, ewsURL: ewsURL, log: log, AuthError: func(w http.ResponseWriter, _ error) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Actas"`)
		http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
	}}
}

// ServeHTTP dispatches on the lower-cased path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.ToLower(r.URL.Path)
	switch {
	case p == "/autodiscover/autodiscover.xml":
		h.servePOX(w, r)
	case p == "/autodiscover/autodiscover.svc" || strings.HasPrefix(p, "/autodiscover/autodiscover.svc/"):
		h.serveSOAP(w, r)
	case p == "/autodiscover/autodiscover.json" || strings.HasPrefix(p, "/autodiscover/autodiscover.json/"):
		h.serveJSON(w, r)
	default:
		http.NotFound(w, r)
	}
}

// discoveryHeaders tell the Managed API which endpoints exist.
func discoveryHeaders(w http.ResponseWriter) {
	w.Header().Set("X-SOAP-Enabled", "True")
	w.Header().Set("X-WSSecurity-Enabled", "False")
	w.Header().Set("X-WSSecurity-SymmetricKey-Enabled", "False")
	w.Header().Set("X-WSSecurity-X509Cert-Enabled", "False")
	w.Header().Set("X-OAuth-Enabled", "False")
}

// authenticate returns the caller, or answers 401 and returns nil.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) *directory.Recipient {
	id, err := h.authn(r)
	if err != nil {
		discoveryHeaders(w)
		h.AuthError(w, err)
		return nil
	}
	var caller *directory.Recipient
	_ = h.dir.Read(func(s *directory.State) error { caller = s.Recipient(id); return nil })
	if caller == nil {
		h.AuthError(w, fmt.Errorf("account %s no longer exists", id))
	}
	return caller
}

// lookup finds a mailbox of the caller's organization by any SMTP address.
func (h *Handler) lookup(caller *directory.Recipient, addr string) (r *directory.Recipient, org *directory.Org) {
	addr = strings.TrimSpace(addr)
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "SMTP:"), "smtp:")
	_ = h.dir.Read(func(s *directory.State) error {
		x := s.RecipientBySMTP(addr)
		if x != nil && x.IsMailbox() && x.Org == caller.Org {
			r, org = x, s.Org(x.Org)
		}
		return nil
	})
	return r, org
}

func legacyDN(r *directory.Recipient, org *directory.Org) string {
	if r.LegacyExchangeDN != "" {
		return r.LegacyExchangeDN
	}
	name := "Actas"
	if org != nil {
		name = org.Name
	}
	return "/o=" + name + "/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=" + strings.ToLower(orDefault(r.Alias, r.Name))
}

func mailboxDN(r *directory.Recipient) string {
	return "/o=Actas/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=" + r.ID + "/cn=Microsoft Private MDB"
}

func displayName(r *directory.Recipient) string { return orDefault(r.DisplayName, r.Name) }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// hostOf is the host part of a URL.
func hostOf(u string) string {
	s := u
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/:"); i >= 0 {
		s = s[:i]
	}
	return s
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// --- POX ---

type poxRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string `xml:"EMailAddress"`
		LegacyDN                 string `xml:"LegacyDN"`
		AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

func (h *Handler) servePOX(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		// The Managed API's unauthenticated probe reads these headers.
		discoveryHeaders(w)
		h.AuthError(w, fmt.Errorf("autodiscover.xml answers POST"))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "405 Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	caller := h.authenticate(w, r)
	if caller == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	var req poxRequest
	if err == nil && len(body) <= maxBody && !bytes.Contains(body, []byte("<!")) {
		err = xml.Unmarshal(body, &req)
	} else if err == nil {
		err = fmt.Errorf("request too large or contains a DTD")
	}
	if err != nil || (req.Request.EMailAddress == "" && req.Request.LegacyDN == "") {
		writePOXError(w, "600", "Invalid Request")
		return
	}
	if s := req.Request.AcceptableResponseSchema; s != "" && s != nsPOXOutlook {
		writePOXError(w, "601", "Provider is not available.")
		return
	}
	var target *directory.Recipient
	var org *directory.Org
	if req.Request.EMailAddress != "" {
		target, org = h.lookup(caller, req.Request.EMailAddress)
	} else {
		_ = h.dir.Read(func(s *directory.State) error {
			for _, x := range s.Recipients(caller.Org) {
				if x.IsMailbox() && strings.EqualFold(legacyDN(x, s.Org(x.Org)), req.Request.LegacyDN) {
					target, org = x, s.Org(x.Org)
				}
			}
			return nil
		})
	}
	if target == nil {
		// exchangelib turns exactly this message into ErrorNonExistentMailbox.
		writePOXError(w, "500", "The email address can't be found.")
		return
	}
	ews := h.ewsURL(r)
	host := hostOf(ews)
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<Autodiscover xmlns="` + nsPOXResponse + `"><Response xmlns="` + nsPOXOutlook + `">`)
	b.WriteString(`<User><DisplayName>` + esc(displayName(target)) + `</DisplayName><LegacyDN>` + esc(legacyDN(target, org)) +
		`</LegacyDN><AutoDiscoverSMTPAddress>` + esc(target.PrimarySmtpAddress) + `</AutoDiscoverSMTPAddress><DeploymentId>` + esc(target.ID) + `</DeploymentId></User>`)
	b.WriteString(`<Account><AccountType>email</AccountType><Action>settings</Action><MicrosoftOnline>False</MicrosoftOnline>`)
	for _, typ := range []string{"EXCH", "EXPR"} {
		b.WriteString(`<Protocol><Type>` + typ + `</Type><Server>` + esc(host) + `</Server>`)
		if typ == "EXCH" {
			b.WriteString(`<ServerDN>` + esc(mailboxDN(target)) + `</ServerDN><ServerVersion>` + serverVersionHex + `</ServerVersion><MdbDN>` + esc(mailboxDN(target)) + `</MdbDN>`)
		} else {
			b.WriteString(`<ServerVersion>` + serverVersionHex + `</ServerVersion>`)
		}
		b.WriteString(`<AuthPackage>basic</AuthPackage><ASUrl>` + esc(ews) + `</ASUrl><EwsUrl>` + esc(ews) + `</EwsUrl><OOFUrl>` + esc(ews) + `</OOFUrl>`)
		ssl := "On"
		if strings.HasPrefix(ews, "http://") {
			ssl = "Off"
		}
		b.WriteString(`<SSL>` + ssl + `</SSL>`)
		if typ == "EXPR" {
			b.WriteString(`<GroupingInformation>` + esc(host) + `</GroupingInformation>`)
		}
		b.WriteString(`</Protocol>`)
	}
	b.WriteString(`</Account></Response></Autodiscover>`)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, b.String())
	h.log.Debug("autodiscover pox", "caller", caller.ID, "target", target.PrimarySmtpAddress)
}

// writePOXError writes the POX error shape (HTTP 200, as Exchange does).
func writePOXError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	now := time.Now().UTC()
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+`<Autodiscover xmlns="%s"><Response><Error Time="%s" Id="%d"><ErrorCode>%s</ErrorCode><Message>%s</Message><DebugData /></Error></Response></Autodiscover>`,
		nsPOXResponse, now.Format("15:04:05.0000000"), now.UnixNano()%4294967296, code, esc(msg))
}

// --- SOAP GetUserSettings ---

type soapEnvelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Inner []byte `xml:",innerxml"`
		GUS   *struct {
			Request struct {
				Users struct {
					User []struct {
						Mailbox string `xml:"Mailbox"`
					} `xml:"User"`
				} `xml:"Users"`
				RequestedSettings struct {
					Setting []string `xml:"Setting"`
				} `xml:"RequestedSettings"`
			} `xml:"Request"`
		} `xml:"http://schemas.microsoft.com/exchange/2010/Autodiscover GetUserSettingsRequestMessage"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// settingValue computes one user setting; ok is false for a setting Actas
// does not provide.
func (h *Handler) settingValue(name string, t *directory.Recipient, org *directory.Org, ews string) (string, bool) {
	switch name {
	case "UserDisplayName":
		return displayName(t), true
	case "UserDN":
		return legacyDN(t, org), true
	case "UserDeploymentId":
		return t.ID, true
	case "InternalEwsUrl", "ExternalEwsUrl":
		return ews, true
	case "EwsSupportedSchemas":
		return supportedSchemas, true
	case "CasVersion":
		return casVersion, true
	case "ExternalEwsVersion":
		return casVersion, true
	case "AutoDiscoverSMTPAddress":
		return t.PrimarySmtpAddress, true
	case "MailboxDN", "InternalMailboxServerDN":
		return mailboxDN(t), true
	case "InternalMailboxServer", "ExternalMailboxServer", "ActiveDirectoryServer":
		return hostOf(ews), true
	case "GroupingInformation":
		return hostOf(ews), true
	case "MapiHttpEnabled", "UserMSOnline", "CrossOrganizationSharingEnabled", "ShowGalAsDefaultView":
		return "False", true
	}
	return "", false
}

// knownSettings are setting names of the schema Actas recognizes but does
// not provide (SettingIsNotAvailable); others are InvalidSetting.
var knownSettings = map[string]bool{
	"InternalRpcClientServer": true, "InternalEcpUrl": true, "InternalOABUrl": true, "InternalUMUrl": true,
	"InternalWebClientUrls": true, "PublicFolderServer": true, "ExternalMailboxServerRequiresSSL": true,
	"ExternalMailboxServerAuthenticationMethods": true, "ExternalEcpUrl": true, "ExternalOABUrl": true, "ExternalUMUrl": true,
	"ExternalWebClientUrls": true, "AlternateMailboxes": true, "InternalPop3Connections": true, "ExternalPop3Connections": true,
	"InternalImap4Connections": true, "ExternalImap4Connections": true, "InternalSmtpConnections": true,
	"ExternalSmtpConnections": true, "ExchangeRpcUrl": true, "InteropExternalEwsUrl": true, "InteropExternalEwsVersion": true,
	"MobileMailboxPolicyInterop": true, "EcpDeliveryReportUrlFragment": true,
}

func (h *Handler) serveSOAP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		discoveryHeaders(w)
		w.Header().Set("Allow", "POST")
		http.Error(w, "405 Method Not Allowed: autodiscover.svc answers SOAP POST requests.", http.StatusMethodNotAllowed)
		return
	}
	caller := h.authenticate(w, r)
	if caller == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	var env soapEnvelope
	if err == nil && len(body) <= maxBody && !bytes.Contains(body, []byte("<!")) {
		err = xml.Unmarshal(body, &env)
	} else if err == nil {
		err = fmt.Errorf("request too large or contains a DTD")
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString(`<s:Envelope xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddressing + `"><s:Header>`)
	b.WriteString(`<a:Action s:mustUnderstand="1">` + actionGetSettings + `</a:Action>`)
	b.WriteString(`<h:ServerVersionInfo xmlns:h="` + nsAutodiscover + `" xmlns:i="` + nsXSI + `"><h:MajorVersion>15</h:MajorVersion><h:MinorVersion>1</h:MinorVersion>` +
		`<h:MajorBuildNumber>2507</h:MajorBuildNumber><h:MinorBuildNumber>6</h:MinorBuildNumber><h:Version>Exchange2016</h:Version></h:ServerVersionInfo>`)
	b.WriteString(`</s:Header><s:Body><GetUserSettingsResponseMessage xmlns="` + nsAutodiscover + `"><Response xmlns:i="` + nsXSI + `">`)
	if err != nil || env.Body.GUS == nil {
		b.WriteString(`<ErrorCode>InvalidRequest</ErrorCode><ErrorMessage>The request is invalid: expected GetUserSettingsRequestMessage.</ErrorMessage><UserResponses/>`)
	} else {
		b.WriteString(`<ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses>`)
		ews := h.ewsURL(r)
		req := env.Body.GUS.Request
		for _, u := range req.Users.User {
			t, org := h.lookup(caller, u.Mailbox)
			b.WriteString(`<UserResponse>`)
			if t == nil {
				b.WriteString(`<ErrorCode>InvalidUser</ErrorCode><ErrorMessage>Invalid user: '` + esc(strings.TrimSpace(u.Mailbox)) + `'</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings/></UserResponse>`)
				continue
			}
			var settings, errs strings.Builder
			for _, name := range req.RequestedSettings.Setting {
				name = strings.TrimSpace(name)
				if v, ok := h.settingValue(name, t, org, ews); ok {
					settings.WriteString(`<UserSetting i:type="StringSetting"><Name>` + esc(name) + `</Name><Value>` + esc(v) + `</Value></UserSetting>`)
					continue
				}
				code, msg := "InvalidSetting", "The requested setting is invalid."
				if knownSettings[name] {
					code, msg = "SettingIsNotAvailable", "The requested setting is not available."
				}
				errs.WriteString(`<UserSettingError><ErrorCode>` + code + `</ErrorCode><ErrorMessage>` + msg + `</ErrorMessage><SettingName>` + esc(name) + `</SettingName></UserSettingError>`)
			}
			b.WriteString(`<ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true"/>`)
			b.WriteString(`<UserSettingErrors>` + errs.String() + `</UserSettingErrors><UserSettings>` + settings.String() + `</UserSettings></UserResponse>`)
		}
		b.WriteString(`</UserResponses>`)
	}
	b.WriteString(`</Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>`)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, b.String())
}

// --- JSON v2 ---

func (h *Handler) serveJSON(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		http.Error(w, "405 Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	email := ""
	for k, v := range q {
		if strings.EqualFold(k, "Email") && len(v) > 0 {
			email = v[0]
		}
	}
	lp := strings.ToLower(r.URL.Path)
	if i := strings.Index(lp, "/v1.0/"); i >= 0 {
		email = r.URL.Path[i+len("/v1.0/"):]
	}
	proto := ""
	for k, v := range q {
		if strings.EqualFold(k, "Protocol") && len(v) > 0 {
			proto = v[0]
		}
	}
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	if !strings.Contains(email, "@") {
		writeJSON(http.StatusBadRequest, map[string]string{"ErrorCode": "InvalidUser", "ErrorMessage": "A valid email address is required."})
		return
	}
	ews := h.ewsURL(r)
	switch strings.ToLower(proto) {
	case "ews":
		writeJSON(http.StatusOK, map[string]string{"Protocol": "EWS", "Url": ews})
	case "autodiscoverv1":
		base := ews
		if i := strings.Index(strings.ToLower(base), "/ews/exchange.asmx"); i >= 0 {
			base = base[:i]
		}
		writeJSON(http.StatusOK, map[string]string{"Protocol": "AutodiscoverV1", "Url": base + "/autodiscover/autodiscover.xml"})
	default:
		writeJSON(http.StatusBadRequest, map[string]string{"ErrorCode": "ProtocolNotSupported", "ErrorMessage": "The given protocol value '" + proto + "' is invalid. Supported values are 'EWS' and 'AutodiscoverV1'."})
	}
}
