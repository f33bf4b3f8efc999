// Package server is Actas's HTTP front door: authentication, request
// limits, logging and panic recovery around the admin cmdlet API and the
// health endpoint.
package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/actasmail/actas/internal/adminapi"
	"github.com/actasmail/actas/internal/auth"
	"github.com/actasmail/actas/internal/cmdlet"
	d "github.com/actasmail/actas/internal/directory"
)

// Server serves Actas over HTTP.
type Server struct {
	reg   *cmdlet.Registry
	dir   *d.Directory
	log   *slog.Logger
	cache *auth.Cache
	// Failed logins are limited per account and client address (tight),
	// per account from anywhere (loose, so that one attacker address cannot
	// lock a user out) and per client address (against spraying).
	perPair, perUser, perAddr *auth.Limiter
	// SystemToken authorizes organization management (actas org add) while
	// the server runs; empty disables the endpoint.
	SystemToken string
	// EWS serves /EWS/Exchange.asmx and Autodiscover /autodiscover/...,
	// both matched case-insensitively as IIS does; nil leaves them unserved.
	EWS          http.Handler
	Autodiscover http.Handler
	reqID        atomic.Uint64
}

// New returns a server over a cmdlet registry.
func New(reg *cmdlet.Registry, log *slog.Logger) *Server {
	return &Server{
		reg: reg, dir: reg.Directory(), log: log,
		cache:   auth.NewCache(5 * time.Minute),
		perPair: auth.NewLimiter(10, 5*time.Minute),
		perUser: auth.NewLimiter(100, 5*time.Minute),
		perAddr: auth.NewLimiter(50, 5*time.Minute),
	}
}

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.Handle("GET "+adminapi.PathCmdlets, s.authenticated(s.listCmdlets))
	mux.Handle("POST "+adminapi.PathInvoke, s.authenticated(s.invoke))
	mux.HandleFunc("POST /admin/v1/system/orgs", s.createOrg)
	return s.recoverAndLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.ToLower(r.URL.Path)
		switch {
		case s.EWS != nil && (p == "/ews/exchange.asmx" || p == "/ews/exchange.asmx/"):
			s.EWS.ServeHTTP(w, r)
		case s.Autodiscover != nil && strings.HasPrefix(p, "/autodiscover/"):
			s.Autodiscover.ServeHTTP(w, r)
		default:
			mux.ServeHTTP(w, r)
		}
	}))
}

type ctxKey int

const callerKey ctxKey = 1

// Caller returns the authenticated recipient id of a request.
func Caller(ctx context.Context) string { v, _ := ctx.Value(callerKey).(string); return v }

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Authenticate verifies HTTP Basic credentials against the directory and
// returns the account id. It applies the failed-login rate limits.
func (s *Server) Authenticate(r *http.Request) (string, error) {
	user, pw, ok := r.BasicAuth()
	if !ok || user == "" {
		return "", errNoCredentials
	}
	user = strings.ToLower(strings.TrimSpace(user))
	addr := clientAddr(r)
	pair := user + "\x00" + addr
	for _, lim := range []struct {
		l   *auth.Limiter
		key string
	}{{s.perPair, pair}, {s.perUser, user}, {s.perAddr, addr}} {
		if blocked, wait := lim.l.Blocked(lim.key); blocked {
			return "", &rateLimited{wait: wait}
		}
	}
	hashOf := func(id string) (h string) {
		_ = s.dir.Read(func(st *d.State) error {
			if rec := st.Recipient(id); rec != nil && !rec.AccountDisabled {
				h = rec.PasswordHash
			}
			return nil
		})
		return h
	}
	if id, ok := s.cache.Lookup(user, pw, hashOf); ok {
		return id, nil
	}
	var id, hash string
	_ = s.dir.Read(func(st *d.State) error {
		rec := st.RecipientByUPN(user)
		if rec == nil {
			rec = st.RecipientBySMTP(user)
		}
		if rec != nil && !rec.AccountDisabled && rec.IsMailbox() {
			id, hash = rec.ID, rec.PasswordHash
		}
		return nil
	})
	if id == "" || !auth.CheckPassword(hash, pw) {
		s.perPair.Fail(pair)
		s.perUser.Fail(user)
		s.perAddr.Fail(addr)
		s.log.Warn("login failed", "user", user, "addr", addr)
		return "", errBadCredentials
	}
	s.perPair.Reset(pair)
	s.cache.Store(user, pw, id, hash)
	return id, nil
}

var (
	errNoCredentials  = errors.New("no credentials")
	errBadCredentials = errors.New("wrong user name or password")
)

type rateLimited struct{ wait time.Duration }

func (e *rateLimited) Error() string {
	return fmt.Sprintf("too many failed logins; try again in %s", e.wait.Round(time.Second))
}

// WriteAuthError answers a failed authentication: 429 with Retry-After when
// rate limited, else 401 with the Basic challenge.
func WriteAuthError(w http.ResponseWriter, err error) {
	var rl *rateLimited
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", fmt.Sprint(int(rl.wait.Seconds())+1))
		http.Error(w, rl.Error(), http.StatusTooManyRequests)
		return
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="Actas"`)
	http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
}

func (s *Server) authenticated(next func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := s.Authenticate(r)
		if err != nil {
			WriteAuthError(w, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), callerKey, id)))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) listCmdlets(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.reg.List(Caller(r.Context())))
}

const maxAdminBody = 16 << 20

func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	var req adminapi.Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, adminapi.Response{Error: &adminapi.Error{
			Message: "The request could not be read: " + err.Error(), Category: "InvalidArgument", Exception: "ArgumentException", ErrorID: "BadRequest"}})
		return
	}
	req.Params = normalizeNumbers(req.Params).(map[string]any)
	resp := s.reg.Invoke(r.Context(), Caller(r.Context()), req)
	if resp.Error != nil {
		s.log.Info("cmdlet failed", "cmdlet", req.Cmdlet, "caller", Caller(r.Context()), "error", resp.Error.Message)
	} else {
		s.log.Info("cmdlet", "cmdlet", req.Cmdlet, "caller", Caller(r.Context()), "objects", len(resp.Objects))
	}
	writeJSON(w, http.StatusOK, resp)
}

// normalizeNumbers turns json.Number into float64 throughout a decoded value.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = normalizeNumbers(x[i])
		}
		return x
	case map[string]any:
		if x == nil {
			return map[string]any{}
		}
		for k := range x {
			x[k] = normalizeNumbers(x[k])
		}
		return x
	case nil:
		return map[string]any{}
	}
	return v
}

// OrgRequest creates an organization through the system endpoint.
type OrgRequest struct {
	Name          string `json:"name"`
	Domain        string `json:"domain"`
	AdminPassword string `json:"adminPassword"`
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if s.SystemToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.SystemToken)) != 1 {
		http.Error(w, "403 Forbidden", http.StatusForbidden)
		return
	}
	var req OrgRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	org, admin, err := cmdlet.CreateOrganization(r.Context(), s.dir, req.Name, req.Domain, req.AdminPassword)
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	s.log.Info("organization created", "org", org.Name, "domain", org.DefaultDomain())
	writeJSON(w, http.StatusOK, map[string]string{"org": org.Name, "admin": admin.UserPrincipalName})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (Flush and
// SetWriteDeadline for EWS streaming notifications).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) recoverAndLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := s.reqID.Add(1)
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic", "request", id, "path", r.URL.Path, "panic", p)
				if sw.status == 0 {
					writeJSON(sw, http.StatusInternalServerError, adminapi.Response{Error: &adminapi.Error{
						Message: fmt.Sprintf("An internal error occurred (request %d); nothing was changed.", id), Category: "NotSpecified", Exception: "InternalServerErrorException"}})
				}
			}
			s.log.Debug("http", "request", id, "method", r.Method, "path", r.URL.Path, "status", sw.status, "elapsed", time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}
