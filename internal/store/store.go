// Package store persists Actas's directory and RBAC objects: a small
// transactional document-and-link interface, with an embedded SQLite
// implementation whose SQL stays portable to PostgreSQL.
package store

import (
	"context"
	"errors"
)

// Doc is one persisted object: its kind ("org", "recipient", "scope",
// "assignment", ...), its organization, a unique name key within its
// namespace, and its JSON encoding.
type Doc struct {
	Kind string
	ID   string
	Org  string // organization id; empty for the organization documents themselves
	// NS and Key make a uniqueness constraint: no two documents of one
	// organization share (NS, Key). Key is usually the lower-cased name.
	NS   string
	Key  string
	Data []byte
}

// Link is a directed relation between two documents, e.g. group membership
// ("member", group id, member id).
type Link struct {
	Kind string
	From string
	To   string
}

// Change is one write in a transaction. Exactly one of Put, DeleteID, AddLink
// and RemoveLink is set.
type Change struct {
	Put        *Doc
	DeleteID   string
	AddLink    *Link
	RemoveLink *Link
}

// Contents is everything a store holds, as loaded at start.
type Contents struct {
	Docs  []Doc
	Links []Link
}

// ErrConflict reports a uniqueness violation detected by the store itself
// (the caller normally checks first; this is the backstop).
var ErrConflict = errors.New("store: uniqueness conflict")

// Store is the storage interface. Implementations must apply a batch of
// changes atomically: all of it or none of it, even across a crash.
type Store interface {
	Load(ctx context.Context) (*Contents, error)
	Apply(ctx context.Context, changes []Change) error
	Close() error
}
