package cmdlet

import (
	"fmt"
	"strings"

	"github.com/actasmail/actas/internal/adminapi"
	d "github.com/actasmail/actas/internal/directory"
)

// EWS throttling policies: New/Get/Set/Remove-ThrottlingPolicy and
// Set/Get-ThrottlingPolicyAssociation. The EWS endpoint reads the
// effective policy of the authenticated account on every request.

func throttlingCmdlets() []*Def {
	limits := []Param{
		{Name: "EwsMaxConcurrency", Kind: adminapi.KindInt},
		{Name: "EwsMaxSubscriptions", Kind: adminapi.KindInt},
		{Name: "EWSFindCountLimit", Kind: adminapi.KindInt},
		{Name: "EwsMaxStreamingConnections", Kind: adminapi.KindInt},
	}
	id := Param{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true, Required: true}
	return []*Def{
		{Name: "New-ThrottlingPolicy", Write: true, Run: newThrottlingPolicy,
			Params: append([]Param{{Name: "Name", Kind: adminapi.KindString, Position: 1, Required: true},
				{Name: "ThrottlingPolicyScope", Kind: adminapi.KindString}}, limits...)},
		{Name: "Set-ThrottlingPolicy", Write: true, Run: setThrottlingPolicy,
			Params: append([]Param{id, {Name: "Name", Kind: adminapi.KindString}, {Name: "ThrottlingPolicyScope", Kind: adminapi.KindString}}, limits...)},
		{Name: "Get-ThrottlingPolicy", Run: getThrottlingPolicy,
			Params: []Param{{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true}}},
		{Name: "Remove-ThrottlingPolicy", Write: true, Run: removeThrottlingPolicy, Params: []Param{id, {Name: "Force", Kind: adminapi.KindSwitch}}},
		{Name: "Set-ThrottlingPolicyAssociation", Write: true, Run: setThrottlingAssociation,
			Params: []Param{id, {Name: "ThrottlingPolicy", Kind: adminapi.KindString, Required: true}}},
		{Name: "Get-ThrottlingPolicyAssociation", Run: getThrottlingAssociation,
			Params: []Param{{Name: "Identity", Kind: adminapi.KindString, Position: 1, Pipeline: true}}},
	}
}

func throttlingLimits(c *Call, p *d.ThrottlingPolicy) error {
	for _, l := range []struct {
		name string
		dst  *int
	}{{"EwsMaxConcurrency", &p.EwsMaxConcurrency}, {"EwsMaxSubscriptions", &p.EwsMaxSubscriptions},
		{"EWSFindCountLimit", &p.EWSFindCountLimit}, {"EwsMaxStreamingConnections", &p.EwsMaxStreamingConnections}} {
		if n, ok := c.Int(l.name); ok {
			if n == 0 || n < -1 {
				return invalidArg("-%s must be a positive number or Unlimited.", l.name)
			}
			*l.dst = n
		}
	}
	if c.Has("ThrottlingPolicyScope") {
		v, ok := matchEnum(c.Str("ThrottlingPolicyScope"), []string{"Regular", "Organization"})
		if !ok {
			return invalidArg("-ThrottlingPolicyScope must be Regular or Organization (Global policies are built in).")
		}
		p.Scope = v
	}
	if p.Scope == "Organization" {
		for _, other := range c.S.ThrottlingPolicies(c.Org.ID) {
			if other.Scope == "Organization" && other.ID != p.ID {
				return invalidOp("The organization already has an Organization-scoped throttling policy, %q.", other.Name)
			}
		}
	}
	return nil
}

func newThrottlingPolicy(c *Call) error {
	n := strings.TrimSpace(c.Str("Name"))
	if err := checkName("throttling policy", n); err != nil {
		return err
	}
	if _, err := c.S.ResolveThrottlingPolicy(c.Org.ID, n); err == nil {
		return duplicate("throttling policy", n)
	}
	p := &d.ThrottlingPolicy{ID: newGUID(), Org: c.Org.ID, Name: n, Scope: "Regular", WhenCreated: c.Now(), WhenChanged: c.Now()}
	if err := throttlingLimits(c, p); err != nil {
		return err
	}
	if err := c.Tx.PutThrottlingPolicy(p); err != nil {
		return err
	}
	c.EmitAfterCommit(func(*d.State) *adminapi.Object { return renderThrottlingPolicy(p) })
	return nil
}

func setThrottlingPolicy(c *Call) error {
	old, err := c.S.ResolveThrottlingPolicy(c.Org.ID, c.Str("Identity"))
	if err != nil {
		return err
	}
	p := *old
	if c.Has("Name") {
		n := strings.TrimSpace(c.Str("Name"))
		if err := checkName("throttling policy", n); err != nil {
			return err
		}
		if other, err := c.S.ResolveThrottlingPolicy(c.Org.ID, n); err == nil && other.ID != p.ID {
			return duplicate("throttling policy", n)
		}
		p.Name = n
	}
	if err := throttlingLimits(c, &p); err != nil {
		return err
	}
	p.WhenChanged = c.Now()
	return c.Tx.PutThrottlingPolicy(&p)
}

func getThrottlingPolicy(c *Call) error {
	idv := c.Str("Identity")
	for _, p := range c.S.ThrottlingPolicies(c.Org.ID) {
		if idv == "" || d.WildcardMatch(idv, p.Name) || p.ID == strings.ToLower(idv) {
			c.Emit(renderThrottlingPolicy(p))
		}
	}
	if idv != "" && !strings.Contains(idv, "*") && len(c.out) == 0 {
		return &d.NotFoundError{Identity: idv}
	}
	return nil
}

func removeThrottlingPolicy(c *Call) error {
	p, err := c.S.ResolveThrottlingPolicy(c.Org.ID, c.Str("Identity"))
	if err != nil {
		return err
	}
	for _, r := range c.S.Recipients(c.Org.ID) {
		if r.ThrottlingPolicy == p.ID {
			return invalidOp("The throttling policy %q can't be removed: %q is associated with it (Set-ThrottlingPolicyAssociation %s -ThrottlingPolicy $null).", p.Name, r.Name, r.Name)
		}
	}
	c.Tx.DeleteThrottlingPolicy(p.ID)
	return nil
}

func setThrottlingAssociation(c *Call) error {
	r, err := c.S.Resolve(c.Org.ID, c.Str("Identity"), d.Mailboxes, false)
	if err != nil {
		return err
	}
	cur := r.Clone()
	cur.ThrottlingPolicy = ""
	if v := c.Str("ThrottlingPolicy"); v != "" {
		p, err := c.S.ResolveThrottlingPolicy(c.Org.ID, v)
		if err != nil {
			return refNotFound(err)
		}
		cur.ThrottlingPolicy = p.ID
	}
	if cur.ThrottlingPolicy == r.ThrottlingPolicy {
		c.Warn("The command completed successfully but no settings of '%s' have been modified.", r.Name)
		return nil
	}
	cur.WhenChanged = c.Now()
	return c.Tx.PutRecipient(cur)
}

func getThrottlingAssociation(c *Call) error {
	var rs []*d.Recipient
	if idv := c.Str("Identity"); idv != "" {
		r, err := c.S.Resolve(c.Org.ID, idv, d.Mailboxes, false)
		if err != nil {
			return err
		}
		rs = []*d.Recipient{r}
	} else {
		for _, r := range c.S.Recipients(c.Org.ID) {
			if r.IsMailbox() {
				rs = append(rs, r)
			}
		}
	}
	for _, r := range rs {
		name := "(default)"
		if p := c.S.EffectiveThrottlingPolicy(r); p != nil {
			name = p.Name
		}
		c.Emit(&adminapi.Object{Type: "ThrottlingPolicyAssociation", View: []string{"Name", "ThrottlingPolicy"},
			Props: []adminapi.Prop{{Name: "Name", Value: r.Name}, {Name: "ThrottlingPolicy", Value: name}, {Name: "Identity", Value: r.Name}}})
	}
	return nil
}

func limitValue(n int) any {
	switch {
	case n == 0:
		return "(default)"
	case n < 0:
		return "Unlimited"
	}
	return fmt.Sprint(n)
}

func renderThrottlingPolicy(p *d.ThrottlingPolicy) *adminapi.Object {
	return &adminapi.Object{Type: "ThrottlingPolicy", View: []string{"Name", "ThrottlingPolicyScope", "EwsMaxConcurrency", "EwsMaxSubscriptions"},
		Props: []adminapi.Prop{
			{Name: "Name", Value: p.Name},
			{Name: "ThrottlingPolicyScope", Value: p.Scope},
			{Name: "EwsMaxConcurrency", Value: limitValue(p.EwsMaxConcurrency)},
			{Name: "EwsMaxSubscriptions", Value: limitValue(p.EwsMaxSubscriptions)},
			{Name: "EWSFindCountLimit", Value: limitValue(p.EWSFindCountLimit)},
			{Name: "EwsMaxStreamingConnections", Value: limitValue(p.EwsMaxStreamingConnections)},
			{Name: "Identity", Value: p.Name},
			{Name: "Guid", Value: p.ID},
			{Name: "WhenChangedUTC", Value: fmtTime(p.WhenChanged)},
		}}
}
