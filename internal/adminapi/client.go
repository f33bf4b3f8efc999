package adminapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls a server's cmdlet endpoint with HTTP Basic credentials.
type Client struct {
	BaseURL  string // e.g. http://127.0.0.1:8080
	User     string
	Password string
	HTTP     *http.Client
}

// NewClient returns a client; insecure skips TLS verification (for
// self-signed development certificates).
func NewClient(baseURL, user, password string, insecure bool) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // operator asked for it
	}
	return &Client{
		BaseURL:  strings.TrimRight(baseURL, "/"),
		User:     user,
		Password: password,
		HTTP:     &http.Client{Transport: tr, Timeout: 5 * time.Minute},
	}
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.SetBasicAuth(c.User, c.Password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return &Error{Message: fmt.Sprintf("Connecting to remote server %s failed: Access is denied (wrong user name or password for %q).", c.BaseURL, c.User),
			Category: "OpenError", Exception: "PSRemotingTransportException", ErrorID: "AccessDenied,PSSessionOpenFailed"}
	case resp.StatusCode != http.StatusOK:
		var r Response
		if json.Unmarshal(data, &r) == nil && r.Error != nil {
			return r.Error
		}
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// Cmdlets lists the cmdlets the caller may run.
func (c *Client) Cmdlets(ctx context.Context) ([]CmdletInfo, error) {
	var out []CmdletInfo
	err := c.do(ctx, http.MethodGet, PathCmdlets, nil, &out)
	return out, err
}

// Invoke runs one cmdlet. A cmdlet failure is returned as a *Response with
// Error set, not as a Go error; a Go error means the call itself failed.
func (c *Client) Invoke(ctx context.Context, req Request) (*Response, error) {
	var out Response
	if err := c.do(ctx, http.MethodPost, PathInvoke, req, &out); err != nil {
		if e, ok := err.(*Error); ok {
			return &Response{Error: e}, nil
		}
		return nil, err
	}
	return &out, nil
}
