package ews

import (
	"net/http"

	"github.com/actasmail/actas/internal/autodiscover"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestExchangelibInterop runs the unmodified exchangelib client (Debian's
// python3-exchangelib) against the handler through a real HTTP server, as
// a service account impersonating a mailbox. It is skipped when exchangelib
// is not installed.
func TestExchangelibInterop(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import exchangelib").Run(); err != nil {
		t.Skip("exchangelib is not installed (apt-get install python3-exchangelib)")
	}
	if testing.Short() {
		t.Skip("short")
	}
	w := newWorld(t)
	srv := httptest.NewServer(w.h)
	defer srv.Close()
	args := []string{"testdata/exchangelib_interop.py", srv.URL + "/EWS/Exchange.asmx", w.svc.UserPrincipalName, "pw", w.alice.PrimarySmtpAddress, w.bob.PrimarySmtpAddress}
	if os.Getenv("EXCHANGELIB_DEBUG") != "" {
		args = append(args, "-v")
	}
	out, err := exec.Command(py, args...).CombinedOutput()
	t.Logf("%s", out)
	if err != nil || !strings.Contains(string(out), "DONE") {
		t.Fatalf("exchangelib: %v", err)
	}
	if len(w.folderItems(w.bob.ID, "inbox")) != 1 {
		t.Fatal("bob did not receive the message")
	}
}

// TestEwsJavascriptAPIInterop runs ews-javascript-api (npm) when
// EWSJS_NODE_MODULES names a node_modules directory that has it, e.g.
// after `npm install ews-javascript-api@0.15.3` in /tmp/ewsjs.
func TestEwsJavascriptAPIInterop(t *testing.T) {
	mods := os.Getenv("EWSJS_NODE_MODULES")
	if mods == "" {
		t.Skip("set EWSJS_NODE_MODULES to a node_modules with ews-javascript-api")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	w := newWorld(t)
	mux := http.NewServeMux()
	ad := autodiscover.New(w.dir, w.authn, func(r *http.Request) string { return "http://" + r.Host + "/EWS/Exchange.asmx" }, nil)
	mux.Handle("/EWS/", w.h)
	mux.Handle("/autodiscover/", ad)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base := srv.URL
	cmd := exec.Command("node", "testdata/ewsjs_interop.js", srv.URL+"/EWS/Exchange.asmx", w.svc.UserPrincipalName, "pw",
		w.alice.PrimarySmtpAddress, w.bob.PrimarySmtpAddress, w.vip.PrimarySmtpAddress, base)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil || !strings.Contains(string(out), "DONE") {
		t.Fatalf("ews-javascript-api: %v", err)
	}
}

// TestExchangelibAutodiscover runs exchangelib's POX and SOAP discovery
// against the autodiscover handler, then uses the URL it found.
func TestExchangelibAutodiscover(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import exchangelib").Run(); err != nil {
		t.Skip("exchangelib is not installed (apt-get install python3-exchangelib)")
	}
	w := newWorld(t)
	mux := http.NewServeMux()
	ad := autodiscover.New(w.dir, w.authn, func(r *http.Request) string { return "http://" + r.Host + "/EWS/Exchange.asmx" }, nil)
	mux.Handle("/EWS/", w.h)
	mux.Handle("/autodiscover/", ad)
	mux.Handle("/Autodiscover/", ad)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base := srv.URL
	out, err := exec.Command(py, "testdata/exchangelib_autodiscover.py", base, w.svc.UserPrincipalName, "pw",
		w.alice.PrimarySmtpAddress, base+"/EWS/Exchange.asmx").CombinedOutput()
	t.Logf("%s", out)
	if err != nil || !strings.Contains(string(out), "DONE") {
		t.Fatalf("exchangelib autodiscover: %v", err)
	}
}
