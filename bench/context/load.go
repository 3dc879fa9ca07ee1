package main

import "github.com/ferryhq/ferry/bench/internal/measure"

// busyPct is the share of the machine that other processes (kernel
// writeback and the Engine"s one image lookup per plan included) may use
// before the report warns that timings are inflated.
const busyPct = 10.0

// loadText describes the machine load for the report.
func loadText(l measure.Load) string {
	return l.Describe("other processes", "timed ferry runs and walks", busyPct)
}
