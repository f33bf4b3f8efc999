package cmdlet

import (
	"fmt"
	"strings"

	"github.com/actasmail/actas/internal/adminapi"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/rbac"
)

// Mailbox-level permissions: FullAccess (Add-MailboxPermission) and
// SendAs (Add-RecipientPermission), stored on the mailbox's recipient.
// GrantSendOnBehalfTo is a Set-Mailbox parameter.

func permissionCmdlets() []*Def {
	id := Param{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true, Required: true}
	getID := Param{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true}
	str := func(n string) Param { return Param{Name: n, Kind: adminapi.KindString} }
	strs := func(n string) Param { return Param{Name: n, Kind: adminapi.KindStrings} }
	sw := func(n string) Param { return Param{Name: n, Kind: adminapi.KindSwitch} }
	return []*Def{
		{Name: "Add-MailboxPermission", Write: true, Run: func(c *Call) error { return changeMailboxPermission(c, true) },
			Params: []Param{id, {Name: "User", Kind: adminapi.KindString, Required: true}, {Name: "AccessRights", Kind: adminapi.KindStrings, Required: true},
				str("InheritanceType"), {Name: "AutoMapping", Kind: adminapi.KindBool}, sw("Deny")}},
		{Name: "Remove-MailboxPermission", Write: true, Run: func(c *Call) error { return changeMailboxPermission(c, false) },
			Params: []Param{id, {Name: "User", Kind: adminapi.KindString, Required: true}, {Name: "AccessRights", Kind: adminapi.KindStrings, Required: true},
				str("InheritanceType"), sw("Deny"), sw("BypassMasterAccountSid")}},
		{Name: "Get-MailboxPermission", Run: getMailboxPermission, Params: []Param{id, str("User")}},
		{Name: "Add-RecipientPermission", Write: true, Run: func(c *Call) error { return changeRecipientPermission(c, true) },
			Params: []Param{id, {Name: "Trustee", Kind: adminapi.KindString, Required: true}, {Name: "AccessRights", Kind: adminapi.KindStrings, Required: true}}},
		{Name: "Remove-RecipientPermission", Write: true, Run: func(c *Call) error { return changeRecipientPermission(c, false) },
			Params: []Param{id, {Name: "Trustee", Kind: adminapi.KindString, Required: true}, {Name: "AccessRights", Kind: adminapi.KindStrings, Required: true}}},
		{Name: "Get-RecipientPermission", Run: getRecipientPermission, Params: []Param{getID, str("Trustee"), strs("AccessRights")}},
	}
}

// onlyRight checks that the AccessRights list names exactly the one right
// Actas supports for the cmdlet.
func onlyRight(c *Call, right string) error {
	rights := splitValues(c.List("AccessRights"))
	if len(rights) == 0 {
		return invalidArg("-AccessRights needs a value: %s.", right)
	}
	for _, r := range rights {
		if !strings.EqualFold(r, right) {
			return invalidArg("The access right %q is not supported by Actas; %s supports only %s.", r, c.def.Name, right)
		}
	}
	return nil
}

func changeMailboxPermission(c *Call, add bool) error {
	if c.Bool("Deny") {
		return invalidArg("Deny entries are not supported by Actas: a permission is either granted or not.")
	}
	if err := onlyRight(c, "FullAccess"); err != nil {
		return err
	}
	mbx, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	if err != nil {
		return err
	}
	user, err := c.S.Resolve(c.Org.ID, c.Str("User"), d.Principals, true)
	if err != nil {
		return err
	}
	if err := rbacCanWrite(c, mbx); err != nil {
		return err
	}
	cur := mbx.Clone()
	has := contains(cur.FullAccess, user.ID)
	switch {
	case add && has:
		return &adminapi.Error{Message: fmt.Sprintf("An existing permission entry was found for user: %s.", user.Name),
			Category: "NotSpecified", Exception: "UserAlreadyExistsInPermissionEntryException", Target: user.Name}
	case !add && !has:
		return &adminapi.Error{Message: fmt.Sprintf("Can't remove the access control entry on the object %q for account %q because the ACE doesn't exist on the object.", mbx.Name, user.Name),
			Category: "NotSpecified", Exception: "ADObjectEntryNotFoundException", Target: user.Name}
	case add:
		if user.ID == mbx.ID {
			return invalidArg("%q already has full access to its own mailbox.", mbx.Name)
		}
		cur.FullAccess = append(cur.FullAccess, user.ID)
	default:
		cur.FullAccess = without(cur.FullAccess, user.ID)
	}
	cur.WhenChanged = c.Now()
	if err := c.Tx.PutRecipient(cur); err != nil {
		return err
	}
	if add {
		c.EmitAfterCommit(func(s *d.State) *adminapi.Object { return mailboxPermissionRow(s, cur, user.Name, false) })
	}
	return nil
}

func mailboxPermissionRow(s *d.State, mbx *d.Recipient, user string, self bool) *adminapi.Object {
	rights := []any{"FullAccess"}
	if self {
		rights = []any{"FullAccess", "ReadPermission"}
	}
	return &adminapi.Object{Type: "MailboxAcePresentationObject",
		View: []string{"Identity", "User", "AccessRights", "IsInherited", "Deny"},
		Props: []adminapi.Prop{
			{Name: "Identity", Value: mbx.Name},
			{Name: "User", Value: user},
			{Name: "AccessRights", Value: rights},
			{Name: "IsInherited", Value: false},
			{Name: "Deny", Value: false},
			{Name: "InheritanceType", Value: "All"},
		}}
}

func getMailboxPermission(c *Call) error {
	mbx, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	if err != nil {
		return err
	}
	var only *d.Recipient
	if c.Has("User") {
		if only, err = c.S.Resolve(c.Org.ID, c.Str("User"), d.Principals, true); err != nil {
			return err
		}
	}
	if only == nil || only.ID == mbx.ID {
		c.Emit(mailboxPermissionRow(c.S, mbx, `NT AUTHORITY\SELF`, true))
	}
	for _, id := range mbx.FullAccess {
		if u := c.S.Recipient(id); u != nil && (only == nil || only.ID == id) {
			c.Emit(mailboxPermissionRow(c.S, mbx, u.Name, false))
		}
	}
	return nil
}

func changeRecipientPermission(c *Call, add bool) error {
	if err := onlyRight(c, "SendAs"); err != nil {
		return err
	}
	target, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.AnyRecipient, false)
	if err != nil {
		return err
	}
	trustee, err := c.S.Resolve(c.Org.ID, c.Str("Trustee"), d.Principals, true)
	if err != nil {
		return err
	}
	if err := rbacCanWrite(c, target); err != nil {
		return err
	}
	cur := target.Clone()
	has := contains(cur.SendAs, trustee.ID)
	switch {
	case add && has:
		return &adminapi.Error{Message: fmt.Sprintf("An existing permission entry was found for user: %s.", trustee.Name),
			Category: "NotSpecified", Exception: "UserAlreadyExistsInPermissionEntryException", Target: trustee.Name}
	case !add && !has:
		return &adminapi.Error{Message: fmt.Sprintf("Can't remove the SendAs permission of %q on %q because it doesn't exist.", trustee.Name, target.Name),
			Category: "NotSpecified", Exception: "ADObjectEntryNotFoundException", Target: trustee.Name}
	case add:
		cur.SendAs = append(cur.SendAs, trustee.ID)
	default:
		cur.SendAs = without(cur.SendAs, trustee.ID)
	}
	cur.WhenChanged = c.Now()
	if err := c.Tx.PutRecipient(cur); err != nil {
		return err
	}
	if add {
		c.EmitAfterCommit(func(s *d.State) *adminapi.Object { return recipientPermissionRow(cur, trustee.Name) })
	}
	return nil
}

func recipientPermissionRow(target *d.Recipient, trustee string) *adminapi.Object {
	return &adminapi.Object{Type: "RecipientPermission",
		View: []string{"Identity", "Trustee", "AccessControlType", "AccessRights", "Inherited"},
		Props: []adminapi.Prop{
			{Name: "Identity", Value: target.Name},
			{Name: "Trustee", Value: trustee},
			{Name: "AccessControlType", Value: "Allow"},
			{Name: "AccessRights", Value: []any{"SendAs"}},
			{Name: "Inherited", Value: false},
		}}
}

func getRecipientPermission(c *Call) error {
	var targets []*d.Recipient
	if c.Str("Identity") != "" {
		t, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.AnyRecipient, false)
		if err != nil {
			return err
		}
		targets = []*d.Recipient{t}
	} else {
		targets = c.S.Recipients(c.Org.ID)
	}
	var only *d.Recipient
	if c.Has("Trustee") {
		var err error
		if only, err = c.S.Resolve(c.Org.ID, c.Str("Trustee"), d.Principals, true); err != nil {
			return err
		}
	}
	for _, t := range targets {
		for _, id := range t.SendAs {
			if u := c.S.Recipient(id); u != nil && (only == nil || only.ID == id) {
				c.Emit(recipientPermissionRow(t, u.Name))
			}
		}
	}
	return nil
}

// rbacCanWrite checks the caller's write scope for this cmdlet on target.
func rbacCanWrite(c *Call, target *d.Recipient) error {
	return rbac.CanWrite(c.S, c.Caller, c.def.roleName(), target)
}
