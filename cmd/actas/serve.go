package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/actasmail/actas/internal/auth"
	"github.com/actasmail/actas/internal/autodiscover"
	"github.com/actasmail/actas/internal/cmdlet"
	"github.com/actasmail/actas/internal/datadir"
	d "github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/ews"
	"github.com/actasmail/actas/internal/mailbox"
	"github.com/actasmail/actas/internal/notify"
	"github.com/actasmail/actas/internal/server"
	"github.com/actasmail/actas/internal/store"
)

type serveOpts struct {
	data, listen, domain     string
	tlsCert, tlsKey          string
	selfSigned, insecureHTTP bool
	demo, verbose            bool
	maxRequest               int64
	maxDepth, maxElements    int
	readTimeout, idleTimeout time.Duration
}

func serveCmd() *cobra.Command {
	var o serveOpts
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the Actas server",
		Long: `Run the Actas server on a data directory. On first start it creates the
organization for --domain (or, with --demo, the contoso.test demo organization)
and an administrator admin@DOMAIN whose password is printed once and written to
DATA/admin-password.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return serve(cmd.Context(), o) },
	}
	f := c.Flags()
	f.StringVar(&o.data, "data", "./actas-data", "data directory")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&o.domain, "domain", "", "the organization's first accepted domain (needed on first start unless --demo)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM)")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	f.BoolVar(&o.selfSigned, "tls-self-signed", false, "serve HTTPS with a self-signed certificate kept in DATA/tls")
	f.BoolVar(&o.insecureHTTP, "insecure-http", false, "allow plain HTTP on a non-loopback address")
	f.BoolVar(&o.demo, "demo", false, "create the contoso.test demo organization on first start")
	f.BoolVar(&o.verbose, "verbose", false, "log every HTTP request")
	f.Int64Var(&o.maxRequest, "max-request-bytes", 32<<20, "largest EWS request body accepted")
	f.IntVar(&o.maxDepth, "max-xml-depth", 200, "deepest XML nesting accepted in an EWS request")
	f.IntVar(&o.maxElements, "max-xml-elements", 1_000_000, "most XML elements accepted in an EWS request")
	f.DurationVar(&o.readTimeout, "read-timeout", 2*time.Minute, "time allowed to read a whole request")
	f.DurationVar(&o.idleTimeout, "idle-timeout", 2*time.Minute, "how long an idle keep-alive connection stays open")
	return c
}

func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func serve(ctx context.Context, o serveOpts) error {
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	useTLS := o.selfSigned || o.tlsCert != ""
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if !useTLS && !isLoopback(o.listen) && !o.insecureHTTP {
		return fmt.Errorf("refusing plain HTTP on %s, which is not a loopback address: passwords would cross the network in clear. Use --tls-cert/--tls-key or --tls-self-signed, or --insecure-http if you really mean it", o.listen)
	}
	lock, err := datadir.Acquire(o.data)
	if err != nil {
		return err
	}
	defer lock.Release()

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := store.OpenSQLite(ctx, o.data)
	if err != nil {
		return err
	}
	defer st.Close()
	dir, err := d.Open(ctx, st)
	if err != nil {
		return err
	}
	reg := cmdlet.New(dir, log)
	boxes := mailbox.Open(st.DB()).WithReader(st.ReadDB())
	reg.SetMailboxes(boxes)
	adminUPN, err := firstStart(ctx, o, dir, reg)
	if err != nil {
		return err
	}

	srv := server.New(reg, log)
	ewsHandler := ews.New(dir, boxes, srv.Authenticate, log, ews.Options{AuthError: server.WriteAuthError,
		MaxRequestBytes: o.maxRequest, MaxDepth: o.maxDepth, MaxElements: o.maxElements})
	ewsHandler.SetBudgets(func(callerID string) notify.Budget { return throttlingBudget(dir, callerID) })
	resumed, err := ewsHandler.ResumeSubscriptions(ctx, notify.NewSQLPersister(st.DB()))
	if err != nil {
		return err
	}
	if resumed > 0 {
		log.Info("subscriptions resumed", "count", resumed)
	}
	defer ewsHandler.Close() // after the HTTP server stopped: writes the subscriptions' cursors
	srv.EWS = ewsHandler
	ad := autodiscover.New(dir, srv.Authenticate, ewsURL, log)
	ad.AuthError = server.WriteAuthError
	srv.Autodiscover = ad
	srv.SystemToken = auth.RandomPassword(40)
	if err := datadir.WriteSecret(o.data, datadir.SystemTokenFile, srv.SystemToken+"\n"); err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       o.readTimeout,
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       o.idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
		var cert tls.Certificate
		if o.tlsCert != "" {
			cert, err = tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		} else {
			host, _, _ := net.SplitHostPort(o.listen)
			hosts := []string{"localhost", "127.0.0.1", "::1"}
			if host != "" && host != "0.0.0.0" && host != "::" {
				hosts = append([]string{host}, hosts...)
			}
			if h, herr := os.Hostname(); herr == nil {
				hosts = append(hosts, h)
			}
			cert, err = datadir.SelfSigned(o.data, hosts)
		}
		if err != nil {
			ln.Close()
			return fmt.Errorf("TLS certificate: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	url := scheme + "://" + connectAddr(ln.Addr().String())
	if err := datadir.WriteConnection(o.data, datadir.Connection{URL: url, Admin: adminUPN, Insecure: o.selfSigned, PID: os.Getpid()}); err != nil {
		ln.Close()
		return err
	}
	defer datadir.RemoveConnection(o.data)
	defer os.Remove(filepath.Join(o.data, datadir.SystemTokenFile))

	log.Info("actas serving", "url", url, "data", o.data)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// throttlingBudget is the EWS budget of an account: its throttling policy
// (Set-ThrottlingPolicyAssociation), else its organization's policy, else
// the defaults. Read on every request, so a policy change applies at once.
func throttlingBudget(dir *d.Directory, callerID string) notify.Budget {
	var b notify.Budget
	_ = dir.Read(func(s *d.State) error {
		p := s.EffectiveThrottlingPolicy(s.Recipient(callerID))
		if p == nil {
			return nil
		}
		unlimited := func(n int) int {
			if n < 0 {
				return 1 << 30
			}
			return n
		}
		b = notify.Budget{Concurrency: unlimited(p.EwsMaxConcurrency), Subscriptions: unlimited(p.EwsMaxSubscriptions),
			Streaming: unlimited(p.EwsMaxStreamingConnections), FindCount: unlimited(p.EWSFindCountLimit)}
		return nil
	})
	return b
}

// ewsURL is the EWS URL as the client reached this server: its scheme and
// Host header (a proxy in front sets X-Forwarded-Proto).
func ewsURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/EWS/Exchange.asmx"
}

// connectAddr turns a wildcard listen address into one a local client can dial.
func connectAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// firstStart creates the first organization when the directory is empty and
// returns the administrator of the first organization.
func firstStart(ctx context.Context, o serveOpts, dir *d.Directory, reg *cmdlet.Registry) (string, error) {
	var orgs []*d.Org
	_ = dir.Read(func(s *d.State) error { orgs = s.Orgs(); return nil })
	if len(orgs) > 0 {
		first := orgs[0]
		for _, x := range orgs {
			if x.WhenCreated.Before(first.WhenCreated) {
				first = x
			}
		}
		return "admin@" + first.DefaultDomain(), nil
	}
	pw := auth.RandomPassword(20)
	if o.demo {
		userPw, svcPw := auth.RandomPassword(16), auth.RandomPassword(16)
		if _, err := cmdlet.CreateDemo(ctx, reg, pw, userPw, svcPw); err != nil {
			return "", err
		}
		if err := datadir.WriteSecret(o.data, datadir.AdminPasswordFile, pw+"\n"); err != nil {
			return "", err
		}
		if err := datadir.WriteSecret(o.data, "demo-passwords", fmt.Sprintf("users (alexw, meganb, leeg): %s\nservice account roomsvc@contoso.test: %s\n", userPw, svcPw)); err != nil {
			return "", err
		}
		fmt.Printf(`Created the demo organization contoso.test.

  Administrator:    admin@contoso.test
  Password:         %s   (shown once; also in %s)
  Users:            alexw, meganb, leeg @contoso.test, password %s
  Rooms:            everest, kilimanjaro (room list "Building 1 Rooms"), equipment projector1, shared helpdesk
  Service account:  roomsvc@contoso.test, password %s
                    ApplicationImpersonation scoped to room mailboxes (scope "Rooms")

Try:
  actas shell --data %s -c 'Test-ApplicationImpersonation roomsvc -Resource everest'
  actas shell --data %s -c 'Test-ApplicationImpersonation roomsvc -Resource alexw'

`, pw, filepath.Join(o.data, datadir.AdminPasswordFile), userPw, svcPw, o.data, o.data)
		return "admin@contoso.test", nil
	}
	if o.domain == "" {
		return "", errors.New("the data directory is new: give the organization's domain with --domain (or use --demo)")
	}
	_, admin, err := cmdlet.CreateOrganization(ctx, dir, o.domain, o.domain, pw)
	if err != nil {
		return "", err
	}
	if err := datadir.WriteSecret(o.data, datadir.AdminPasswordFile, pw+"\n"); err != nil {
		return "", err
	}
	fmt.Printf("Created organization %s.\n\n  Administrator: %s\n  Password:      %s   (shown once; also in %s)\n\nManage it with: actas shell --data %s\n\n",
		o.domain, admin.UserPrincipalName, pw, filepath.Join(o.data, datadir.AdminPasswordFile), o.data)
	return admin.UserPrincipalName, nil
}
