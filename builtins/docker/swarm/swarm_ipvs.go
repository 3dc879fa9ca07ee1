package swarm

import (
	"bytes"
	"os"
	"runtime"
)

// ipvsMissing says why this machine's kernel has no IPVS, which Swarm's
// ingress routing mesh and virtual-IP service addresses need, or returns ""
// when it has it (or when this is not Linux, where ferry cannot tell).
func ipvsMissing() string {
	if runtime.GOOS != "linux" {
		return ""
	}
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		return ""
	}
	if mods, err := os.ReadFile("/proc/modules"); err == nil && bytes.Contains(mods, []byte("ip_vs ")) {
		return ""
	}
	return "no /proc/net/ip_vs, and the ip_vs module is not loaded"
}
