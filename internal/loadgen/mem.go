package loadgen

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// memory is one reading of the process's memory after a forced collection
// that also returns freed pages to the OS (debug.FreeOSMemory), so two
// readings differ by what is live, not by what the collector has yet to
// give back.
type memory struct {
	RSS  int64 // resident set size in bytes (VmRSS); 0 where /proc is missing
	Heap int64 // live Go heap in bytes
}

func readMemory() memory {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memory{RSS: vmRSS(), Heap: int64(ms.HeapAlloc)}
}

// vmRSS returns the VmRSS line of /proc/self/status in bytes, 0 when it
// cannot be read (not Linux).
func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return parseVmRSS(b)
}

func parseVmRSS(status []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 3 && string(f[0]) == "VmRSS:" && string(f[2]) == "kB" {
			n, err := strconv.ParseInt(string(f[1]), 10, 64)
			if err != nil {
				return 0
			}
			return n << 10
		}
	}
	return 0
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
