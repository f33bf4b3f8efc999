package analyzer

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/actasmail/actas/internal/adminapi"
	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/ewsclient"
	"github.com/actasmail/actas/internal/opath"
)

// rbacRow is one row of Test-ApplicationImpersonation.
type rbacRow struct {
	Assignment, Scope, ScopeType, Via, Filter, Reason, Decision string
	InScope                                                     bool
}

// rbacAnswer is the decision for one (service account, mailbox) pair.
type rbacAnswer struct {
	Allowed  bool
	Decision string
	Rows     []rbacRow
	// Err is a cmdlet error (e.g. the mailbox does not exist).
	Err *adminapi.Error
}

func str(o *adminapi.Object, name string) string {
	v, ok := o.Get(name)
	if !ok || v == nil {
		return ""
	}
	if list, ok := v.([]any); ok {
		parts := make([]string, len(list))
		for i, x := range list {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

// testImpersonation runs Test-ApplicationImpersonation.
func (r *run) testImpersonation(ctx context.Context, cl *adminapi.Client, mailbox string) (*rbacAnswer, error) {
	cctx, cancel := r.callCtx(ctx)
	defer cancel()
	resp, err := cl.Invoke(cctx, adminapi.Request{Cmdlet: "Test-ApplicationImpersonation",
		Params: map[string]any{"Identity": r.cfg.ServiceAccount, "Resource": mailbox}})
	if err != nil {
		return nil, err
	}
	if resp.Error != nil {
		return &rbacAnswer{Err: resp.Error}, nil
	}
	a := &rbacAnswer{}
	for _, o := range resp.Objects {
		row := rbacRow{Assignment: str(o, "AssignmentName"), Scope: str(o, "AllowedResourceScope"), ScopeType: str(o, "ScopeType"),
			Via: str(o, "AssignedThrough"), Filter: str(o, "RecipientFilter"), Reason: str(o, "Reason"), Decision: str(o, "Decision")}
		if v, ok := o.Get("InScope"); ok {
			row.InScope = v == true
		}
		if row.InScope {
			a.Allowed = true
		}
		if a.Decision == "" {
			a.Decision = row.Decision
		}
		if row.Assignment != "" || row.Reason != "" {
			a.Rows = append(a.Rows, row)
		}
	}
	return a, nil
}

// explainClient is the admin client when given, else the service account
// (Test-ApplicationImpersonation about itself is self-service).
func (r *run) explainClient() (*adminapi.Client, string) {
	if r.cfg.AdminUser != "" {
		return r.adminClient(r.cfg.AdminUser, r.cfg.AdminPassword), r.cfg.AdminUser
	}
	return r.adminClient(r.cfg.ServiceAccount, r.cfg.Password), r.cfg.ServiceAccount
}

var (
	memberOfGroup  = regexp.MustCompile(`(?i)MemberOfGroup\s+-eq\s+'([^']+)'`)
	exclusiveScope = regexp.MustCompile(`exclusive management scope "([^"]+)"`)
)

// groupFromDN returns the CN of a distinguished name (the group's name).
func groupFromDN(dn string) string {
	if strings.HasPrefix(strings.ToUpper(dn), "CN=") {
		rest := dn[3:]
		if i := strings.Index(rest, ","); i >= 0 {
			return rest[:i]
		}
		return rest
	}
	return dn
}

func (r *run) explain(ctx context.Context) {
	s := r.top("Explain: the decision behind the result (Actas)")
	if !r.actas {
		if !r.authOK {
			s.detail("not run: the server was not reached or authentication failed")
		} else {
			s.detail("not run: the server is not Actas (no admin API), so the RBAC decision cannot be read")
		}
		s.done(Skip)
		s.Elapsed = 0
		return
	}
	if !r.cfg.Impersonation {
		r.explainDelegate(ctx, s)
		return
	}
	cl, as := r.explainClient()
	ans, err := r.testImpersonation(ctx, cl, r.cfg.Mailbox)
	if err != nil {
		s.detail("Test-ApplicationImpersonation as %s failed: %v", as, err)
		s.done(Skip)
		return
	}
	s.detail("Test-ApplicationImpersonation -Identity %s -Resource %s (as %s)", r.cfg.ServiceAccount, r.cfg.Mailbox, as)
	if ans.Err != nil {
		s.detail("%s", ans.Err.Message)
		if ans.Err.Category == "PermissionDenied" || strings.Contains(ans.Err.Exception, "CommandNotFound") {
			s.detail("give --admin-user and --admin-password-file to read the decision")
			s.done(Skip)
			return
		}
		// The mailbox does not exist: consistent with ErrorNonExistentMailbox.
		s.done(Fail)
		r.confirm(ans.Err.Message)
		return
	}
	s.detail("Decision: %s", ans.Decision)
	var excluded []string
	for _, row := range ans.Rows {
		if row.Assignment == "" {
			continue
		}
		name := fmt.Sprintf("Assignment %q", row.Assignment)
		if row.Via != "" && row.Via != "Direct" {
			name += " (through " + row.Via + ")"
		}
		name += ", scope " + row.Scope
		if row.ScopeType != "" && row.ScopeType != row.Scope {
			name += " (" + row.ScopeType + ")"
		}
		c := child(s, name)
		if row.Filter != "" {
			c.detail("filter: %s", row.Filter)
		}
		if row.InScope {
			c.detail("admits %s", r.cfg.Mailbox)
			c.done(Pass)
		} else {
			c.detail("excludes %s: %s", r.cfg.Mailbox, row.Reason)
			if row.Filter != "" && r.cfg.AdminUser != "" {
				excluded = append(excluded, r.clauseTrace(ctx, c, row.Filter)...)
			}
			c.done(Fail)
		}
	}
	// Context for the fix commands.
	for _, row := range ans.Rows {
		if row.Assignment != "" && r.ctxMap["Assignment"] == "" {
			r.ctxMap["Assignment"] = row.Assignment
		}
		if row.Filter != "" && r.ctxMap["Scope"] == "" {
			r.ctxMap["Scope"] = row.Scope
		}
		if m := memberOfGroup.FindStringSubmatch(row.Filter); m != nil && r.ctxMap["GroupDN"] == "" {
			r.ctxMap["GroupDN"] = m[1]
			r.ctxMap["Group"] = groupFromDN(m[1])
		}
	}
	if m := exclusiveScope.FindStringSubmatch(ans.Decision); m != nil {
		r.ctxMap["ExclusiveScope"] = m[1]
	}
	if len(excluded) > 0 {
		r.confirm(ans.Decision + " Excluded by the clause " + strings.Join(excluded, "; ") + ".")
	} else {
		r.confirm(ans.Decision)
	}
	// Does EWS agree?
	ewsAllowed, decided := r.ewsImpersonationOutcome(r.getFolderResp, r.getFolderOK)
	switch {
	case decided && ewsAllowed != ans.Allowed:
		s.detail("EWS %s, but Test-ApplicationImpersonation says %s", allowedWord(ewsAllowed), allowedWord(ans.Allowed))
		s.done(Warn)
		r.diag(s, "explain-mismatch", "", "")
	case ans.Allowed:
		s.done(Pass)
	default:
		s.done(Fail)
	}
}

func allowedWord(b bool) string {
	if b {
		return "allowed"
	}
	return "denied"
}

// confirm adds the server's explanation to the access failure's diagnosis.
func (r *run) confirm(text string) {
	for i := range r.diags {
		p := &r.diags[i]
		if strings.HasPrefix(p.step.Name, "GetFolder ") && p.step.Status == Fail {
			p.confirmed = text
		}
	}
}

// ewsImpersonationOutcome says whether an impersonated answer decided the
// impersonation question (allowed, or denied by an impersonation code).
func (r *run) ewsImpersonationOutcome(resp *ewsclient.Response, ok bool) (allowed, decided bool) {
	if ok {
		return true, true
	}
	switch resp.Code() {
	case "ErrorImpersonateUserDenied", "ErrorImpersonationDenied", "ErrorNonExistentMailbox":
		return false, true
	}
	return false, false
}

// clauseTrace evaluates each clause of a scope filter against the mailbox
// on the server (Get-Recipient -Filter "(clause) -and (Guid -eq ...)"), so
// the report names the clause that excluded it.
func (r *run) clauseTrace(ctx context.Context, c *Step, filter string) []string {
	f, err := opath.Parse(filter, directory.RecipientSchema)
	if err != nil {
		return nil
	}
	_, steps := f.Explain(opath.MapRecord{})
	cl := r.adminClient(r.cfg.AdminUser, r.cfg.AdminPassword)
	cctx, cancel := r.callCtx(ctx)
	defer cancel()
	resp, err := cl.Invoke(cctx, adminapi.Request{Cmdlet: "Get-Recipient", Params: map[string]any{"Identity": r.cfg.Mailbox}})
	if err != nil || resp.Error != nil || len(resp.Objects) == 0 {
		return nil
	}
	guid := str(resp.Objects[0], "Guid")
	if guid == "" {
		return nil
	}
	var excluded []string
	for i, st := range steps {
		leaf := i+1 >= len(steps) || steps[i+1].Depth <= st.Depth
		q := fmt.Sprintf("(%s) -and (Guid -eq '%s')", st.Clause, guid)
		out, err := cl.Invoke(cctx, adminapi.Request{Cmdlet: "Get-Recipient", Params: map[string]any{"Filter": q}})
		if err != nil || out.Error != nil {
			return nil
		}
		res := len(out.Objects) > 0
		c.detail("%sclause %s: %v", strings.Repeat("  ", st.Depth), st.Clause, res)
		if leaf && !res {
			excluded = append(excluded, st.Clause)
		}
	}
	if len(excluded) > 0 {
		c.detail("excluded by: %s", strings.Join(excluded, "; "))
	}
	return excluded
}

// explainDelegate reads the folder's permissions (an administrator only).
func (r *run) explainDelegate(ctx context.Context, s *Step) {
	if r.cfg.AdminUser == "" {
		s.detail("not run: explaining delegate access reads Get-MailboxFolderPermission, which needs --admin-user")
		s.done(Skip)
		s.Elapsed = 0
		return
	}
	cl := r.adminClient(r.cfg.AdminUser, r.cfg.AdminPassword)
	cctx, cancel := r.callCtx(ctx)
	defer cancel()
	ident := r.cfg.Mailbox + `:\` + r.folderName
	if r.cfg.Folder == "msgfolderroot" || r.cfg.Folder == "root" {
		ident = r.cfg.Mailbox
	}
	resp, err := cl.Invoke(cctx, adminapi.Request{Cmdlet: "Get-MailboxFolderPermission", Params: map[string]any{"Identity": ident}})
	if err != nil || resp.Error != nil {
		msg := fmt.Sprint(err)
		if resp != nil && resp.Error != nil {
			msg = resp.Error.Message
		}
		s.detail("Get-MailboxFolderPermission -Identity %s: %s", ident, msg)
		s.done(Skip)
		return
	}
	// The service account's display name, to match the User column.
	names := map[string]bool{strings.ToLower(r.cfg.ServiceAccount): true}
	if u, err := cl.Invoke(cctx, adminapi.Request{Cmdlet: "Get-Recipient", Params: map[string]any{"Identity": r.cfg.ServiceAccount}}); err == nil && u.Error == nil && len(u.Objects) > 0 {
		for _, p := range []string{"Name", "DisplayName", "PrimarySmtpAddress", "Alias"} {
			if v := str(u.Objects[0], p); v != "" {
				names[strings.ToLower(v)] = true
			}
		}
	}
	s.detail("Get-MailboxFolderPermission -Identity %s (as %s)", ident, r.cfg.AdminUser)
	var mine, def string
	for _, o := range resp.Objects {
		user, rights := str(o, "User"), str(o, "AccessRights")
		s.detail("  %s: %s", user, rights)
		if names[strings.ToLower(user)] {
			mine = rights
		}
		if strings.EqualFold(user, "Default") {
			def = rights
		}
	}
	switch {
	case mine != "" && r.getFolderOK:
		s.detail("%s holds %s on the folder, which admits it", r.cfg.ServiceAccount, mine)
		s.done(Pass)
	case mine != "":
		s.detail("%s holds %s on the folder", r.cfg.ServiceAccount, mine)
		s.done(Fail)
		r.confirm(fmt.Sprintf("%s holds only %s on %s", r.cfg.ServiceAccount, mine, ident))
	case r.getFolderOK:
		s.detail("%s has no entry of its own; access comes from Default (%s), a group, or FullAccess", r.cfg.ServiceAccount, def)
		s.done(Pass)
	default:
		s.detail("%s has no permission entry on the folder; Default is %s", r.cfg.ServiceAccount, def)
		s.done(Fail)
		r.confirm(fmt.Sprintf("%s has no permission entry on %s (Default: %s)", r.cfg.ServiceAccount, ident, def))
	}
}

// --- sample ---

func (r *run) sample(ctx context.Context) {
	s := r.top(fmt.Sprintf("Sample: %s against %d mailboxes", r.cfg.ServiceAccount, r.cfg.Sample))
	if !r.actas {
		s.detail("--sample reads the organization's mailboxes through the Actas admin API, and this server is not Actas (or was not reached)")
		s.done(Fail)
		s.Elapsed = 0
		r.diag(s, "sample-unavailable", "", "")
		return
	}
	cl, as := r.explainClient()
	cctx, cancel := r.callCtx(ctx)
	resp, err := cl.Invoke(cctx, adminapi.Request{Cmdlet: "Get-Mailbox", Params: map[string]any{}})
	cancel()
	if err != nil || resp.Error != nil {
		msg := fmt.Sprint(err)
		if resp != nil && resp.Error != nil {
			msg = resp.Error.Message
		}
		s.detail("Get-Mailbox as %s: %s", as, msg)
		s.done(Fail)
		r.diag(s, "sample-unavailable", "", "")
		return
	}
	var all []string
	for _, o := range resp.Objects {
		if a := str(o, "PrimarySmtpAddress"); a != "" {
			all = append(all, a)
		}
	}
	sort.Slice(all, func(i, j int) bool { return strings.ToLower(all[i]) < strings.ToLower(all[j]) })
	picked := pick(all, r.cfg.Sample)
	smp := &Sample{Total: len(all)}
	allowed, denied, mismatches := 0, 0, 0
	for _, mb := range picked {
		row := SampleRow{Mailbox: mb}
		ans, err := r.testImpersonation(ctx, cl, mb)
		switch {
		case err != nil:
			row.RBAC, row.Reason = "error", err.Error()
		case ans.Err != nil:
			row.RBAC, row.Reason = "error", ans.Err.Message
		default:
			row.RBAC = allowedWord(ans.Allowed)
			row.Reason = ans.Decision
			for _, x := range ans.Rows {
				if x.InScope {
					row.Assignment, row.Scope = x.Assignment, x.Scope
					break
				}
			}
			if !ans.Allowed {
				row.Reason = shortReason(ans)
			}
		}
		if r.cfg.Impersonation && r.ews != nil {
			opts := ewsclient.Options{Impersonate: &ewsclient.Impersonation{Type: ewsclient.SmtpAddress, Value: mb}, Anchor: mb}
			cctx, cancel := r.callCtx(ctx)
			f, resp, err := r.ews.GetFolder(cctx, opts, ewsclient.FolderRef{ID: r.cfg.Folder})
			cancel()
			switch {
			case err != nil:
				row.EWS = "error"
			case f != nil:
				row.EWS, row.ResponseCode = "allowed", "NoError"
			default:
				row.ResponseCode = resp.Code()
				if row.ResponseCode == "" {
					row.ResponseCode = fmt.Sprintf("HTTP %d", resp.Status)
				}
				row.EWS = "denied"
				if _, decided := r.ewsImpersonationOutcome(resp, false); !decided {
					row.EWS = "error"
				}
			}
			if (row.RBAC == "allowed" || row.RBAC == "denied") && (row.EWS == "allowed" || row.EWS == "denied") && row.RBAC != row.EWS {
				row.Mismatch = true
				mismatches++
			}
		}
		if row.RBAC == "allowed" {
			allowed++
		} else {
			denied++
		}
		smp.Rows = append(smp.Rows, row)
	}
	r.rep.Sample = smp
	s.detail("%d allowed, %d denied, %d disagreements between RBAC and EWS (Test-ApplicationImpersonation as %s)", allowed, denied, mismatches, as)
	if mismatches > 0 {
		s.done(Warn)
		r.diag(s, "explain-mismatch", "", "")
		return
	}
	s.done(Pass)
}

// shortReason is the most specific reason of a denial.
func shortReason(a *rbacAnswer) string {
	for _, x := range a.Rows {
		if x.Reason != "" && x.Assignment != "" {
			return fmt.Sprintf("%s: %s", x.Assignment, x.Reason)
		}
	}
	return a.Decision
}

// pick returns n items spread evenly over all (all of them when n >= len).
func pick(all []string, n int) []string {
	if n >= len(all) {
		return all
	}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, all[i*len(all)/n])
	}
	return out
}
