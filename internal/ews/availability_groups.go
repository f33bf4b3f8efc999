package ews

import (
	"fmt"
	"strings"

	"github.com/actasmail/actas/internal/directory"
)

// GetUserAvailability for a distribution group's address (issue 4), as
// Exchange documents it: the availability service expands the group to
// its member mailboxes (nested groups included) as long as there are at
// most availMaxMailboxes of them, and merges their free/busy into one
// status for the whole group, answered as FreeBusyViewType MergedOnly
// whatever view was asked for (no CalendarEventArray, no WorkingHours).
//
//   - Each interval holds the strongest status among the members that have
//     data for it (OOF > Busy > Tentative > WorkingElsewhere > Free); a
//     member whose calendar the requester may not see (ErrorNoFreeBusyAccess)
//     has no data; an interval no member has data for is 4 (NoData), so is
//     every interval of a group without member mailboxes.
//   - More member mailboxes than availMaxMailboxes → ErrorFreeBusyDLLimitReached
//     for that entry.
//   - Mail-enabled distribution and security groups and room lists count;
//     role groups and groups of another organization are not found.

// groupByAddress returns the mail-enabled group of the effective user's
// organization with that address, or nil.
func (rc *reqCtx) groupByAddress(addr string) *directory.Recipient {
	addr = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(addr), "SMTP:"), "smtp:")
	var g *directory.Recipient
	_ = rc.h.dir.Read(func(s *directory.State) error {
		r := s.RecipientBySMTP(addr)
		if r != nil && r.Org == rc.user.Org && r.IsGroup() && r.Type != directory.RoleGroup {
			g = r
		}
		return nil
	})
	return g
}

// groupMailboxes expands a group to its member mailboxes, nested groups
// included, each once; ok is false when there are more than limit.
func (rc *reqCtx) groupMailboxes(group *directory.Recipient, limit int) (members []*directory.Recipient, ok bool) {
	_ = rc.h.dir.Read(func(s *directory.State) error {
		seen := map[string]bool{group.ID: true}
		queue := []string{group.ID}
		for len(queue) > 0 {
			id := queue[0]
			queue = queue[1:]
			for _, m := range s.Members(id) {
				if seen[m] {
					continue
				}
				seen[m] = true
				r := s.Recipient(m)
				switch {
				case r == nil || r.Org != group.Org:
				case r.IsMailbox():
					members = append(members, r)
				case r.IsGroup():
					queue = append(queue, m)
				}
			}
		}
		return nil
	})
	return members, len(members) <= limit
}

// groupRank orders merged digits; NoData is below Free, so any member with
// data decides an interval.
var groupRank = map[byte]int{'4': -1, '0': 0, '5': 1, '1': 2, '2': 3, '3': 4}

func (rc *reqCtx) freeBusyOfGroup(w *xw, req *availRequest, group *directory.Recipient) {
	members, ok := rc.groupMailboxes(group, availMaxMailboxes)
	if !ok {
		availError(w, newErr("ErrorFreeBusyDLLimitReached", fmt.Sprintf(
			"The distribution list %s has %d member mailboxes; free/busy is merged for at most %d.", group.PrimarySmtpAddress, len(members), availMaxMailboxes)))
		return
	}
	merged := []byte(strings.Repeat("4", len(mergedFreeBusy(nil, req.from, req.to, req.interval))))
	for _, m := range members {
		events, _, _, e := rc.busyEvents(req, m)
		if e != nil {
			if e.Code != "ErrorNoFreeBusyAccess" {
				rc.h.log.Warn("free/busy of a group member not read", "request", rc.id, "group", group.PrimarySmtpAddress, "member", m.PrimarySmtpAddress, "code", e.Code)
			}
			continue // no data
		}
		for i, d := range []byte(mergedFreeBusy(events, req.from, req.to, req.interval)) {
			if groupRank[d] > groupRank[merged[i]] {
				merged[i] = d
			}
		}
	}
	okEmpty(w, "ResponseMessage")
	w.start("m:FreeBusyView")
	w.elem("t:FreeBusyViewType", "MergedOnly")
	w.elem("t:MergedFreeBusy", string(merged))
	w.end("m:FreeBusyView")
}
