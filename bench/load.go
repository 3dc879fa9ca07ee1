package main

import "github.com/ferryhq/ferry/bench/internal/measure"

// busyPct is the share of the machine other processes may use before the
// report warns that the timings are inflated.
const busyPct = 5.0

// loadText describes the machine load for the report.
func loadText(l measure.Load) string {
	return l.Describe("other processes", "measurement", busyPct)
}
