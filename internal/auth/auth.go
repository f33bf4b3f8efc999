// Package auth verifies credentials: bcrypt password hashes, a short-lived
// verification cache so HTTP Basic does not pay a full hash per request,
// and failed-login rate limits per account and per client address.
package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Cost is the bcrypt cost of new hashes. Tests lower it (bcrypt.MinCost)
// to keep race-detector runs fast; nothing else should change it.
var Cost = bcrypt.DefaultCost

// HashPassword returns a bcrypt hash of a password.
func HashPassword(pw string) (string, error) {
	if len(pw) > 72 {
		return "", errors.New("the password is longer than 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), Cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword compares a password with a hash in constant time.
func CheckPassword(hash, pw string) bool {
	return hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// RandomPassword returns a random password of n characters from an
// alphabet without look-alike characters.
func RandomPassword(n int) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// ValidatePassword applies the minimum complexity rule Actas enforces.
func ValidatePassword(pw string) error {
	if len(pw) < 8 {
		return errors.New("the password must be at least 8 characters long")
	}
	return nil
}

// Cache remembers successful verifications for a short time, keyed by a
// keyed hash of user and password (the password is never kept).
type Cache struct {
	mu      sync.Mutex
	key     []byte
	ttl     time.Duration
	entries map[string]cacheEntry
}

type cacheEntry struct {
	user    string // lower-cased user name, for Forget
	id      string
	version string // the password hash it was verified against
	expires time.Time
}

// NewCache returns a verification cache.
func NewCache(ttl time.Duration) *Cache {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return &Cache{key: k, ttl: ttl, entries: map[string]cacheEntry{}}
}

func (c *Cache) mac(user, pw string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(strings.ToLower(user)))
	m.Write([]byte{0})
	m.Write([]byte(pw))
	return base64.RawStdEncoding.EncodeToString(m.Sum(nil))
}

// Lookup returns the account id for cached credentials. currentHash is the
// account's current password hash: an entry made against another hash (the
// password changed) is ignored.
func (c *Cache) Lookup(user, pw string, currentHash func(id string) string) (string, bool) {
	k := c.mac(user, pw)
	c.mu.Lock()
	e, ok := c.entries[k]
	if ok && time.Now().After(e.expires) {
		delete(c.entries, k)
		ok = false
	}
	c.mu.Unlock()
	if !ok || currentHash(e.id) != e.version {
		return "", false
	}
	return e.id, true
}

// Store remembers a successful verification.
func (c *Cache) Store(user, pw, id, hash string) {
	k := c.mac(user, pw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) > 100000 {
		c.entries = map[string]cacheEntry{}
	}
	c.entries[k] = cacheEntry{user: strings.ToLower(user), id: id, version: hash, expires: time.Now().Add(c.ttl)}
}

// Limiter counts failed logins per key (account or client address) in a
// sliding window and refuses further attempts once a key exceeds the limit,
// until the window passes. Success does not reset other keys, so an
// attacker cannot unlock an account by logging in elsewhere.
type Limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	fails  map[string][]time.Time
}

// NewLimiter allows max failures per key per window.
func NewLimiter(max int, window time.Duration) *Limiter {
	return &Limiter{max: max, window: window, fails: map[string][]time.Time{}}
}

func (l *Limiter) prune(key string, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) > l.window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = f
	}
	return f
}

// Blocked reports whether a key is over its limit, and for how long.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	f := l.prune(key, now)
	if len(f) < l.max {
		return false, 0
	}
	return true, l.window - now.Sub(f[0])
}

// Fail records a failure for a key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.fails[key] = append(l.prune(key, now), now)
}

// Reset clears a key after a successful login.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}
