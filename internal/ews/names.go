package ews

import (
	"strconv"
	"strings"

	"github.com/actasmail/actas/internal/directory"
)

// maxResolutions is how many candidates ResolveNames returns at most.
const maxResolutions = 100

// resolvable are the recipients name resolution can find: mailboxes and
// mail-enabled groups (never role groups).
func resolvable(r *directory.Recipient) bool {
	return r.IsMailbox() || r.IsGroup() && r.Type != directory.RoleGroup
}

func smtpAddresses(r *directory.Recipient) []string {
	var out []string
	for _, a := range r.EmailAddresses {
		if s, ok := directory.SMTPAddress(a); ok {
			out = append(out, s)
		}
	}
	if len(out) == 0 && r.PrimarySmtpAddress != "" {
		out = append(out, r.PrimarySmtpAddress)
	}
	return out
}

// resolveName searches the effective user's organization: exact matches on
// an SMTP address, alias, name or display name win; otherwise prefix
// matches on those and on first and last names.
func (rc *reqCtx) resolveName(entry string) []*directory.Recipient {
	q := strings.TrimSpace(entry)
	if len(q) > 5 && strings.EqualFold(q[:5], "smtp:") {
		q = q[5:]
	}
	lq := strings.ToLower(q)
	if lq == "" {
		return nil
	}
	var exact, prefix []*directory.Recipient
	_ = rc.h.dir.Read(func(s *directory.State) error {
		for _, r := range s.Recipients(rc.user.Org) {
			if !resolvable(r) {
				continue
			}
			isExact, isPrefix := false, false
			for _, a := range smtpAddresses(r) {
				la := strings.ToLower(a)
				isExact = isExact || la == lq
				isPrefix = isPrefix || strings.HasPrefix(la, lq)
			}
			for _, v := range []string{r.Alias, r.Name, r.DisplayName} {
				lv := strings.ToLower(v)
				isExact = isExact || lv != "" && lv == lq
				isPrefix = isPrefix || lv != "" && strings.HasPrefix(lv, lq)
			}
			for _, v := range []string{r.FirstName, r.LastName} {
				isPrefix = isPrefix || v != "" && strings.HasPrefix(strings.ToLower(v), lq)
			}
			switch {
			case isExact:
				exact = append(exact, r)
			case isPrefix:
				prefix = append(prefix, r)
			}
		}
		return nil
	})
	if len(exact) > 0 {
		return exact
	}
	return prefix
}

func mailboxType(r *directory.Recipient) string {
	if r.IsGroup() {
		return "PublicDL"
	}
	return "Mailbox"
}

func writeRecipientMailbox(w *xw, r *directory.Recipient) {
	w.start("t:Mailbox")
	w.elem("t:Name", displayName(r))
	w.elem("t:EmailAddress", r.PrimarySmtpAddress)
	w.elem("t:RoutingType", "SMTP")
	w.elem("t:MailboxType", mailboxType(r))
	w.end("t:Mailbox")
}

func writeContact(w *xw, r *directory.Recipient) {
	w.start("t:Contact")
	w.elem("t:DisplayName", displayName(r))
	if r.FirstName != "" {
		w.elem("t:GivenName", r.FirstName)
	}
	if r.Company != "" {
		w.elem("t:CompanyName", r.Company)
	}
	w.start("t:EmailAddresses")
	for i, a := range smtpAddresses(r) {
		if i >= 3 {
			break
		}
		w.open("t:Entry")
		w.attr("Key", "EmailAddress"+strconv.Itoa(i+1))
		w.openEnd()
		w.text("SMTP:" + a)
		w.end("t:Entry")
	}
	w.end("t:EmailAddresses")
	w.elem("t:ContactSource", "ActiveDirectory")
	if r.Department != "" {
		w.elem("t:Department", r.Department)
	}
	if r.Title != "" {
		w.elem("t:JobTitle", r.Title)
	}
	if r.Office != "" {
		w.elem("t:OfficeLocation", r.Office)
	}
	if r.LastName != "" {
		w.elem("t:Surname", r.LastName)
	}
	w.end("t:Contact")
}

func opResolveNames(rc *reqCtx, op *node, w *xw) error {
	full := op.attr("ReturnFullContactData") == "true" || op.attr("ReturnFullContactData") == "1"
	scope := op.attr("SearchScope")
	beginResponse(w, "ResolveNames")
	for _, ue := range op.all("UnresolvedEntry") {
		var found []*directory.Recipient
		if scope != "Contacts" {
			found = rc.resolveName(ue.Text)
		}
		if len(found) == 0 {
			writeErrorMessage(w, "ResolveNamesResponseMessage", newErr("ErrorNameResolutionNoResults"))
			continue
		}
		if len(found) == 1 {
			okStart(w, "ResolveNamesResponseMessage")
		} else {
			w.raw(`<m:ResolveNamesResponseMessage ResponseClass="Warning">`)
			writeErrorBody(w, newErr("ErrorNameResolutionMultipleResults"))
		}
		total := len(found)
		if len(found) > maxResolutions {
			found = found[:maxResolutions]
		}
		w.open("m:ResolutionSet")
		w.attr("TotalItemsInView", strconv.Itoa(total))
		w.attr("IncludesLastItemInRange", strconv.FormatBool(total <= maxResolutions))
		w.openEnd()
		for _, r := range found {
			w.start("t:Resolution")
			writeRecipientMailbox(w, r)
			if full {
				writeContact(w, r)
			}
			w.end("t:Resolution")
		}
		w.end("m:ResolutionSet")
		w.end("m:ResolveNamesResponseMessage")
	}
	endResponse(w, "ResolveNames")
	return nil
}

func opExpandDL(rc *reqCtx, op *node, w *xw) error {
	beginResponse(w, "ExpandDL")
	addr := op.path("Mailbox", "EmailAddress")
	var members []*directory.Recipient
	var e *ewsErr
	if addr == nil {
		e = newErr("ErrorNameResolutionNoResults", "Only distribution groups named by EmailAddress can be expanded by this server.")
	} else {
		_ = rc.h.dir.Read(func(s *directory.State) error {
			g := s.RecipientBySMTP(strings.TrimSpace(addr.Text))
			if g == nil || g.Org != rc.user.Org || !g.IsGroup() || g.Type == directory.RoleGroup {
				e = newErr("ErrorNameResolutionNoResults")
				return nil
			}
			for _, id := range s.Members(g.ID) {
				if m := s.Recipient(id); m != nil && resolvable(m) {
					members = append(members, m)
				}
			}
			return nil
		})
	}
	if e != nil {
		writeErrorMessage(w, "ExpandDLResponseMessage", e)
	} else {
		okStart(w, "ExpandDLResponseMessage")
		w.open("m:DLExpansion")
		w.attr("TotalItemsInView", strconv.Itoa(len(members)))
		w.attr("IncludesLastItemInRange", "true")
		w.openEnd()
		for _, m := range members {
			writeRecipientMailbox(w, m)
		}
		w.end("m:DLExpansion")
		w.end("m:ExpandDLResponseMessage")
	}
	endResponse(w, "ExpandDL")
	return nil
}
