package dev

import (
	"os"
	"runtime/debug"
	"testing"
)

// LimitMemory sets the watch's soft limit, unless GOMEMLIMIT sets one.
func TestLimitMemory(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetMemoryLimit(old)
	LimitMemory()
	if got := debug.SetMemoryLimit(-1); got != old {
		t.Errorf("with GOMEMLIMIT set, the limit is %d, want it left at %d", got, old)
	}
	os.Unsetenv("GOMEMLIMIT")
	LimitMemory()
	if got := debug.SetMemoryLimit(-1); got != watchMemoryLimit {
		t.Errorf("the limit is %d, want %d", got, watchMemoryLimit)
	}
}
