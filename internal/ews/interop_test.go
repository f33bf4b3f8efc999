package ews

import (
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
