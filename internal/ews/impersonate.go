package ews

import (
	"regexp"
	"strings"

	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/rbac"
)

// header is what the SOAP header says.
type header struct {
	version       string
	impersonation *node // t:ExchangeImpersonation, nil when absent
}

// Versions a request may state (ExchangeVersionType). Exchange2019 and
// anything else unknown gets ErrorInvalidServerVersion, which makes
// exchangelib step down to Exchange2016.
var knownVersions = map[string]bool{
	"Exchange2007": true, "Exchange2007_SP1": true, "Exchange2009": true, "Exchange2010": true,
	"Exchange2010_SP1": true, "Exchange2010_SP2": true, "Exchange2012": true, "Exchange2013": true,
	"Exchange2013_SP1": true, "Exchange2015": true, "Exchange2016": true,
}

var datedVersion = regexp.MustCompile(`^V20[0-9]{2}_[0-9]{2}_[0-9]{2}$`)

func validVersion(v string) bool { return knownVersions[v] || datedVersion.MatchString(v) }

func parseHeader(h *node) (header, *fault) {
	var out header
	if h == nil {
		return out, nil
	}
	for _, c := range h.Children {
		if c.Space != nsTypes {
			continue
		}
		switch c.Local {
		case "RequestServerVersion":
			v := strings.TrimSpace(c.attr("Version"))
			if v == "" {
				continue // tolerated, as DavMail's first call needs
			}
			if !validVersion(v) {
				return out, &fault{Code: "ErrorInvalidServerVersion", Msg: "The specified server version is invalid."}
			}
			out.version = v
		case "ExchangeImpersonation":
			out.impersonation = c
		case "ManagementRole":
			return out, &fault{Code: "ErrorInvalidManagementRoleHeader", Msg: "The ManagementRole header is not supported by this server."}
		case "OpenAsAdminOrSystemService":
			return out, &fault{Code: "ErrorAccessDenied", Msg: "OpenAsAdminOrSystemService is not supported by this server; use ExchangeImpersonation."}
		}
	}
	return out, nil
}

// Messages of impersonation faults, as Exchange words them.
const (
	msgImpersonationDenied   = "The server to which the application is connected cannot impersonate the requested user due to insufficient permission."
	msgImpersonateUserDenied = "The account does not have permission to impersonate the requested user."
	msgNonExistentMailbox    = "The SMTP address has no mailbox associated with it."
	msgInvalidHeaderData     = "The ExchangeImpersonation SOAP header must contain exactly one of PrincipalName, SID, PrimarySmtpAddress or SmtpAddress, with a value."
)

// establishUser sets the caller and the effective user. With an
// ExchangeImpersonation header it resolves the target and asks rbac.Decide,
// in one consistent directory view, on every request.
func (h *Handler) establishUser(rc *reqCtx, callerID string, hdr header) (f *fault) {
	_ = h.dir.Read(func(s *directory.State) error {
		caller := s.Recipient(callerID)
		if caller == nil {
			f = &fault{Code: "ErrorAccessDenied", Msg: "The account that made the request no longer exists."}
			return nil
		}
		rc.caller, rc.user = caller, caller
		if hdr.impersonation == nil {
			return nil
		}
		target, resolveFault := resolveConnectingSID(s, caller, hdr.impersonation)
		if resolveFault != nil && resolveFault.Code == "ErrorInvalidExchangeImpersonationHeaderData" {
			f = resolveFault
			return nil
		}
		dec := rbac.Decide(s, caller, target)
		switch {
		case dec.Reason == rbac.NoAssignment || dec.Reason == rbac.AllDisabled:
			f = denial("ErrorImpersonationDenied", msgImpersonationDenied, dec)
		case resolveFault != nil:
			f = resolveFault
		case dec.Allowed:
			rc.user, rc.impersonating = target, true
		case dec.Reason == rbac.OutOfScope || dec.Reason == rbac.ExclusiveScope:
			f = denial("ErrorImpersonateUserDenied", msgImpersonateUserDenied, dec)
		case dec.Reason == rbac.TargetOtherOrg || dec.Reason == rbac.TargetUnknown:
			// Worded exactly like an unknown address: never reveal another tenant.
			f = &fault{Code: "ErrorNonExistentMailbox", Msg: msgNonExistentMailbox,
				Values: [][2]string{{"ActasReason", string(rbac.TargetUnknown)}, {"ActasExplanation", "The mailbox to impersonate does not exist."}}}
		default:
			f = denial("ErrorImpersonationFailed", "Impersonation failed.", dec)
		}
		return nil
	})
	return f
}

func denial(code, msg string, dec rbac.Decision) *fault {
	return &fault{Code: code, Msg: msg, Values: [][2]string{{"ActasReason", string(dec.Reason)}, {"ActasExplanation", dec.Message}}}
}

// resolveConnectingSID finds the target of ExchangeImpersonation. A target
// in another organization is returned as is (rbac.Decide answers
// TargetOtherOrg, which is reported like an unknown mailbox); a resolution
// failure comes back as a fault, with target nil.
func resolveConnectingSID(s *directory.State, caller *directory.Recipient, imp *node) (*directory.Recipient, *fault) {
	bad := &fault{Code: "ErrorInvalidExchangeImpersonationHeaderData", Msg: msgInvalidHeaderData}
	sid := imp.child("ConnectingSID")
	if sid == nil || len(sid.Children) != 1 {
		return nil, bad
	}
	id := sid.Children[0]
	v := strings.TrimSpace(id.Text)
	if v == "" || len(id.Children) > 0 {
		return nil, bad
	}
	unknown := func(code, msg string) (*directory.Recipient, *fault) {
		return nil, &fault{Code: code, Msg: msg, Values: [][2]string{{"ActasReason", string(rbac.TargetUnknown)}, {"ActasExplanation", msg}}}
	}
	visible := func(r *directory.Recipient) bool { return r != nil && r.IsMailbox() }
	switch id.Local {
	case "PrimarySmtpAddress":
		r := s.RecipientBySMTP(v)
		if !visible(r) {
			return unknown("ErrorNonExistentMailbox", msgNonExistentMailbox)
		}
		if r.Org == caller.Org && !strings.EqualFold(r.PrimarySmtpAddress, v) {
			return nil, &fault{Code: "ErrorNonPrimarySmtpAddress",
				Msg:    "The SMTP address is not the primary SMTP address of the mailbox. Use the primary SMTP address.",
				Values: [][2]string{{"Primary", r.PrimarySmtpAddress}}}
		}
		return r, nil
	case "SmtpAddress":
		r := s.RecipientBySMTP(v)
		if !visible(r) {
			return unknown("ErrorNonExistentMailbox", msgNonExistentMailbox)
		}
		return r, nil
	case "PrincipalName":
		r := s.RecipientByUPN(v)
		if !visible(r) {
			return unknown("ErrorInvalidUserPrincipalName", "The user principal name in the SOAP header is not valid or not accessible in the directory.")
		}
		return r, nil
	case "SID":
		if !validSID(v) {
			return unknown("ErrorInvalidSid", "The SID in the SOAP header is not valid.")
		}
		r := s.RecipientBySID(v)
		if !visible(r) {
			return unknown("ErrorInvalidSid", "The SID in the SOAP header does not identify a mailbox.")
		}
		return r, nil
	}
	return nil, bad
}

var sidPattern = regexp.MustCompile(`^[Ss]-1-[0-9]+(-[0-9]+){1,15}$`)

func validSID(s string) bool { return sidPattern.MatchString(s) }
