// Package datadir manages the files of an Actas data directory besides the
// database: the single-server lock, the connection file that lets
// `actas shell --data DIR` find the running server, secrets written with
// mode 0600, and the self-signed TLS certificate.
package datadir

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// File names inside the data directory.
const (
	AdminPasswordFile = "admin-password"
	ConnectionFile    = "server.json"
	SystemTokenFile   = "system-token"
	lockFile          = "actas.lock"
)

// Lock is an exclusive lock on a data directory, held by the server.
type Lock struct{ f *os.File }

// ErrLocked means another process (a running server) holds the lock.
var ErrLocked = errors.New("the data directory is in use by a running actas server")

// Acquire takes the data directory's lock without waiting.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	return &Lock{f: f}, nil
}

// Release releases the lock.
func (l *Lock) Release() { l.f.Close() }

// Connection is what a running server publishes for local clients.
type Connection struct {
	URL      string `json:"url"`
	Admin    string `json:"admin"`    // the first organization's administrator UPN
	Insecure bool   `json:"insecure"` // the certificate is self-signed
	PID      int    `json:"pid"`
}

// WriteSecret writes a file readable only by its owner.
func WriteSecret(dir, name, content string) error {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return os.Chmod(p, 0o600)
}

// ReadSecret reads a secret file, trimming the trailing newline.
func ReadSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// WriteConnection publishes the running server's address.
func WriteConnection(dir string, c Connection) error {
	b, _ := json.MarshalIndent(c, "", "  ")
	return WriteSecret(dir, ConnectionFile, string(b)+"\n")
}

// ReadConnection reads the running server's address.
func ReadConnection(dir string) (*Connection, error) {
	b, err := os.ReadFile(filepath.Join(dir, ConnectionFile))
	if err != nil {
		return nil, err
	}
	var c Connection
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("read %s: %w", ConnectionFile, err)
	}
	return &c, nil
}

// RemoveConnection removes the connection file at shutdown.
func RemoveConnection(dir string) { os.Remove(filepath.Join(dir, ConnectionFile)) }

// SelfSigned returns the data directory's self-signed certificate for the
// given host names, creating (or renewing, when expired or for other names)
// DIR/tls/cert.pem and key.pem.
func SelfSigned(dir string, hosts []string) (tls.Certificate, error) {
	tdir := filepath.Join(dir, "tls")
	certPath, keyPath := filepath.Join(tdir, "cert.pem"), filepath.Join(tdir, "key.pem")
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && covers(c, hosts) {
		return c, nil
	}
	if err := os.MkdirAll(tdir, 0o700); err != nil {
		return tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"Actas self-signed"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	if err := WriteSecret(tdir, "key.pem", string(keyPEM)); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

func covers(c tls.Certificate, hosts []string) bool {
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil || time.Now().After(leaf.NotAfter.Add(-24*time.Hour)) {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}
