package engine

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// StartProfiling writes the profiles FERRY_CPUPROFILE and FERRY_MEMPROFILE
// name, and says on stderr which it could not write.
func TestStartProfiling(t *testing.T) {
	rate := runtime.MemProfileRate
	t.Cleanup(func() { runtime.MemProfileRate = rate })
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	t.Setenv("FERRY_CPUPROFILE", cpu)
	t.Setenv("FERRY_MEMPROFILE", mem)
	var stderr strings.Builder
	StartProfiling(&stderr)()
	for _, p := range []string{cpu, mem} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v, want a profile", p, err)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
	t.Setenv("FERRY_CPUPROFILE", filepath.Join(dir, "no", "cpu.pprof"))
	t.Setenv("FERRY_MEMPROFILE", "")
	StartProfiling(&stderr)()
	if !strings.HasPrefix(stderr.String(), "ferry: FERRY_CPUPROFILE: open ") {
		t.Errorf("stderr: %q, want the failure", stderr.String())
	}
}
