package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSyncExchangelib runs sync_exchangelib.py (SyncFolderItems,
// SyncFolderHierarchy and notifications) with Debian's exchangelib against
// a fresh server with the common fixture.
func TestSyncExchangelib(t *testing.T) {
	py := os.Getenv("ACTAS_INTEROP_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	out, err := exec.Command(py, "-c", "import exchangelib; print(exchangelib.__version__)").CombinedOutput()
	if err != nil {
		missing(t, "exchangelib for "+py, "apt-get install -y --no-install-recommends python3-exchangelib")
	}
	t.Logf("exchangelib %s (%s)", strings.TrimSpace(string(out)), py)
	dir := here(t)
	runSuite(t, "sync exchangelib", []string{py, filepath.Join(dir, "sync_exchangelib.py")}, dir)
}

// TestSyncEwsJavascriptAPI runs js/sync_ewsjs.js (SyncFolderItems, pull,
// streaming and push subscriptions, the push callback served by the suite)
// with the pinned ews-javascript-api.
func TestSyncEwsJavascriptAPI(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node", "apt-get install -y nodejs npm && npm ci --prefix test/interop/js")
	}
	dir := filepath.Join(here(t), "js")
	probe := exec.Command(node, "-e", `console.log(require("ews-javascript-api/package.json").version)`)
	probe.Dir = dir
	if _, err := probe.CombinedOutput(); err != nil {
		missing(t, "ews-javascript-api", "npm ci --prefix test/interop/js")
	}
	runSuite(t, "sync ews-javascript-api", []string{node, filepath.Join(dir, "sync_ewsjs.js")}, dir)
}
