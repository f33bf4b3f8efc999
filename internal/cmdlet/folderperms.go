package cmdlet

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/actasmail/actas/internal/adminapi"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// Folder permissions: Add/Set/Get/Remove-MailboxFolderPermission on
// "mailbox:\Folder\Sub" identities. The ACL lives in the mailbox store.

func folderPermissionCmdlets() []*Def {
	id := Param{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true, Required: true}
	user := Param{Name: "User", Kind: adminapi.KindString, Required: true}
	rights := Param{Name: "AccessRights", Kind: adminapi.KindStrings, Required: true}
	flags := Param{Name: "SharingPermissionFlags", Kind: adminapi.KindStrings}
	notify := Param{Name: "SendNotificationToUser", Kind: adminapi.KindBool}
	return []*Def{
		{Name: "Add-MailboxFolderPermission", Run: func(c *Call) error { return changeFolderPermission(c, "add") },
			Params: []Param{id, user, rights, flags, notify}},
		{Name: "Set-MailboxFolderPermission", Run: func(c *Call) error { return changeFolderPermission(c, "set") },
			Params: []Param{id, user, rights, flags, notify}},
		{Name: "Remove-MailboxFolderPermission", Run: func(c *Call) error { return changeFolderPermission(c, "remove") },
			Params: []Param{id, user, {Name: "ResetDelegateUserCollection", Kind: adminapi.KindSwitch}, {Name: "Force", Kind: adminapi.KindSwitch}}},
		{Name: "Get-MailboxFolderPermission", Run: getFolderPermission,
			Params: []Param{id, {Name: "User", Kind: adminapi.KindString}}},
	}
}

// folderRef is a resolved "mailbox:\path" identity.
type folderRef struct {
	owner  *d.Recipient
	folder *mailbox.Folder
	path   string // as shown: "alice:\Calendar"
}

// resolveFolder resolves "mailbox:\Folder[\Sub...]"; "mailbox" alone or
// "mailbox:\" is the Top of Information Store. Folder names match the
// display names case-insensitively.
func resolveFolder(c *Call, idv string) (*folderRef, error) {
	if c.reg.mailboxes == nil {
		return nil, invalidOp("Mailbox contents are not available on this server.")
	}
	mbxID, path := idv, ""
	if i := strings.Index(idv, ":\\"); i >= 0 {
		mbxID, path = idv[:i], strings.Trim(idv[i+2:], "\\")
	} else if i := strings.LastIndex(idv, ":"); i > 0 && !strings.Contains(idv[i:], "@") {
		mbxID, path = idv[:i], strings.Trim(idv[i+1:], "\\")
	}
	owner, err := c.S.Resolve(c.Org.ID, mbxID, d.Mailboxes, false)
	if err != nil {
		return nil, err
	}
	m := c.reg.mailboxes
	if err := m.Ensure(c.ctx, owner.ID); err != nil {
		return nil, fmt.Errorf("open mailbox %s: %w", owner.Name, err)
	}
	f, err := m.Distinguished(c.ctx, owner.ID, "msgfolderroot")
	if err != nil {
		return nil, fmt.Errorf("open mailbox %s: %w", owner.Name, err)
	}
	shown := owner.Name + ":\\"
	for _, part := range strings.Split(path, "\\") {
		if part == "" {
			continue
		}
		kids, err := m.Children(c.ctx, owner.ID, f.Key, false)
		if err != nil {
			return nil, fmt.Errorf("list folders of %s: %w", owner.Name, err)
		}
		var next *mailbox.Folder
		for _, k := range kids {
			if strings.EqualFold(k.DisplayName, part) {
				next = k
				break
			}
		}
		if next == nil {
			return nil, &adminapi.Error{Message: fmt.Sprintf("The operation couldn't be performed because '%s' couldn't be found.", idv),
				Category: "NotSpecified", Exception: "ManagementObjectNotFoundException", Target: idv}
		}
		f = next
		shown += next.DisplayName + "\\"
	}
	return &folderRef{owner: owner, folder: f, path: strings.TrimSuffix(shown, "\\")}, nil
}

// folderUser resolves -User: a principal of the organization, or the
// built-in Default and Anonymous entries.
func folderUser(c *Call) (string, string, error) {
	u := strings.TrimSpace(c.Str("User"))
	for _, b := range []string{"Default", "Anonymous"} {
		if strings.EqualFold(u, b) {
			return b, b, nil
		}
	}
	r, err := c.S.Resolve(c.Org.ID, u, d.Principals, true)
	if err != nil {
		return "", "", err
	}
	return r.ID, r.DisplayName, nil
}

// permissionFromRights turns -AccessRights (a role, or individual rights)
// into a normalized ACE.
func permissionFromRights(c *Call, user string, calendar bool) (mailbox.Permission, error) {
	rights := splitValues(c.List("AccessRights"))
	if len(rights) == 1 {
		level := rights[0]
		// The shell's names for the calendar roles and NoneditingAuthor.
		switch strings.ToLower(level) {
		case "availabilityonly":
			level = "FreeBusyTimeOnly"
		case "limiteddetails":
			level = "FreeBusyTimeAndSubjectAndLocation"
		case "noneditingauthor":
			level = "NoneditingAuthor"
		}
		if p, ok := mailbox.LevelRights(level); ok {
			if !calendar && (p.Level == "FreeBusyTimeOnly" || p.Level == "FreeBusyTimeAndSubjectAndLocation") {
				return p, invalidArg("The access right %q can be used only on calendar folders.", p.Level)
			}
			p.User = user
			return p.Normalize(), nil
		}
	}
	p := mailbox.Permission{User: user, EditItems: "None", DeleteItems: "None", ReadItems: "None"}
	for _, r := range rights {
		switch strings.ToLower(r) {
		case "none":
		case "createitems":
			p.CanCreateItems = true
		case "createsubfolders":
			p.CanCreateSubFolders = true
		case "folderowner":
			p.IsFolderOwner = true
		case "foldervisible":
			p.IsFolderVisible = true
		case "foldercontact":
			p.IsFolderContact = true
		case "readitems":
			p.ReadItems = "FullDetails"
		case "editownedItems", "editowneditems":
			if p.EditItems != "All" {
				p.EditItems = "Owned"
			}
		case "editallitems":
			p.EditItems = "All"
		case "deleteowneditems":
			if p.DeleteItems != "All" {
				p.DeleteItems = "Owned"
			}
		case "deleteallitems":
			p.DeleteItems = "All"
		default:
			return p, invalidArg("Cannot convert value %q to type \"Microsoft.Exchange.Management.StoreTasks.MailboxFolderAccessRight\". Valid values are roles (Owner, PublishingEditor, Editor, PublishingAuthor, Author, NonEditingAuthor, Reviewer, Contributor, AvailabilityOnly, LimitedDetails, None) or rights (CreateItems, CreateSubfolders, DeleteAllItems, DeleteOwnedItems, EditAllItems, EditOwnedItems, FolderContact, FolderOwner, FolderVisible, ReadItems).", r)
		}
	}
	return p.Normalize(), nil
}

// sharingFlags reads -SharingPermissionFlags (None, Delegate,
// CanViewPrivateItems): whether the user becomes a calendar delegate
// (receiving the owner's meeting requests) and may see private items.
func sharingFlags(c *Call) (set, delegate, private bool, err error) {
	vals := splitValues(c.List("SharingPermissionFlags"))
	for _, v := range vals {
		switch strings.ToLower(v) {
		case "none":
		case "delegate":
			delegate = true
		case "canviewprivateitems":
			private = true
		default:
			return false, false, false, invalidArg("Cannot convert value %q to type \"Microsoft.Exchange.Management.StoreTasks.MailboxFolderPermissionSharingFlags\". Valid values are None, Delegate, CanViewPrivateItems.", v)
		}
	}
	if private && !delegate {
		return false, false, false, invalidArg("-SharingPermissionFlags CanViewPrivateItems requires Delegate.")
	}
	return len(vals) > 0, delegate, private, nil
}

func changeFolderPermission(c *Call, op string) error {
	flagsSet, delegate, private, err := sharingFlags(c)
	if err != nil {
		return err
	}
	ref, err := resolveFolder(c, c.Str("Identity"))
	if err != nil {
		return err
	}
	if err := rbacCanWrite(c, ref.owner); err != nil {
		return err
	}
	user, shown, err := folderUser(c)
	if err != nil {
		return err
	}
	m := c.reg.mailboxes
	var p mailbox.Permission
	if op != "remove" {
		if p, err = permissionFromRights(c, user, ref.folder.Class == "IPF.Appointment"); err != nil {
			return err
		}
	}
	// change applies the cmdlet to an ACL: run on the current one inside
	// the store's transaction, so concurrent changes are not lost.
	change := func(perms []mailbox.Permission) ([]mailbox.Permission, error) {
		idx := slices.IndexFunc(perms, func(q mailbox.Permission) bool { return q.User == user })
		switch {
		case op == "add" && idx >= 0:
			return nil, &adminapi.Error{Message: fmt.Sprintf("An existing permission entry was found for user: %s.", shown),
				Category: "NotSpecified", Exception: "UserAlreadyExistsInPermissionEntryException", Target: shown}
		case (op == "set" || op == "remove") && idx < 0:
			return nil, &adminapi.Error{Message: fmt.Sprintf("There is no existing permission entry found for user: %s.", shown),
				Category: "NotSpecified", Exception: "UserNotFoundInPermissionEntryException", Target: shown}
		case op == "remove":
			return slices.Delete(slices.Clone(perms), idx, idx+1), nil
		case idx >= 0:
			out := slices.Clone(perms)
			out[idx] = p
			return out, nil
		}
		return append(slices.Clone(perms), p), nil
	}
	cur, err := m.Permissions(c.ctx, ref.owner.ID, ref.folder.Key)
	if err != nil {
		return fmt.Errorf("read permissions of %s: %w", ref.path, err)
	}
	if _, err := change(cur); err != nil { // answer a missing or existing entry before changing anything
		return err
	}
	actor := mailbox.Actor{ID: c.Caller.ID, Via: "admin"}
	// A calendar delegate (-SharingPermissionFlags Delegate, as in Exchange
	// Online) is kept in the mailbox's delegate list, whose store write also
	// sets the calendar entry; removing the entry or the flag ends it. A
	// delegate's entry on one of the delegate folders changed by hand makes
	// the list follow, so that a later delegate change does not restore the
	// old level (Custom: the list leaves the entry alone).
	if delegate {
		if ref.folder.Distinguished != "calendar" || p.Level != "Editor" {
			return invalidArg("-SharingPermissionFlags Delegate can be used only with -AccessRights Editor on the mailbox's Calendar folder.")
		}
		if rr := c.S.Recipient(user); rr == nil || !rr.IsMailbox() {
			return invalidArg("Only a mailbox user can be a calendar delegate.")
		}
	}
	if !delegate {
		if _, err := m.UpdatePermissions(c.ctx, actor, ref.owner.ID, ref.folder.Key, change); err != nil {
			var ae *adminapi.Error
			if errors.As(err, &ae) {
				return ae
			}
			return fmt.Errorf("save permissions of %s: %w", ref.path, err)
		}
	}
	dels, err := m.UpdateDelegates(c.ctx, actor, ref.owner.ID, func(dels *mailbox.DelegateSettings) error {
		d := dels.Find(user)
		switch {
		case delegate && d != nil:
			d.Levels["calendar"], d.ReceiveCopiesOfMeetingMessages, d.ViewPrivateItems = "Editor", true, private
		case delegate:
			dels.Delegates = append(dels.Delegates, mailbox.Delegate{User: user, Levels: map[string]string{"calendar": "Editor"},
				ReceiveCopiesOfMeetingMessages: true, ViewPrivateItems: private})
		case d == nil || !mailbox.IsDelegateFolder(ref.folder.Distinguished):
		case ref.folder.Distinguished == "calendar" && (op == "remove" || flagsSet):
			dels.Delegates = slices.DeleteFunc(dels.Delegates, func(d mailbox.Delegate) bool { return d.User == user })
		case op == "remove":
			d.Levels[ref.folder.Distinguished] = "None"
		case p.Level == "Editor" || p.Level == "Reviewer" || p.Level == "Author":
			d.Levels[ref.folder.Distinguished] = p.Level
		default:
			d.Levels[ref.folder.Distinguished] = "Custom"
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save delegates of %s: %w", ref.owner.Name, err)
	}
	if op != "remove" {
		c.Emit(folderPermissionRow(c.S, ref, p, sharingFlagsOf(dels.Find(user), delegate)))
	}
	return nil
}

// sharingFlagsOf is the SharingPermissionFlags shown for a delegate entry.
func sharingFlagsOf(d *mailbox.Delegate, isDelegate bool) any {
	if d == nil || !isDelegate {
		return nil
	}
	if d.ViewPrivateItems {
		return "Delegate, CanViewPrivateItems"
	}
	return "Delegate"
}

func folderPermissionRow(s *d.State, ref *folderRef, p mailbox.Permission, flags any) *adminapi.Object {
	user := p.User
	if r := s.Recipient(p.User); r != nil {
		user = r.DisplayName
	}
	level := p.Level
	switch level {
	case "FreeBusyTimeOnly":
		level = "AvailabilityOnly"
	case "FreeBusyTimeAndSubjectAndLocation":
		level = "LimitedDetails"
	}
	return &adminapi.Object{Type: "MailboxFolderPermission",
		View: []string{"FolderName", "User", "AccessRights", "SharingPermissionFlags"},
		Props: []adminapi.Prop{
			{Name: "FolderName", Value: ref.folder.DisplayName},
			{Name: "User", Value: user},
			{Name: "AccessRights", Value: []any{level}},
			{Name: "SharingPermissionFlags", Value: flags},
			{Name: "Identity", Value: ref.path},
		}}
}

func getFolderPermission(c *Call) error {
	ref, err := resolveFolder(c, c.Str("Identity"))
	if err != nil {
		return err
	}
	only := ""
	if c.Has("User") {
		if only, _, err = folderUser(c); err != nil {
			return err
		}
	}
	perms, err := c.reg.mailboxes.Permissions(c.ctx, ref.owner.ID, ref.folder.Key)
	if err != nil {
		if errors.Is(err, mailbox.ErrNotFound) {
			return &d.NotFoundError{Identity: c.Str("Identity")}
		}
		return fmt.Errorf("read permissions of %s: %w", ref.path, err)
	}
	dels := &mailbox.DelegateSettings{}
	if ref.folder.Distinguished == "calendar" {
		if dels, err = c.reg.mailboxes.Delegates(c.ctx, ref.owner.ID); err != nil {
			return fmt.Errorf("read delegates of %s: %w", ref.owner.Name, err)
		}
	}
	for _, p := range perms {
		if only == "" || p.User == only {
			dl := dels.Find(p.User)
			c.Emit(folderPermissionRow(c.S, ref, p, sharingFlagsOf(dl, dl != nil && dl.ReceiveCopiesOfMeetingMessages)))
		}
	}
	return nil
}
