package store

import (
	"context"
	"errors"
	"testing"
)

func TestApplyIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	doc := func(id, key string) *Doc {
		return &Doc{Kind: "recipient", ID: id, Org: "o", NS: "recipient", Key: key, Data: []byte(`{}`)}
	}
	if err := s.Apply(ctx, []Change{{Put: doc("a", "alice")}, {Put: doc("g", "group")}, {AddLink: &Link{Kind: "member", From: "g", To: "a"}}}); err != nil {
		t.Fatal(err)
	}
	// A batch whose last change violates uniqueness leaves nothing behind.
	err = s.Apply(ctx, []Change{{Put: doc("b", "bob")}, {AddLink: &Link{Kind: "member", From: "g", To: "b"}}, {Put: doc("c", "alice")}})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("want ErrConflict, got %v", err)
	}
	// A link to a missing document is refused by the foreign key.
	if err := s.Apply(ctx, []Change{{AddLink: &Link{Kind: "member", From: "g", To: "nobody"}}}); err == nil {
		t.Fatal("dangling link accepted")
	}
	s.Close()

	s, err = OpenSQLite(ctx, dir) // reopen: migrations are idempotent
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Docs) != 2 || len(c.Links) != 1 {
		t.Fatalf("after a failed batch: %d docs, %d links; want 2 and 1", len(c.Docs), len(c.Links))
	}
	// Deleting a document cascades to its links.
	if err := s.Apply(ctx, []Change{{DeleteID: "a"}}); err != nil {
		t.Fatal(err)
	}
	if c, _ = s.Load(ctx); len(c.Links) != 0 {
		t.Fatalf("links survived their document: %v", c.Links)
	}
}
