package cmdlet

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/actasmail/actas/internal/adminapi"
	"github.com/actasmail/actas/internal/auth"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/opath"
	"github.com/actasmail/actas/internal/rbac"
)

// recipientCmdlets are the mailbox, user and recipient cmdlets.
func recipientCmdlets() []*Def {
	id := Param{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true}
	reqID := id
	reqID.Required = true
	str := func(n string) Param { return Param{Name: n, Kind: adminapi.KindString} }
	strs := func(n string) Param { return Param{Name: n, Kind: adminapi.KindStrings} }
	sw := func(n string) Param { return Param{Name: n, Kind: adminapi.KindSwitch} }
	num := func(n string) Param { return Param{Name: n, Kind: adminapi.KindInt} }
	secure := func(n string) Param { return Param{Name: n, Kind: adminapi.KindSecure} }

	setMailbox := []Param{reqID, str("Name"), str("Alias"), str("DisplayName"), str("PrimarySmtpAddress"), strs("EmailAddresses"),
		str("Office"), num("ResourceCapacity"), str("Type"), strs("GrantSendOnBehalfTo"), secure("Password"), sw("Force")}
	for i := 1; i <= 15; i++ {
		setMailbox = append(setMailbox, str("CustomAttribute"+strconv.Itoa(i)))
	}
	return []*Def{
		{Name: "New-Mailbox", Write: true, Run: newMailbox,
			Params: []Param{{Name: "Name", Kind: adminapi.KindString, Position: 1, Required: true},
				str("Alias"), str("DisplayName"), str("FirstName"), str("LastName"), str("UserPrincipalName"),
				str("MicrosoftOnlineServicesID"), secure("Password"), str("PrimarySmtpAddress"),
				sw("Room"), sw("Equipment"), sw("Shared"), num("ResourceCapacity"), sw("ResetPasswordOnNextLogon"),
				str("OrganizationalUnit"), sw("Force")}},
		{Name: "Get-Mailbox", Run: getMailbox,
			Params: []Param{id, str("Filter"), strs("RecipientTypeDetails"), num("ResultSize"), str("Anr")}},
		{Name: "Set-Mailbox", Write: true, Run: setMailboxRun, Params: setMailbox},
		{Name: "Remove-Mailbox", Write: true, Run: removeMailbox,
			Params: []Param{reqID, {Name: "Permanent", Kind: adminapi.KindBool}, sw("Force")}},
		{Name: "Get-User", Run: getUser,
			Params: []Param{id, str("Filter"), strs("RecipientTypeDetails"), num("ResultSize"), str("Anr")}},
		{Name: "Set-User", Write: true, Run: setUser,
			Params: []Param{reqID, str("FirstName"), str("LastName"), str("DisplayName"), str("Department"), str("Company"),
				str("City"), str("Office"), str("Title"), str("Manager"), sw("Force")}},
		{Name: "Get-Recipient", Run: getRecipient,
			Params: []Param{id, str("Filter"), strs("RecipientType"), strs("RecipientTypeDetails"), str("RecipientPreviewFilter"),
				num("ResultSize"), str("Anr")}},
	}
}

// ---------------------------------------------------------------------------
// Identifiers

// newGUID returns a random (version 4) UUID in lower case.
func newGUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newSID returns a security identifier in the organization's "domain":
// S-1-5-21-a-b-c-RID, where a, b and c are derived from the organization id
// (so every principal of one org shares the domain part) and the RID is random.
func newSID(org *d.Org) string {
	sum := sha256.Sum256([]byte(org.ID))
	a, b, c := binary.BigEndian.Uint32(sum[0:4]), binary.BigEndian.Uint32(sum[4:8]), binary.BigEndian.Uint32(sum[8:12])
	n, err := rand.Int(rand.Reader, big.NewInt(1<<30))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return fmt.Sprintf("S-1-5-21-%d-%d-%d-%d", a, b, c, 1100+n.Int64())
}

// uniqueSID returns a SID no recipient uses yet.
func uniqueSID(s *d.State, org *d.Org) string {
	for {
		if sid := newSID(org); s.RecipientBySID(sid) == nil {
			return sid
		}
	}
}

// newLegacyDN returns an Exchange-style LegacyExchangeDN for a recipient.
func newLegacyDN(alias string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return "/o=Actas/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=" + hex.EncodeToString(b[:]) + "-" + alias
}

// ---------------------------------------------------------------------------
// Validation of names, aliases and addresses

// validationError is PowerShell's parameter validation error.
func validationError(param, format string, args ...any) error {
	return &adminapi.Error{
		Message:   fmt.Sprintf("Cannot validate argument on parameter '%s'. ", param) + fmt.Sprintf(format, args...),
		Category:  "InvalidData",
		Exception: "ParameterBindingValidationException",
		ErrorID:   "ParameterArgumentValidationError",
		Target:    param,
	}
}

// checkText validates a free-text property value: at most max characters
// and no control characters.
func checkText(param, v string, max int) error {
	if n := utf8.RuneCountInString(v); n > max {
		return validationError(param, "The character length (%d) of the argument is too long. Shorten the character length of the argument so it is fewer than or equal to \"%d\" characters, and then try the command again.", n, max)
	}
	if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return validationError(param, "The argument contains control characters or invalid UTF-8.")
	}
	return nil
}

// checkRecipientName validates a Name (1-64 characters) and returns it trimmed.
func checkRecipientName(param, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", validationError(param, "The argument is null or empty. Provide an argument that is not null or empty, and then try the command again.")
	}
	if err := checkText(param, v, 64); err != nil {
		return "", err
	}
	return v, nil
}

// kindWord names the kind of an existing recipient in messages.
func kindWord(r *d.Recipient) string {
	switch {
	case r.Type == d.RoleGroup:
		return "role group"
	case r.IsMailbox():
		return "mailbox"
	case r.IsGroup():
		return "group"
	}
	return "recipient"
}

// checkNameFree fails when another recipient of the org already has the name.
func checkNameFree(s *d.State, org, name, selfID string) error {
	if r := s.RecipientByName(org, name); r != nil && r.ID != selfID {
		return duplicate(kindWord(r), name)
	}
	return nil
}

const aliasSpecials = "!#$%&'*+-/=?^_`{|}~"

func aliasRune(r rune) bool {
	return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(aliasSpecials, r)) ||
		r >= 0xA1 && r <= 0xFF
}

// checkAlias validates an alias with Exchange's rules and message.
func checkAlias(a string) error {
	bad := a == "" || utf8.RuneCountInString(a) > 64 || strings.HasPrefix(a, ".") || strings.HasSuffix(a, ".") || strings.Contains(a, "..")
	for _, r := range a {
		if r != '.' && !aliasRune(r) {
			bad = true
		}
	}
	if !bad {
		return nil
	}
	if utf8.RuneCountInString(a) > 64 {
		return validationError("Alias", "The character length (%d) of the argument is too long. Shorten the character length of the argument so it is fewer than or equal to \"64\" characters, and then try the command again.", utf8.RuneCountInString(a))
	}
	return &adminapi.Error{
		Message: fmt.Sprintf("Property expression \"%s\" isn't valid. Valid values are: Strings formed with characters from A to Z (uppercase or lowercase), digits from 0 to 9, !, #, $, %%, &, ', *, +, -, /, =, ?, ^, _, `, {, |, } or ~. "+
			"One or more periods may be embedded in an alias, but each period should be preceded and followed by at least one of the other characters. "+
			"Unicode characters from U+00A1 to U+00FF are also valid in an alias, but they will be mapped to a best-fit US-ASCII string in the email address, which is generated from such an alias.", a),
		Category: "NotSpecified", Exception: "DataValidationException", Target: a,
	}
}

// deriveAlias makes an alias from a name or a UPN's local part: spaces and
// characters an alias can't hold are dropped, periods are kept only between
// other characters. It returns "" when nothing usable is left.
func deriveAlias(src string) string {
	var b strings.Builder
	for _, r := range src {
		if r == '.' || aliasRune(r) {
			b.WriteRune(r)
		}
	}
	a := b.String()
	for strings.Contains(a, "..") {
		a = strings.ReplaceAll(a, "..", ".")
	}
	a = strings.Trim(a, ".")
	if utf8.RuneCountInString(a) > 64 {
		a = strings.TrimRight(string([]rune(a)[:64]), ".")
	}
	return a
}

// latin1ASCII is the best-fit US-ASCII form of U+00C0..U+00FF letters.
var latin1ASCII = map[rune]string{
	'À': "A", 'Á': "A", 'Â': "A", 'Ã': "A", 'Ä': "A", 'Å': "A", 'Æ': "AE", 'Ç': "C", 'È': "E", 'É': "E", 'Ê': "E", 'Ë': "E",
	'Ì': "I", 'Í': "I", 'Î': "I", 'Ï': "I", 'Ð': "D", 'Ñ': "N", 'Ò': "O", 'Ó': "O", 'Ô': "O", 'Õ': "O", 'Ö': "O", 'Ø': "O",
	'Ù': "U", 'Ú': "U", 'Û': "U", 'Ü': "U", 'Ý': "Y", 'Þ': "TH", 'ß': "ss", 'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a",
	'å': "a", 'æ': "ae", 'ç': "c", 'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ð': "d",
	'ñ': "n", 'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y",
	'þ': "th", 'ÿ': "y",
}

// addressLocalPart maps an alias to the local part of its generated address.
func addressLocalPart(alias string) string {
	var b strings.Builder
	for _, r := range alias {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		default:
			b.WriteString(latin1ASCII[r])
		}
	}
	return deriveAlias(b.String())
}

func atextRune(r rune) bool {
	return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(aliasSpecials, r))
}

// parseAddress checks the syntax of an SMTP address (or a UPN) and returns
// its local part and domain.
func parseAddress(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 || len(addr) > 320 {
		return "", "", false
	}
	local, domain = addr[:i], addr[i+1:]
	if len(local) > 64 || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "", "", false
	}
	for _, r := range local {
		if r != '.' && !atextRune(r) {
			return "", "", false
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "", "", false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return "", "", false
		}
		for _, r := range l {
			if !(r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-')) {
				return "", "", false
			}
		}
	}
	return local, domain, true
}

func acceptedDomain(org *d.Org, domain string) bool {
	for _, x := range org.Domains {
		if strings.EqualFold(x, domain) {
			return true
		}
	}
	return false
}

func badAddress(param, addr string) error {
	return &adminapi.Error{
		Message:  fmt.Sprintf("The email address \"%s\" isn't correct. Please use this format: user name, the @ sign, followed by the domain name. For example, tonysmith@contoso.com or tony.smith@contoso.com. (Actas: parameter -%s.)", addr, param),
		Category: "InvalidArgument", Exception: "DataValidationException", Target: addr,
	}
}

func notAcceptedDomain(org *d.Org, addr, domain string) error {
	return &adminapi.Error{
		Message: fmt.Sprintf("The email address \"%s\" uses the domain \"%s\", which isn't an accepted domain of this organization. Accepted domains: %s.",
			addr, domain, strings.Join(org.Domains, ", ")),
		Category: "InvalidArgument", Exception: "DataValidationException", Target: addr,
	}
}

func proxyInUse(s *d.State, org *d.Org, addr string, owner *d.Recipient) error {
	by := "another recipient"
	if owner.Org == org.ID {
		by = fmt.Sprintf("%q", s.DN(owner))
	}
	return &adminapi.Error{
		Message:  fmt.Sprintf("The proxy address \"SMTP:%s\" is already being used by the proxy addresses or LegacyExchangeDN of %s. Please choose another proxy address.", addr, by),
		Category: "NotSpecified", Exception: "ProxyAddressExistsException", Target: addr,
	}
}

// checkSMTP validates an SMTP address for a recipient of org: syntax, an
// accepted domain of the org, and not used by any other recipient.
func checkSMTP(s *d.State, org *d.Org, param, addr, selfID string) (string, error) {
	addr = strings.TrimSpace(addr)
	_, domain, ok := parseAddress(addr)
	if !ok {
		return "", badAddress(param, addr)
	}
	if !acceptedDomain(org, domain) {
		return "", notAcceptedDomain(org, addr, domain)
	}
	if owner := s.RecipientBySMTP(addr); owner != nil && owner.ID != selfID {
		return "", proxyInUse(s, org, addr, owner)
	}
	return addr, nil
}

// generateAddress returns alias@default-domain, or alias2@…, alias3@… when
// taken, as Exchange's address generation does.
func generateAddress(s *d.State, org *d.Org, alias, selfID string) (string, error) {
	local := addressLocalPart(alias)
	if local == "" {
		return "", invalidArg("No email address can be generated from the alias %q; specify -PrimarySmtpAddress.", alias)
	}
	for i := 1; i < 1000; i++ {
		l := local
		if i > 1 {
			l += strconv.Itoa(i)
		}
		addr := l + "@" + org.DefaultDomain()
		if owner := s.RecipientBySMTP(addr); owner == nil || owner.ID == selfID {
			return addr, nil
		}
	}
	return "", invalidArg("No free email address can be generated from the alias %q; specify -PrimarySmtpAddress.", alias)
}

// passwordError wraps a password policy failure; the password is never included.
func passwordError(err error) error {
	return &adminapi.Error{
		Message:  "The password does not comply with the password policy requirements. Check the minimum password length, password complexity and password history requirements. (Actas: " + err.Error() + ".)",
		Category: "InvalidArgument", Exception: "PasswordComplexityException",
	}
}

// hashNewPassword validates and hashes a password.
func hashNewPassword(pw string) (string, error) {
	if err := auth.ValidatePassword(pw); err != nil {
		return "", passwordError(err)
	}
	h, err := auth.HashPassword(pw)
	if err != nil {
		if len(pw) > 72 {
			return "", passwordError(err)
		}
		return "", fmt.Errorf("hash the password: %w", err)
	}
	return h, nil
}

func missingParams(names []string, why string) error {
	return &adminapi.Error{
		Message:  fmt.Sprintf("Cannot process command because of one or more missing mandatory parameters: %s. (Actas: %s)", strings.Join(names, " "), why),
		Category: "InvalidArgument", Exception: "ParameterBindingException", ErrorID: "MissingMandatoryParameter",
	}
}

func paramSetConflict(params ...string) error {
	return &adminapi.Error{
		Message:  fmt.Sprintf("Parameter set cannot be resolved using the specified named parameters. (Actas: -%s can't be used together.)", strings.Join(params, " and -")),
		Category: "InvalidArgument", Exception: "ParameterBindingException", ErrorID: "AmbiguousParameterSet",
	}
}

func enumError(param, value, typeName string, valid []string) error {
	return &adminapi.Error{
		Message: fmt.Sprintf("Cannot bind parameter '%s'. Cannot convert value \"%s\" to type \"%s\". Error: \"Unable to match the identifier name %s to a valid enumerator name. Specify one of the following enumerator names and try again: %s\"",
			param, value, typeName, value, strings.Join(valid, ", ")),
		Category: "InvalidArgument", Exception: "ParameterBindingException", ErrorID: "CannotConvertArgumentNoMessage", Target: value,
	}
}

func notInSet(param, value string, valid []string) error {
	return validationError(param, "The argument \"%s\" does not belong to the set \"%s\" specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again.",
		value, strings.Join(valid, ","))
}

// matchEnum returns the canonical spelling of v among valid.
func matchEnum(v string, valid []string) (string, bool) {
	v = strings.TrimSpace(v)
	for _, x := range valid {
		if strings.EqualFold(x, v) {
			return x, true
		}
	}
	return "", false
}

// ---------------------------------------------------------------------------
// New-Mailbox

// MailboxSpec describes a mailbox to create (New-Mailbox and the
// organization bootstrap).
type MailboxSpec struct {
	Name, Alias, DisplayName, FirstName, LastName, UPN, PrimarySmtpAddress, Password string
	Type                                                                             string // d.UserMailbox, d.RoomMailbox, d.EquipmentMailbox or d.SharedMailbox
	ResourceCapacity                                                                 int
}

// buildMailbox validates a mailbox specification against the state and
// returns the new recipient (not yet stored). It reads the organization
// from org, not from s, so it works while the organization itself is being
// created in the same transaction. Errors are EMS-style *adminapi.Error
// values, except internal failures.
func buildMailbox(s *d.State, org *d.Org, spec MailboxSpec, now time.Time) (*d.Recipient, error) {
	if org == nil || len(org.Domains) == 0 {
		return nil, errors.New("build mailbox: the organization has no accepted domain")
	}
	switch spec.Type {
	case d.UserMailbox, d.RoomMailbox, d.EquipmentMailbox, d.SharedMailbox:
	default:
		return nil, fmt.Errorf("build mailbox: unsupported mailbox type %q", spec.Type)
	}
	name, err := checkRecipientName("Name", spec.Name)
	if err != nil {
		return nil, err
	}
	if err := checkNameFree(s, org.ID, name, ""); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		param, v string
		max      int
	}{{"DisplayName", spec.DisplayName, 256}, {"FirstName", spec.FirstName, 64}, {"LastName", spec.LastName, 64}} {
		if err := checkText(f.param, f.v, f.max); err != nil {
			return nil, err
		}
	}
	upn := strings.TrimSpace(spec.UPN)
	if spec.Type == d.UserMailbox {
		var missing []string
		if upn == "" {
			missing = append(missing, "UserPrincipalName")
		}
		if spec.Password == "" {
			missing = append(missing, "Password")
		}
		if len(missing) > 0 {
			return nil, missingParams(missing, "a user mailbox needs -UserPrincipalName (or -MicrosoftOnlineServicesID) and -Password; add -Room, -Equipment or -Shared for a mailbox without its own sign-in.")
		}
	}
	var upnLocal string
	if upn != "" {
		local, domain, ok := parseAddress(upn)
		if !ok {
			return nil, invalidArg("The user principal name %q isn't valid. Use the form name@domain, where domain is an accepted domain of the organization.", upn)
		}
		if !acceptedDomain(org, domain) {
			return nil, invalidArg("The user principal name %q uses the domain %q, which isn't an accepted domain of this organization. Accepted domains: %s.", upn, domain, strings.Join(org.Domains, ", "))
		}
		if owner := s.RecipientByUPN(upn); owner != nil {
			return nil, &adminapi.Error{Message: fmt.Sprintf("The user principal name \"%s\" is already being used. Please try another user principal name.", upn),
				Category: "NotSpecified", Exception: "ADObjectAlreadyExistsException", Target: upn}
		}
		upnLocal = local
	}

	alias := strings.TrimSpace(spec.Alias)
	if alias != "" {
		if err := checkAlias(alias); err != nil {
			return nil, err
		}
	} else {
		src := name
		if spec.Type == d.UserMailbox {
			src = upnLocal
		}
		if alias = deriveAlias(src); alias == "" {
			return nil, invalidArg("No alias can be derived from %q; specify -Alias.", src)
		}
	}

	eap := true
	var primary string
	if spec.PrimarySmtpAddress != "" {
		if primary, err = checkSMTP(s, org, "PrimarySmtpAddress", spec.PrimarySmtpAddress, ""); err != nil {
			return nil, err
		}
		eap = false
	} else if primary, err = generateAddress(s, org, alias, ""); err != nil {
		return nil, err
	}
	if upn == "" && s.RecipientByUPN(primary) == nil {
		// Exchange gives resource mailboxes a UPN too; it makes a later
		// conversion to a regular mailbox possible.
		upn = primary
	}

	if spec.ResourceCapacity < 0 {
		return nil, validationError("ResourceCapacity", "The %d argument is less than the minimum allowed range of 0. Supply an argument that is greater than or equal to 0 and then try the command again.", spec.ResourceCapacity)
	}
	if spec.ResourceCapacity > 0 && spec.Type != d.RoomMailbox && spec.Type != d.EquipmentMailbox {
		return nil, invalidArg("-ResourceCapacity applies only to room and equipment mailboxes.")
	}

	r := &d.Recipient{
		ID: newGUID(), Org: org.ID, Type: spec.Type, Name: name, Alias: alias,
		DisplayName: strings.TrimSpace(spec.DisplayName), FirstName: strings.TrimSpace(spec.FirstName), LastName: strings.TrimSpace(spec.LastName),
		PrimarySmtpAddress: primary, EmailAddresses: []string{"SMTP:" + primary}, UserPrincipalName: upn,
		SID: uniqueSID(s, org), LegacyExchangeDN: newLegacyDN(alias), ResourceCapacity: spec.ResourceCapacity,
		EmailAddressPolicyEnabled: eap, WhenCreated: now, WhenChanged: now,
	}
	if r.DisplayName == "" {
		r.DisplayName = name
	}
	if spec.Password != "" {
		if r.PasswordHash, err = hashNewPassword(spec.Password); err != nil {
			return nil, err
		}
	} else {
		r.AccountDisabled = true
	}
	return r, nil
}

func newMailbox(c *Call) error {
	typ := d.UserMailbox
	var kinds []string
	for _, k := range []struct{ sw, typ string }{{"Room", d.RoomMailbox}, {"Equipment", d.EquipmentMailbox}, {"Shared", d.SharedMailbox}} {
		if c.Bool(k.sw) {
			kinds = append(kinds, k.sw)
			typ = k.typ
		}
	}
	if len(kinds) > 1 {
		return paramSetConflict(kinds...)
	}
	upn := c.Str("UserPrincipalName")
	if m := c.Str("MicrosoftOnlineServicesID"); m != "" {
		if upn != "" && !strings.EqualFold(upn, m) {
			return invalidArg("-UserPrincipalName and -MicrosoftOnlineServicesID name the same thing; give one of them (or the same value).")
		}
		upn = m
	}
	capacity, hasCap := c.Int("ResourceCapacity")
	if hasCap && typ != d.RoomMailbox {
		return invalidArg("-ResourceCapacity can be used only with -Room.")
	}
	if c.Str("OrganizationalUnit") != "" {
		c.Warn("Actas organizations have no organizational units; -OrganizationalUnit %q was ignored.", c.Str("OrganizationalUnit"))
	}
	if c.Bool("ResetPasswordOnNextLogon") {
		c.Warn("Actas can't require a password change at the next sign-in; -ResetPasswordOnNextLogon was ignored.")
	}
	r, err := buildMailbox(c.S, c.Org, MailboxSpec{
		Name: c.Str("Name"), Alias: c.Str("Alias"), DisplayName: c.Str("DisplayName"), FirstName: c.Str("FirstName"),
		LastName: c.Str("LastName"), UPN: upn, PrimarySmtpAddress: c.Str("PrimarySmtpAddress"), Password: c.Str("Password"),
		Type: typ, ResourceCapacity: capacity,
	}, c.Now())
	if err != nil {
		return err
	}
	if err := c.Tx.PutRecipient(r); err != nil {
		return fmt.Errorf("store mailbox %q: %w", r.Name, err)
	}
	id := r.ID
	c.EmitAfterCommit(func(s *d.State) *adminapi.Object { return renderMailbox(s, s.Recipient(id)) })
	return nil
}

// ---------------------------------------------------------------------------
// Listing (Get-*)

// RecipientTypeDetails values some cmdlets accept beyond d.RecipientTypeDetailsValues.
var extraTypeDetails = []string{"DisabledUser", "LinkedUser", "NonUniversalGroup", "UniversalDistributionGroup", "UniversalSecurityGroup", "User"}

var (
	mailboxTypeDetails = []string{"DiscoveryMailbox", "EquipmentMailbox", "GroupMailbox", "LegacyMailbox", "LinkedMailbox", "LinkedRoomMailbox",
		"RoomMailbox", "SchedulingMailbox", "SharedMailbox", "TeamMailbox", "UserMailbox"}
	userTypeDetails = []string{"DisabledUser", "DiscoveryMailbox", "EquipmentMailbox", "GuestMailUser", "LegacyMailbox", "LinkedMailbox",
		"LinkedRoomMailbox", "LinkedUser", "MailUser", "RemoteEquipmentMailbox", "RemoteRoomMailbox", "RemoteSharedMailbox",
		"RemoteUserMailbox", "RoomMailbox", "SchedulingMailbox", "SharedMailbox", "TeamMailbox", "User", "UserMailbox"}
	recipientTypeDetails = func() []string {
		var out []string
		for _, v := range d.RecipientTypeDetailsValues {
			if v != d.RoleGroup {
				out = append(out, v)
			}
		}
		return out
	}()
	// recipientTypes are the -RecipientType values of Get-Recipient.
	recipientTypes = []string{"DynamicDistributionGroup", "MailContact", "MailNonUniversalGroup", "MailUniversalDistributionGroup",
		"MailUniversalSecurityGroup", "MailUser", "PublicFolder", "UserMailbox"}
	// detailsOfType says which RecipientTypeDetails belong to each RecipientType.
	detailsOfType = map[string][]string{
		"UserMailbox": {"UserMailbox", "RoomMailbox", "EquipmentMailbox", "SharedMailbox", "LinkedMailbox", "LinkedRoomMailbox",
			"DiscoveryMailbox", "LegacyMailbox", "SchedulingMailbox", "TeamMailbox", "PublicFolderMailbox"},
		"MailUser": {"MailUser", "RemoteUserMailbox", "RemoteRoomMailbox", "RemoteEquipmentMailbox", "RemoteSharedMailbox",
			"RemoteTeamMailbox", "GuestMailUser", "SharedWithMailUser"},
		"MailContact":                    {"MailContact", "MailForestContact"},
		"MailUniversalDistributionGroup": {"MailUniversalDistributionGroup", "RoomList", "GroupMailbox"},
		"MailUniversalSecurityGroup":     {"MailUniversalSecurityGroup"},
		"MailNonUniversalGroup":          {"MailNonUniversalGroup"},
		"DynamicDistributionGroup":       {"DynamicDistributionGroup"},
		"PublicFolder":                   {"PublicFolder"},
	}
)

// splitValues flattens a multi-valued enum parameter, accepting
// comma-separated strings too ("UserMailbox,SharedMailbox").
func splitValues(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// parseTypeDetails validates -RecipientTypeDetails against the values the
// cmdlet accepts and returns them in canonical case (nil when not given).
func parseTypeDetails(c *Call, valid []string) (map[string]bool, error) {
	if !c.Has("RecipientTypeDetails") {
		return nil, nil
	}
	all := append(append([]string(nil), d.RecipientTypeDetailsValues...), extraTypeDetails...)
	out := map[string]bool{}
	for _, v := range splitValues(c.List("RecipientTypeDetails")) {
		canon, ok := matchEnum(v, all)
		if !ok {
			sorted := append([]string(nil), all...)
			sort.Strings(sorted)
			return nil, enumError("RecipientTypeDetails", v, "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails", sorted)
		}
		if _, ok := matchEnum(canon, valid); !ok {
			return nil, notInSet("RecipientTypeDetails", canon, valid)
		}
		out[canon] = true
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// resultLimit returns the -ResultSize limit: 1000 by default, -1 for Unlimited.
func resultLimit(c *Call) (int, error) {
	n, ok := c.Int("ResultSize")
	if !ok {
		if c.Has("ResultSize") {
			return 0, validationError("ResultSize", "The argument is null. Specify a positive number or Unlimited.")
		}
		return 1000, nil
	}
	if n == -1 {
		return -1, nil
	}
	if n <= 0 {
		return 0, validationError("ResultSize", "The value %d isn't valid. Specify a positive number or Unlimited.", n)
	}
	return n, nil
}

// limitResults truncates a result list to the limit with EMS's warnings.
func limitResults[T any](c *Call, items []T, limit int) []T {
	if limit < 0 || len(items) <= limit {
		return items
	}
	if c.Has("ResultSize") {
		c.Warn("There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.")
	} else {
		c.Warn("By default, only the first %d items are returned. Use the ResultSize parameter to specify the number of items returned. To return all items, specify \"-ResultSize Unlimited\". Be aware that, depending upon the actual number of items, returning all items can take a long time and consume a large amount of memory. Also, we don't recommend storing the results in a variable. Instead, pipe the results to another task or script to perform batch changes.", limit)
	}
	return items[:limit]
}

// anrMatch is ambiguous name resolution: a prefix match on name, display
// name, first and last name (and both orders of "first last"), alias, and
// SMTP addresses.
func anrMatch(r *d.Recipient, q string) bool {
	q = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(q, "SMTP:"), "smtp:")))
	if q == "" {
		return false
	}
	cands := []string{r.Name, r.DisplayName, r.FirstName, r.LastName, r.Alias,
		strings.TrimSpace(r.FirstName + " " + r.LastName), strings.TrimSpace(r.LastName + " " + r.FirstName)}
	for _, a := range r.EmailAddresses {
		if addr, ok := d.SMTPAddress(a); ok {
			cands = append(cands, addr)
		}
	}
	for _, x := range cands {
		if x != "" && strings.HasPrefix(strings.ToLower(x), q) {
			return true
		}
	}
	return false
}

// parseFilterParam parses an OPATH parameter; a bad filter is a binding error
// naming the parameter.
func parseFilterParam(c *Call, param string, schema opath.Schema) (*opath.Filter, error) {
	if !c.Has(param) || c.Str(param) == "" {
		return nil, nil
	}
	f, err := opath.Parse(c.Str(param), schema)
	if err != nil {
		return nil, bindFilterError(param, err)
	}
	return f, nil
}

// listSpec describes one Get-* recipient listing.
type listSpec struct {
	kinds   d.Kinds
	schema  opath.Schema // of -Filter
	details []string     // the -RecipientTypeDetails values the cmdlet accepts
	extra   func(*d.Recipient) bool
}

// listRecipients runs the common part of the Get-* recipient cmdlets:
// -Identity (one object, or every match of a wildcard), -Anr, -Filter,
// -RecipientTypeDetails and -ResultSize.
func listRecipients(c *Call, spec listSpec) ([]*d.Recipient, error) {
	idv := strings.TrimSpace(c.Str("Identity"))
	if idv != "" && c.Has("Anr") {
		return nil, paramSetConflict("Identity", "Anr")
	}
	limit, err := resultLimit(c)
	if err != nil {
		return nil, err
	}
	filter, err := parseFilterParam(c, "Filter", spec.schema)
	if err != nil {
		return nil, err
	}
	details, err := parseTypeDetails(c, spec.details)
	if err != nil {
		return nil, err
	}
	var cands []*d.Recipient
	switch {
	case strings.Contains(idv, "*"):
		cands = c.S.Find(c.Org.ID, idv, spec.kinds)
	case idv != "":
		// One object or an error: two matches are ambiguous, as in Exchange.
		r, err := c.S.Resolve(c.Org.ID, idv, spec.kinds, false)
		if err != nil {
			return nil, err
		}
		cands = []*d.Recipient{r}
	default:
		for _, r := range c.S.Recipients(c.Org.ID) {
			if spec.kinds(r) {
				cands = append(cands, r)
			}
		}
	}
	anr := c.Str("Anr")
	var out []*d.Recipient
	for _, r := range cands {
		switch {
		case filter != nil && !filter.Match(d.Record{S: c.S, R: r}),
			details != nil && !details[r.Type],
			c.Has("Anr") && !anrMatch(r, anr),
			spec.extra != nil && !spec.extra(r):
			continue
		}
		out = append(out, r)
	}
	if idv != "" && !strings.Contains(idv, "*") && len(out) == 0 {
		return nil, &d.NotFoundError{Identity: idv}
	}
	sortByName(out)
	return limitResults(c, out, limit), nil
}

func sortByName(rs []*d.Recipient) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := strings.ToLower(rs[i].Name), strings.ToLower(rs[j].Name)
		if a != b {
			return a < b
		}
		return rs[i].ID < rs[j].ID
	})
}

// emitRecipients runs a Get-* recipient cmdlet: list, then render each.
func emitRecipients(c *Call, spec listSpec, render func(*d.State, *d.Recipient) *adminapi.Object) error {
	rs, err := listRecipients(c, spec)
	if err != nil {
		return err
	}
	for _, r := range rs {
		c.Emit(render(c.S, r))
	}
	return nil
}

func getMailbox(c *Call) error {
	return emitRecipients(c, listSpec{kinds: d.Mailboxes, schema: d.MailboxSchema, details: mailboxTypeDetails}, renderMailbox)
}

func getUser(c *Call) error {
	return emitRecipients(c, listSpec{kinds: d.Mailboxes, schema: d.RecipientSchema, details: userTypeDetails}, renderUser)
}

func getRecipient(c *Call) error {
	if c.Has("RecipientPreviewFilter") && (c.Str("Identity") != "" || c.Has("Anr")) {
		if c.Str("Identity") != "" {
			return paramSetConflict("Identity", "RecipientPreviewFilter")
		}
		return paramSetConflict("Anr", "RecipientPreviewFilter")
	}
	var types map[string]bool
	if c.Has("RecipientType") {
		types = map[string]bool{}
		for _, v := range splitValues(c.List("RecipientType")) {
			canon, ok := matchEnum(v, recipientTypes)
			if !ok {
				return enumError("RecipientType", v, "Microsoft.Exchange.Data.Directory.Recipient.RecipientType", recipientTypes)
			}
			types[canon] = true
		}
		if len(types) == 0 {
			types = nil
		}
	}
	details, err := parseTypeDetails(c, recipientTypeDetails)
	if err != nil {
		return err
	}
	if types != nil && details != nil {
		ok := false
		for t := range types {
			for _, x := range detailsOfType[t] {
				ok = ok || details[x]
			}
		}
		if !ok {
			return invalidArg("None of the specified RecipientTypeDetails are included in any specified recipient type.")
		}
	}
	preview, err := parseFilterParam(c, "RecipientPreviewFilter", d.RecipientSchema)
	if err != nil {
		return err
	}
	rs, err := listRecipients(c, listSpec{kinds: d.AnyRecipient, schema: d.RecipientSchema, details: recipientTypeDetails,
		extra: func(r *d.Recipient) bool {
			if types != nil && !types[r.RecipientType()] {
				return false
			}
			return preview == nil || preview.Match(d.Record{S: c.S, R: r})
		}})
	if err != nil {
		return err
	}
	for _, r := range rs {
		c.Emit(renderReducedRecipient(c.S, r))
	}
	return nil
}

// ---------------------------------------------------------------------------
// Changes to existing recipients

// unchanged reports whether a modified clone equals the original, ignoring
// WhenChanged and nil-versus-empty lists.
func unchanged(old, cur *d.Recipient) bool {
	a, b := old.Clone(), cur.Clone()
	a.WhenChanged, b.WhenChanged = time.Time{}, time.Time{}
	for _, r := range []*d.Recipient{a, b} {
		if len(r.EmailAddresses) == 0 {
			r.EmailAddresses = nil
		}
		if len(r.ManagedBy) == 0 {
			r.ManagedBy = nil
		}
		if len(r.GrantSendOnBehalfTo) == 0 {
			r.GrantSendOnBehalfTo = nil
		}
	}
	return reflect.DeepEqual(a, b)
}

// saveChanged stores a modified recipient, or warns like EMS when nothing changed.
func saveChanged(c *Call, old, cur *d.Recipient) error {
	if unchanged(old, cur) {
		c.Warn("The command completed successfully but no settings of '%s' have been modified.", old.Name)
		return nil
	}
	cur.WhenChanged = c.Now()
	if err := c.Tx.PutRecipient(cur); err != nil {
		return fmt.Errorf("store %q: %w", cur.Name, err)
	}
	return nil
}

// setName applies -Name.
func setName(c *Call, r *d.Recipient) error {
	if !c.Has("Name") {
		return nil
	}
	n, err := checkRecipientName("Name", c.Str("Name"))
	if err != nil {
		return err
	}
	if err := checkNameFree(c.S, r.Org, n, r.ID); err != nil {
		return err
	}
	r.Name = n
	return nil
}

// setDisplayName applies -DisplayName ($null clears it back to the name).
func setDisplayName(c *Call, r *d.Recipient) error {
	if !c.Has("DisplayName") {
		return nil
	}
	v := strings.TrimSpace(c.Str("DisplayName"))
	if err := checkText("DisplayName", v, 256); err != nil {
		return err
	}
	if v == "" {
		return validationError("DisplayName", "The argument is null or empty. Provide an argument that is not null or empty, and then try the command again.")
	}
	r.DisplayName = v
	return nil
}

// setAddresses applies -Alias, -PrimarySmtpAddress and -EmailAddresses to a
// mail-enabled recipient, with email address policy behaviour: when the
// policy applies, a new alias brings a new primary address (the old one is
// kept as a proxy); setting the primary address yourself turns it off.
func setAddresses(c *Call, r *d.Recipient) error {
	if c.Has("PrimarySmtpAddress") && c.Has("EmailAddresses") {
		return paramSetConflict("PrimarySmtpAddress", "EmailAddresses")
	}
	org := c.Org
	if c.Has("Alias") {
		a := strings.TrimSpace(c.Str("Alias"))
		if err := checkAlias(a); err != nil {
			return err
		}
		if a != r.Alias {
			r.Alias = a
			if r.EmailAddressPolicyEnabled && !c.Has("PrimarySmtpAddress") && !c.Has("EmailAddresses") {
				addr, err := generateAddress(c.S, org, a, r.ID)
				if err != nil {
					return err
				}
				r.EmailAddresses = withPrimary(r.EmailAddresses, addr)
			}
		}
	}
	if c.Has("PrimarySmtpAddress") {
		addr, err := checkSMTP(c.S, org, "PrimarySmtpAddress", c.Str("PrimarySmtpAddress"), r.ID)
		if err != nil {
			return err
		}
		r.EmailAddresses = withPrimary(r.EmailAddresses, addr)
		r.EmailAddressPolicyEnabled = false
	}
	if m, ok := c.Multi("EmailAddresses"); ok {
		list, err := applyEmailAddresses(c, r, m)
		if err != nil {
			return err
		}
		r.EmailAddresses = list
	}
	newPrimary := primaryOf(r.EmailAddresses)
	if newPrimary == "" {
		return invalidArg("A mail-enabled recipient needs a primary SMTP address (an \"SMTP:\" entry in EmailAddresses).")
	}
	if c.Has("EmailAddresses") && !strings.EqualFold(newPrimary, r.PrimarySmtpAddress) {
		r.EmailAddressPolicyEnabled = false
	}
	r.PrimarySmtpAddress = newPrimary
	return nil
}

// primaryOf returns the address of the "SMTP:" entry.
func primaryOf(list []string) string {
	for _, e := range list {
		if strings.HasPrefix(e, "SMTP:") {
			return e[len("SMTP:"):]
		}
	}
	return ""
}

// withPrimary makes addr the primary SMTP address, demoting the old primary
// to a proxy and dropping any other entry for addr.
func withPrimary(list []string, addr string) []string {
	out := []string{"SMTP:" + addr}
	for _, e := range list {
		a, ok := d.SMTPAddress(e)
		switch {
		case ok && strings.EqualFold(a, addr):
		case strings.HasPrefix(e, "SMTP:"):
			out = append(out, "smtp:"+e[len("SMTP:"):])
		default:
			out = append(out, e)
		}
	}
	return out
}

// emailEntry normalizes one -EmailAddresses value: a bare address is SMTP;
// "SMTP:" (upper case) marks the primary. Actas keeps SMTP and X500 entries.
func emailEntry(c *Call, r *d.Recipient, v string) (entry string, primary bool, err error) {
	v = strings.TrimSpace(v)
	prefix, addr := "smtp", v
	if i := strings.IndexByte(v, ':'); i > 0 {
		prefix, addr = v[:i], v[i+1:]
	}
	switch {
	case prefix == "SMTP" || strings.EqualFold(prefix, "smtp"):
		a, err := checkSMTP(c.S, c.Org, "EmailAddresses", addr, r.ID)
		if err != nil {
			return "", false, err
		}
		if prefix == "SMTP" {
			return "SMTP:" + a, true, nil
		}
		return "smtp:" + a, false, nil
	case strings.EqualFold(prefix, "x500"):
		if !strings.HasPrefix(addr, "/") {
			return "", false, invalidArg("The X500 address %q isn't valid: it must start with \"/o=\".", v)
		}
		return prefix + ":" + addr, false, nil
	}
	return "", false, invalidArg("The address %q has the type %q; Actas supports SMTP and X500 addresses only.", v, prefix)
}

// applyEmailAddresses computes the new EmailAddresses list from a
// replacement list or @{Add=...; Remove=...}.
func applyEmailAddresses(c *Call, r *d.Recipient, m multi) ([]string, error) {
	key := func(e string) string {
		if a, ok := d.SMTPAddress(e); ok {
			return "smtp:" + strings.ToLower(a)
		}
		return strings.ToLower(e)
	}
	if m.IsReplace {
		var out []string
		seen := map[string]bool{}
		primaries := 0
		for _, v := range m.Replace {
			e, p, err := emailEntry(c, r, v)
			if err != nil {
				return nil, err
			}
			if p {
				primaries++
			}
			if !seen[key(e)] {
				seen[key(e)] = true
				out = append(out, e)
			}
		}
		if primaries > 1 {
			return nil, invalidArg("Only one address can be the primary SMTP address (\"SMTP:\" in upper case).")
		}
		if primaries == 0 {
			// As in Exchange: without an "SMTP:" entry the first SMTP address is primary.
			for i, e := range out {
				if a, ok := d.SMTPAddress(e); ok {
					out[i] = "SMTP:" + a
					break
				}
			}
		}
		return out, nil
	}
	out := append([]string(nil), r.EmailAddresses...)
	for _, v := range m.Remove {
		e, _, err := emailEntryLoose(v)
		if err != nil {
			return nil, err
		}
		kept := out[:0:0]
		for _, x := range out {
			if key(x) == key(e) {
				if strings.HasPrefix(x, "SMTP:") {
					return nil, invalidOp("The primary SMTP address %q can't be removed. Make another address primary first (-PrimarySmtpAddress).", x[len("SMTP:"):])
				}
				continue
			}
			kept = append(kept, x)
		}
		out = kept
	}
	for _, v := range m.Add {
		e, p, err := emailEntry(c, r, v)
		if err != nil {
			return nil, err
		}
		if p {
			out = withPrimary(out, e[len("SMTP:"):])
			continue
		}
		dup := false
		for _, x := range out {
			dup = dup || key(x) == key(e)
		}
		if !dup {
			out = append(out, e)
		}
	}
	return out, nil
}

// emailEntryLoose parses an address to remove, without ownership checks.
func emailEntryLoose(v string) (string, bool, error) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ':'); i > 0 && !strings.EqualFold(v[:i], "smtp") {
		return v, false, nil
	}
	if a, ok := d.SMTPAddress(v); ok {
		return "smtp:" + a, false, nil
	}
	return "", false, invalidArg("%q isn't an email address.", v)
}

// resolveRefs resolves the recipients named by a referencing parameter.
func resolveRefs(c *Call, vals []string, kinds d.Kinds) ([]*d.Recipient, error) {
	var out []*d.Recipient
	seen := map[string]bool{}
	for _, v := range vals {
		if strings.TrimSpace(v) == "" {
			continue
		}
		r, err := c.S.Resolve(c.Org.ID, v, kinds, true)
		if err != nil {
			return nil, err
		}
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// applyLinks computes a new list of recipient ids from a replacement list
// or @{Add=...; Remove=...}.
func applyLinks(c *Call, cur []string, m multi, kinds d.Kinds) ([]string, error) {
	if m.IsReplace {
		rs, err := resolveRefs(c, m.Replace, kinds)
		if err != nil {
			return nil, err
		}
		out := make([]string, 0, len(rs))
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out, nil
	}
	out := append([]string(nil), cur...)
	rem, err := resolveRefs(c, m.Remove, d.UsersOrGroups)
	if err != nil {
		return nil, err
	}
	for _, r := range rem {
		out = without(out, r.ID)
	}
	add, err := resolveRefs(c, m.Add, kinds)
	if err != nil {
		return nil, err
	}
	for _, r := range add {
		if !contains(out, r.ID) {
			out = append(out, r.ID)
		}
	}
	return out, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func without(list []string, v string) []string {
	out := make([]string, 0, len(list))
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// sendOnBehalfKinds are the recipients -GrantSendOnBehalfTo accepts:
// mailboxes and mail-enabled security groups.
var sendOnBehalfKinds d.Kinds = func(r *d.Recipient) bool { return r.IsMailbox() || r.Type == d.MailUniversalSecurityGroup }

var mailboxTypeParam = []string{"Regular", "Room", "Equipment", "Shared"}

func setMailboxRun(c *Call) error {
	target, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	if err != nil {
		return err
	}
	if err := rbac.CanWrite(c.S, c.Caller, "Set-Mailbox", target); err != nil {
		return err
	}
	r := target.Clone()
	if err := setName(c, r); err != nil {
		return err
	}
	if err := setDisplayName(c, r); err != nil {
		return err
	}
	if err := setAddresses(c, r); err != nil {
		return err
	}
	for i := 1; i <= 15; i++ {
		p := "CustomAttribute" + strconv.Itoa(i)
		if c.Has(p) {
			if err := checkText(p, c.Str(p), 1024); err != nil {
				return err
			}
			r.CustomAttributes[i-1] = c.Str(p)
		}
	}
	if c.Has("Office") {
		if err := checkText("Office", c.Str("Office"), 128); err != nil {
			return err
		}
		r.Office = strings.TrimSpace(c.Str("Office"))
	}
	if c.Has("Type") {
		t, ok := matchEnum(c.Str("Type"), mailboxTypeParam)
		if !ok {
			return enumError("Type", c.Str("Type"), "Microsoft.Exchange.Management.RecipientTasks.ConvertibleMailboxSubType", mailboxTypeParam)
		}
		nt := map[string]string{"Regular": d.UserMailbox, "Room": d.RoomMailbox, "Equipment": d.EquipmentMailbox, "Shared": d.SharedMailbox}[t]
		if nt != r.Type {
			if r.ID == c.Caller.ID {
				return invalidOp("You can't convert your own mailbox to a %s mailbox: its account would be disabled and you couldn't sign in any more.", strings.ToLower(t))
			}
			if nt != d.UserMailbox {
				if err := keepAdministrator(c, r, "convert"); err != nil {
					return err
				}
			}
			if r.Type == d.RoomMailbox {
				for _, g := range c.S.MemberOf(r.ID) {
					if gr := c.S.Recipient(g); gr != nil && gr.Type == d.RoomList {
						c.Warn("%q is a member of the room list %q, which should contain only room mailboxes.", r.Name, gr.Name)
					}
				}
			}
			switch nt {
			case d.UserMailbox:
				if r.UserPrincipalName == "" {
					return invalidOp("%q has no user principal name, so it can't become a regular mailbox that someone signs in to.", r.Name)
				}
				if r.PasswordHash == "" && !c.Has("Password") {
					c.Warn("The account of %q has no password and stays disabled; set one with Set-Mailbox -Password so that it can sign in.", r.Name)
				}
			default:
				// Converting to a resource or shared mailbox disables its account, as on-premises.
				r.AccountDisabled, r.PasswordHash = true, ""
			}
			if nt != d.RoomMailbox && nt != d.EquipmentMailbox {
				r.ResourceCapacity = 0
			}
			r.Type = nt
		}
	}
	if capacity, ok := c.Int("ResourceCapacity"); ok || c.Has("ResourceCapacity") {
		if capacity < 0 {
			return validationError("ResourceCapacity", "The %d argument is less than the minimum allowed range of 0. Supply an argument that is greater than or equal to 0 and then try the command again.", capacity)
		}
		if capacity > 0 && r.Type != d.RoomMailbox && r.Type != d.EquipmentMailbox {
			return invalidArg("-ResourceCapacity applies only to room and equipment mailboxes; %q is a %s.", r.Name, r.Type)
		}
		r.ResourceCapacity = capacity
	}
	if m, ok := c.Multi("GrantSendOnBehalfTo"); ok {
		ids, err := applyLinks(c, r.GrantSendOnBehalfTo, m, sendOnBehalfKinds)
		if err != nil {
			return err
		}
		r.GrantSendOnBehalfTo = ids
	}
	if c.Has("Password") {
		if c.Str("Password") == "" {
			return validationError("Password", "The argument is null or empty. Provide an argument that is not null or empty, and then try the command again.")
		}
		if err := checkPasswordReset(c, target); err != nil {
			return err
		}
		h, err := hashNewPassword(c.Str("Password"))
		if err != nil {
			return err
		}
		r.PasswordHash, r.AccountDisabled = h, false
	}
	return saveChanged(c, target, r)
}

// checkPasswordReset keeps a password reset from being a privilege
// escalation: the password of an account that holds management roles
// (Organization Management, ApplicationImpersonation, ...) can be reset only
// by the account itself or by a holder of Role Management, who could grant
// those roles anyway.
func checkPasswordReset(c *Call, target *d.Recipient) error {
	if target.ID == c.Caller.ID || len(rbac.ReachingAssignments(c.S, target)) == 0 || rbac.MayRun(c.S, c.Caller, "New-ManagementRoleAssignment") {
		return nil
	}
	return &adminapi.Error{
		Message:  fmt.Sprintf("You can't reset the password of %q: it holds management roles, and its password would give you its rights. (Actas: resetting the password of an account with role assignments requires the Role Management role.)", target.Name),
		Category: "PermissionDenied", Exception: "UnauthorizedAccessException", Target: target.Name,
	}
}

// ---------------------------------------------------------------------------
// Remove-Mailbox

// removeReferences drops every reference to a recipient that is going away:
// ManagedBy of groups, GrantSendOnBehalfTo of mailboxes, and role assignments
// it is the assignee of (memberships go with DeleteRecipient). AD cleans up
// these links itself when an object is deleted.
func removeReferences(c *Call, gone *d.Recipient) error {
	for _, r := range c.S.Recipients(gone.Org) {
		if r.ID == gone.ID || !(contains(r.ManagedBy, gone.ID) || contains(r.GrantSendOnBehalfTo, gone.ID) ||
			contains(r.FullAccess, gone.ID) || contains(r.SendAs, gone.ID)) {
			continue
		}
		cl := r.Clone()
		cl.ManagedBy = without(cl.ManagedBy, gone.ID)
		cl.GrantSendOnBehalfTo = without(cl.GrantSendOnBehalfTo, gone.ID)
		cl.FullAccess = without(cl.FullAccess, gone.ID)
		cl.SendAs = without(cl.SendAs, gone.ID)
		cl.WhenChanged = c.Now()
		if len(r.ManagedBy) > 0 && len(cl.ManagedBy) == 0 && r.Type != d.RoleGroup {
			c.Warn("The group %q has no owner any more; it can be managed only with -BypassSecurityGroupManagerCheck until you set -ManagedBy.", r.Name)
		}
		if err := c.Tx.PutRecipient(cl); err != nil {
			return fmt.Errorf("update %q: %w", r.Name, err)
		}
	}
	for _, a := range c.S.AssignmentsOf(gone.ID) {
		c.Tx.DeleteAssignment(a.ID)
	}
	return nil
}

// keepAdministrator refuses a change that would leave Organization
// Management without members (the same rule Remove-RoleGroupMember applies).
func keepAdministrator(c *Call, r *d.Recipient, verb string) error {
	for _, gid := range c.S.MemberOf(r.ID) {
		if g := c.S.Recipient(gid); g != nil && g.Type == d.RoleGroup && g.Name == orgManagement && c.S.MemberCount(gid) == 1 {
			return invalidOp("You can't %s %q: it is the last member of %s, and the organization would be left without an administrator. Add another member to %s first.", verb, r.Name, orgManagement, orgManagement)
		}
	}
	return nil
}

func removeMailbox(c *Call) error {
	target, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	if err != nil {
		return err
	}
	if target.ID == c.Caller.ID {
		return invalidOp("You can't remove your own mailbox %q: you are signed in with it.", target.Name)
	}
	if err := keepAdministrator(c, target, "remove"); err != nil {
		return err
	}
	if err := rbac.CanWrite(c.S, c.Caller, "Remove-Mailbox", target); err != nil {
		return err
	}
	if err := removeReferences(c, target); err != nil {
		return err
	}
	c.Tx.DeleteRecipient(target.ID)
	if mbx := c.reg.mailboxes; mbx != nil {
		// The recipient is gone; its contents go with it. A failure here
		// leaves unreachable rows, never a half-removed recipient.
		c.Tx.OnCommit(func(*d.State) {
			if err := mbx.Remove(c.ctx, target.ID); err != nil {
				c.log.Error("remove mailbox contents", "mailbox", target.ID, "err", err)
			}
		})
	}
	return nil
}

// ---------------------------------------------------------------------------
// Set-User

func setUser(c *Call) error {
	target, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	if err != nil {
		return err
	}
	if err := rbac.CanWrite(c.S, c.Caller, "Set-User", target); err != nil {
		return err
	}
	if c.Has("Manager") {
		return invalidArg("Actas doesn't store the Manager property yet; nothing was changed. Run the command again without -Manager.")
	}
	r := target.Clone()
	if err := setDisplayName(c, r); err != nil {
		return err
	}
	for _, f := range []struct {
		param string
		max   int
		dst   *string
	}{
		{"FirstName", 64, &r.FirstName}, {"LastName", 64, &r.LastName}, {"Department", 64, &r.Department},
		{"Company", 64, &r.Company}, {"City", 128, &r.City}, {"Office", 128, &r.Office}, {"Title", 128, &r.Title},
	} {
		if !c.Has(f.param) {
			continue
		}
		v := strings.TrimSpace(c.Str(f.param))
		if err := checkText(f.param, v, f.max); err != nil {
			return err
		}
		*f.dst = v
	}
	return saveChanged(c, target, r)
}
