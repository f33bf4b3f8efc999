package directory

import (
	"sort"
	"strings"
	"time"
)

// ThrottlingPolicy is an EWS throttling policy (New-ThrottlingPolicy). Zero
// limits mean "the default"; -1 means Unlimited. A policy with Scope
// "Organization" applies to every account of its organization that has no
// policy of its own (Set-ThrottlingPolicyAssociation).
type ThrottlingPolicy struct {
	ID                  string `json:"id"`
	Org                 string `json:"org"`
	Name                string `json:"name"`
	Scope               string `json:"scope"` // "Regular" or "Organization"
	EwsMaxConcurrency   int    `json:"ewsMaxConcurrency,omitempty"`
	EwsMaxSubscriptions int    `json:"ewsMaxSubscriptions,omitempty"`
	EWSFindCountLimit   int    `json:"ewsFindCountLimit,omitempty"`
	// EwsMaxStreamingConnections is an Actas extension: open
	// GetStreamingEvents connections per account (Exchange hard-codes it).
	EwsMaxStreamingConnections int       `json:"ewsMaxStreamingConnections,omitempty"`
	WhenCreated                time.Time `json:"whenCreated"`
	WhenChanged                time.Time `json:"whenChanged"`
}

const kindThrottling = "throttling"

// ThrottlingPolicies returns the organization's policies ordered by name.
func (s *State) ThrottlingPolicies(org string) []*ThrottlingPolicy {
	var out []*ThrottlingPolicy
	for _, p := range s.throttling {
		if p.Org == org {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// ThrottlingPolicy returns a policy by id.
func (s *State) ThrottlingPolicy(id string) *ThrottlingPolicy { return s.throttling[id] }

// ResolveThrottlingPolicy finds a policy by name or id.
func (s *State) ResolveThrottlingPolicy(org, id string) (*ThrottlingPolicy, error) {
	for _, p := range s.throttling {
		if p.Org == org && (strings.EqualFold(p.Name, id) || p.ID == strings.ToLower(strings.Trim(id, "{}"))) {
			return p, nil
		}
	}
	return nil, &NotFoundError{Identity: id}
}

// EffectiveThrottlingPolicy is the policy that governs an account: its own
// association, else its organization's Organization-scoped policy, else nil
// (the built-in defaults).
func (s *State) EffectiveThrottlingPolicy(r *Recipient) *ThrottlingPolicy {
	if r == nil {
		return nil
	}
	if p := s.throttling[r.ThrottlingPolicy]; p != nil {
		return p
	}
	for _, p := range s.ThrottlingPolicies(r.Org) {
		if p.Scope == "Organization" {
			return p
		}
	}
	return nil
}

// PutThrottlingPolicy creates or replaces a policy.
func (tx *Tx) PutThrottlingPolicy(p *ThrottlingPolicy) error {
	return tx.put(kindThrottling, p.ID, p.Org, "throttling", strings.ToLower(p.Name), p, func(s *State) { s.throttling[p.ID] = p })
}

// DeleteThrottlingPolicy removes a policy.
func (tx *Tx) DeleteThrottlingPolicy(id string) {
	tx.deleteDoc(id, func(s *State) { delete(s.throttling, id) })
}
