package main

import "github.com/ferryhq/ferry/bench/internal/measure"

// busyPct is the share of the machine that other processes (the Engine
// included) may use before the report warns that timings are inflated.
const busyPct = 15.0

// loadText describes the machine load for the report.
func loadText(l measure.Load) string {
	return l.Describe("other processes (the Docker Engine included)", "timed runs", busyPct)
}
