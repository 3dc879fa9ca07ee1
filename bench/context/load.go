package main

import (
	"fmt"

	"github.com/ferryhq/ferry/bench/internal/measure"
)

// busyPct is the share of the machine that other processes (kernel
// writeback and the Engine's one image lookup per plan included) may use
// before the report warns that timings are inflated.
const busyPct = 10.0

// loadText describes the machine load for the report.
func loadText(l measure.Load) string {
	if !l.Measured {
		return "machine load: not measured (no /proc/stat)"
	}
	s := fmt.Sprintf("other processes used %.1f CPU-s during the %.0f s of timed ferry runs and walks (%.1f%% of the machine)",
		l.OtherCPU, l.Wall, l.MachinePct)
	if l.MachinePct > busyPct {
		s += "\nWARNING: the machine was busy; timings are inflated and noisy: rerun on an idle machine"
	}
	return s
}
