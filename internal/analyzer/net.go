package analyzer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Resolver is the DNS the analyzer uses; *net.Resolver satisfies it.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// DialFunc opens a connection (net.Dialer.DialContext's shape).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// netEnv is every network access of a run: DNS through the resolver,
// connections through dial, with --resolve overrides applied first. Tests
// inject all three so that nothing leaves the loopback interface.
type netEnv struct {
	resolver  Resolver
	dial      DialFunc
	overrides map[string]string // "host:port" (lower case) -> "address:port"
}

func (e *netEnv) override(hostport string) (string, bool) {
	a, ok := e.overrides[strings.ToLower(hostport)]
	return a, ok
}

// resolve returns the addresses to connect to for host:port.
func (e *netEnv) resolve(ctx context.Context, hostport string) ([]string, error) {
	if a, ok := e.override(hostport); ok {
		return []string{a}, nil
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip != nil {
		return []string{hostport}, nil
	}
	ips, err := e.resolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = net.JoinHostPort(ip.IP.String(), port)
	}
	return out, nil
}

// dialContext resolves and connects, trying each address in turn.
func (e *netEnv) dialContext(ctx context.Context, network, hostport string) (net.Conn, error) {
	addrs, err := e.resolve(ctx, hostport)
	if err != nil {
		return nil, err
	}
	var last error
	for _, a := range addrs {
		c, err := e.dial(ctx, network, a)
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// httpClient returns a client over the environment with the run's TLS
// settings. Redirects are never followed (ewsclient reports them).
func (e *netEnv) httpClient(tlsConf *tls.Config, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		DialContext:           e.dialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    false,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// classifyErr maps a transport error (no HTTP answer) to a diagnosis key
// and a short description. dialing says the error came from opening the
// TCP connection itself.
func classifyErr(err error, dialing bool) (key, text string) {
	text = err.Error()
	var dnsErr *net.DNSError
	var uaErr x509.UnknownAuthorityError
	var hnErr x509.HostnameError
	var ciErr x509.CertificateInvalidError
	var rhErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "dns-not-found", fmt.Sprintf("DNS: no such host %q", dnsErr.Name)
		}
		return "dns-failure", "DNS: " + dnsErr.Error()
	case errors.As(err, &uaErr):
		if c := uaErr.Cert; c != nil && isSelfSigned(c) && !c.IsCA {
			return "tls-self-signed", "TLS: the certificate is self-signed (" + c.Subject.String() + ")"
		}
		return "tls-untrusted", "TLS: " + uaErr.Error()
	case errors.As(err, &hnErr):
		return "tls-name-mismatch", "TLS: " + hnErr.Error()
	case errors.As(err, &ciErr):
		switch ciErr.Reason {
		case x509.Expired:
			if ciErr.Cert != nil && time.Now().Before(ciErr.Cert.NotBefore) {
				return "tls-not-yet-valid", "TLS: " + ciErr.Error()
			}
			return "tls-expired", "TLS: " + ciErr.Error()
		}
		return "tls-invalid", "TLS: " + ciErr.Error()
	case errors.As(err, &rhErr):
		return "tls-handshake", "TLS: the server did not answer with TLS (plain HTTP on this port?)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "tcp-refused", "TCP: connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "tcp-unreachable", "TCP: " + text
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		if dialing {
			return "tcp-timeout", "TCP: connection timed out"
		}
		return "timeout", "timed out waiting for the server"
	case strings.Contains(text, "tls:"):
		return "tls-handshake", text
	}
	return "transport", text
}

// isSelfSigned reports whether a certificate signs itself. A self-signed
// server certificate (not a CA) is what development setups and fresh
// Exchange installations use.
func isSelfSigned(c *x509.Certificate) bool {
	return c.Subject.String() == c.Issuer.String() && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
