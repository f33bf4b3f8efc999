package auth

import (
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestPasswords(t *testing.T) {
	Cost = bcrypt.MinCost
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		hash, pw string
		ok       bool
	}{
		{h, "correct horse", true},
		{h, "Correct horse", false},
		{h, "", false},
		{"", "", false},
		{"not a hash", "x", false},
	} {
		if got := CheckPassword(tc.hash, tc.pw); got != tc.ok {
			t.Errorf("CheckPassword(%q, %q) = %v", tc.hash, tc.pw, got)
		}
	}
	if _, err := HashPassword(string(make([]byte, 73))); err == nil {
		t.Error("a 73-byte password must be refused, not silently truncated")
	}
	if err := ValidatePassword("short"); err == nil {
		t.Error("short password accepted")
	}
	if p := RandomPassword(20); len(p) != 20 || p == RandomPassword(20) {
		t.Errorf("RandomPassword: %q", p)
	}
}

func TestCache(t *testing.T) {
	c := NewCache(time.Minute)
	hash := "h1"
	cur := func(string) string { return hash }
	if _, ok := c.Lookup("Bob@x", "pw", cur); ok {
		t.Fatal("empty cache hit")
	}
	c.Store("bob@x", "pw", "id1", "h1")
	if id, ok := c.Lookup("BOB@x", "pw", cur); !ok || id != "id1" {
		t.Fatalf("lookup: %q %v", id, ok)
	}
	if _, ok := c.Lookup("bob@x", "other", cur); ok {
		t.Fatal("wrong password hit the cache")
	}
	hash = "h2" // the password changed: the entry no longer counts
	if _, ok := c.Lookup("bob@x", "pw", cur); ok {
		t.Fatal("cache survived a password change")
	}
	short := NewCache(time.Nanosecond)
	short.Store("a", "b", "id", "h")
	time.Sleep(time.Millisecond)
	if _, ok := short.Lookup("a", "b", func(string) string { return "h" }); ok {
		t.Fatal("expired entry used")
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(3, time.Hour)
	for i := 0; i < 3; i++ {
		if b, _ := l.Blocked("k"); b {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail("k")
	}
	if b, wait := l.Blocked("k"); !b || wait <= 0 || wait > time.Hour {
		t.Fatalf("not blocked after 3 failures (wait %v)", wait)
	}
	if b, _ := l.Blocked("other"); b {
		t.Fatal("another key blocked")
	}
	l.Reset("k")
	if b, _ := l.Blocked("k"); b {
		t.Fatal("still blocked after reset")
	}
	w := NewLimiter(1, time.Millisecond)
	w.Fail("k")
	time.Sleep(5 * time.Millisecond)
	if b, _ := w.Blocked("k"); b {
		t.Fatal("the window did not pass")
	}
}
