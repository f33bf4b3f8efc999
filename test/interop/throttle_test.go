package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestThrottleExchangelib: with a throttling policy of one concurrent
// request for the service account, concurrent requests get the documented
// ErrorServerBusy fault with a back-off hint (exchangelib's default
// FailFast policy raises it), and exchangelib's FaultTolerance policy backs
// off and succeeds.
func TestThrottleExchangelib(t *testing.T) {
	py := os.Getenv("ACTAS_INTEROP_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if err := exec.Command(py, "-c", "import exchangelib").Run(); err != nil {
		missing(t, "exchangelib for "+py, "apt-get install -y --no-install-recommends python3-exchangelib")
	}
	dir := here(t)
	runSuite(t, "throttle exchangelib", []string{py, filepath.Join(dir, "throttle_exchangelib.py")}, dir, func(s *server) {
		s.ok(`New-ThrottlingPolicy -Name "One At A Time" -EwsMaxConcurrency 1
Set-ThrottlingPolicyAssociation -Identity svc -ThrottlingPolicy "One At A Time"`)
	})
}
