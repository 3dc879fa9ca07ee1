package main

import (
	"fmt"

	"github.com/ferryhq/ferry/bench/internal/measure"
)

// busyThresholdPct is the share of the machine other processes may use
// before the report warns that the timings are inflated.
const busyThresholdPct = 5.0

// loadText describes the CPU other processes used, for the table.
func loadText(l measure.Load) string {
	if !l.Measured {
		return "machine load: not measured (no /proc/stat)"
	}
	s := fmt.Sprintf("other processes used %.1f CPU-s during the %.0f s of measurement (%.1f%% of the machine)",
		l.OtherCPU, l.Wall, l.MachinePct)
	if l.MachinePct > busyThresholdPct {
		s += "\nWARNING: the machine was busy; timings are inflated and noisy: rerun on an idle machine"
	}
	return s
}
