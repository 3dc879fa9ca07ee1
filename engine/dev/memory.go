package dev

import (
	"os"
	"runtime/debug"
)

// watchMemoryLimit is the soft limit on the Go heap of a watch, unless
// GOMEMLIMIT sets one. A watch lives for hours, and each run leaves garbage
// the size of the state file (14 MB at 100,000 files) behind: without a
// limit the heap grows to twice its peak before a collection, while the live
// heap of a 100,000-file watch is under 50 MB. The limit is soft: a
// workspace that needs more gets it, with more frequent collections.
const watchMemoryLimit = 100 << 20

// LimitMemory sets watchMemoryLimit unless the user set GOMEMLIMIT.
func LimitMemory() {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(watchMemoryLimit)
	}
}
