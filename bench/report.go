package main

import (
	"fmt"
	"github.com/ferryhq/ferry/bench/internal/measure"
	"io"
)

// Report holds every figure of one bench run. Times are in milliseconds,
// memory in KiB (as getrusage reports it on Linux).
type Report struct {
	Layout       Layout    `json:"layout"`
	Tasks        int       `json:"tasks"`
	Files        int       `json:"files"`
	Jobs         int       `json:"jobs"`
	Platform     string    `json:"platform"`
	FerryVersion string    `json:"ferry_version"`
	MakeVersion  string    `json:"make_version"`
	Workspace    string    `json:"workspace,omitempty"` // kept with -keep
	Runs         RunCounts `json:"runs"`
	// PlainMake says whether make without -r was measured (-plain-make).
	PlainMake bool `json:"plain_make"`

	Ferry ToolFigures `json:"ferry"`
	Make  ToolFigures `json:"make"`   // make -j N, as a user runs it
	MakeR ToolFigures `json:"make_r"` // make -r -j N: no builtin implicit rules

	// FerryExplicitNoop is ferry's no-op run with srcs written as explicit
	// lists instead of glob, to show what glob costs.
	FerryExplicitNoop Stats `json:"ferry_explicit_noop"`
	// EditedFile is the source rewritten before each one-file run.
	EditedFile string `json:"edited_file"`
	// Commands is the time of the edited chain's commands run alone, one
	// after the other, each with /bin/sh -c: the floor of a one-file run.
	Commands Stats `json:"commands_own_time"`
	// EvalGlob and EvalExplicit time engine.Evaluate in process.
	EvalGlob     Stats `json:"eval_glob"`
	EvalExplicit Stats `json:"eval_explicit"`
	// Version times `ferry version`: process start-up.
	Version Stats `json:"ferry_version_time"`

	// Machine is the CPU other processes used during the measurement.
	Machine measure.Load `json:"machine"`

	Targets []Target `json:"targets"`
}

// RunCounts are how many timed runs each median is taken over.
type RunCounts struct {
	Noop    int `json:"noop"`
	OneFile int `json:"one_file"`
	Eval    int `json:"eval"`
	Version int `json:"version"`
}

// ToolFigures are one tool's timings and memory.
type ToolFigures struct {
	Cold         Stats `json:"cold"`
	Noop         Stats `json:"noop"`
	OneFile      Stats `json:"one_file"`
	ColdMaxRSSKB int64 `json:"cold_max_rss_kib"`
	// NoopMaxRSSKB is the largest peak over the timed no-op runs; only
	// measured for ferry.
	NoopMaxRSSKB int64 `json:"noop_max_rss_kib,omitempty"`
}

// A Target is one of ferry's performance goals and whether this run met it.
type Target struct {
	Goal string `json:"goal"`
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
}

// Limits of the targets.
const (
	noopSpeedup    = 10.0  // ferry no-op at least this many times faster than make's
	oneFileSlackMS = 100.0 // one-file run at most this much over the commands' own time
	evalLimitMS    = 12.0  // evaluation of the 500-rule ferry.star
	rssLimitMB     = 100.0 // peak RSS, in MB of 10^6 bytes
	versionLimitMS = 20.0  // `ferry version`
)

// targets judges the report against ferry's performance targets.
func targets(r *Report) []Target {
	speedup := ratio(r.Make.Noop.Median, r.Ferry.Noop.Median)
	speedupR := ratio(r.MakeR.Noop.Median, r.Ferry.Noop.Median)
	over := r.Ferry.OneFile.Median - r.Commands.Median
	peak := max(r.Ferry.ColdMaxRSSKB, r.Ferry.NoopMaxRSSKB)
	var ts []Target
	if r.PlainMake {
		ts = append(ts, Target{
			Goal: fmt.Sprintf("ferry no-op ≥ %.0f× faster than make's no-op", noopSpeedup),
			Got: fmt.Sprintf("make %s / ferry %s = %.1f× (vs make -r: %.1f×)",
				fmtMS(r.Make.Noop.Median), fmtMS(r.Ferry.Noop.Median), speedup, speedupR),
			Pass: speedup >= noopSpeedup,
		})
	}
	for _, f := range []struct {
		what        string
		ferry, make float64
	}{
		{"cold run", r.Ferry.Cold.Median, r.MakeR.Cold.Median},
		{"no-op run", r.Ferry.Noop.Median, r.MakeR.Noop.Median},
		{"one-file run", r.Ferry.OneFile.Median, r.MakeR.OneFile.Median},
	} {
		ts = append(ts, Target{
			Goal: fmt.Sprintf("%s at or below make -r's", f.what),
			Got:  fmt.Sprintf("ferry %s, make -r %s: make-r÷ferry %.2f×", fmtMS(f.ferry), fmtMS(f.make), ratio(f.make, f.ferry)),
			Pass: f.ferry <= f.make,
		})
	}
	return append(ts, []Target{
		{
			Goal: fmt.Sprintf("one-file run within %.0f ms of the commands' own time", oneFileSlackMS),
			Got: fmt.Sprintf("ferry %s − commands %s = %s over",
				fmtMS(r.Ferry.OneFile.Median), fmtMS(r.Commands.Median), fmtMS(over)),
			Pass: over <= oneFileSlackMS,
		},
		{
			Goal: fmt.Sprintf("evaluation of the %d-rule ferry.star < %.0f ms", r.Tasks, evalLimitMS),
			Got:  fmt.Sprintf("%s with glob (%s with explicit srcs)", fmtMS(r.EvalGlob.Median), fmtMS(r.EvalExplicit.Median)),
			Pass: r.EvalGlob.Median < evalLimitMS,
		},
		{
			Goal: fmt.Sprintf("peak memory < %.0f MB", rssLimitMB),
			Got:  fmt.Sprintf("%s (cold %s, no-op %s)", fmtKB(peak), fmtKB(r.Ferry.ColdMaxRSSKB), fmtKB(r.Ferry.NoopMaxRSSKB)),
			Pass: mb(peak) < rssLimitMB,
		},
		{
			Goal: fmt.Sprintf("`ferry version` < %.0f ms", versionLimitMS),
			Got:  fmtMS(r.Version.Median),
			Pass: r.Version.Median < versionLimitMS,
		},
	}...)
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("ferry vs GNU make: %d tasks (%d chains of %d), %d source files (%d per task), -j %d",
		r.Tasks, r.Layout.Chains, r.Layout.Length, r.Files, r.Layout.FilesPerTask, r.Jobs)
	p("%s · %s · %s", r.FerryVersion, r.MakeVersion, r.Platform)
	if r.Workspace != "" {
		p("workspace kept in %s", r.Workspace)
	}
	p("")
	const row = "%-40s %11s %11s %11s %12s %13s"
	p(row, "", "ferry", "make", "make -r", "make÷ferry", "make-r÷ferry")
	times := func(label string, f func(*ToolFigures) float64) {
		fe, m, mr := f(&r.Ferry), f(&r.Make), f(&r.MakeR)
		if !r.PlainMake {
			p(row, label, fmtMS(fe), "", fmtMS(mr), "", fmtRatio(ratio(mr, fe)))
			return
		}
		p(row, label, fmtMS(fe), fmtMS(m), fmtMS(mr), fmtRatio(ratio(m, fe)), fmtRatio(ratio(mr, fe)))
	}
	times(fmt.Sprintf("cold run (%d tasks run)", r.Tasks), func(f *ToolFigures) float64 { return f.Cold.Median })
	times(fmt.Sprintf("no-op run (median of %d)", r.Runs.Noop), func(f *ToolFigures) float64 { return f.Noop.Median })
	times(fmt.Sprintf("one-file run, %d tasks (median of %d)", r.Layout.Length, r.Runs.OneFile), func(f *ToolFigures) float64 { return f.OneFile.Median })
	times("  its overhead over the commands", func(f *ToolFigures) float64 { return f.OneFile.Median - r.Commands.Median })
	p(row, "peak RSS, cold run", fmtKB(r.Ferry.ColdMaxRSSKB), fmtKB(r.Make.ColdMaxRSSKB), fmtKB(r.MakeR.ColdMaxRSSKB), "", "")
	p(row, "peak RSS, no-op run (largest)", fmtKB(r.Ferry.NoopMaxRSSKB), "", "", "", "")
	p("")
	const row2 = "%-64s %11s"
	p(row2, fmt.Sprintf("commands' own time: %d × sh -c 'cat …' in sequence (median of %d)", r.Layout.Length, r.Runs.OneFile), fmtMS(r.Commands.Median))
	p(row2, fmt.Sprintf("ferry no-op run, srcs as explicit lists (median of %d)", r.Runs.Noop), fmtMS(r.FerryExplicitNoop.Median))
	p(row2, fmt.Sprintf("ferry.star evaluation in process, glob (median of %d)", r.Runs.Eval), fmtMS(r.EvalGlob.Median))
	p(row2, fmt.Sprintf("ferry.star evaluation in process, explicit srcs (median of %d)", r.Runs.Eval), fmtMS(r.EvalExplicit.Median))
	p(row2, fmt.Sprintf("`ferry version` (median of %d)", r.Runs.Version), fmtMS(r.Version.Median))
	p("")
	p("no-op spread (min–max): ferry %s–%s, make %s–%s, make -r %s–%s",
		fmtMS(r.Ferry.Noop.Min), fmtMS(r.Ferry.Noop.Max), fmtMS(r.Make.Noop.Min), fmtMS(r.Make.Noop.Max),
		fmtMS(r.MakeR.Noop.Min), fmtMS(r.MakeR.Noop.Max))
	p("one-file spread (min–max): ferry %s–%s, make %s–%s, make -r %s–%s; edited %s",
		fmtMS(r.Ferry.OneFile.Min), fmtMS(r.Ferry.OneFile.Max), fmtMS(r.Make.OneFile.Min), fmtMS(r.Make.OneFile.Max),
		fmtMS(r.MakeR.OneFile.Min), fmtMS(r.MakeR.OneFile.Max), r.EditedFile)
	p("")
	p("%s", loadText(r.Machine))
	p("")
	p("targets")
	failed := 0
	for _, t := range r.Targets {
		verdict := "PASS"
		if !t.Pass {
			verdict = "FAIL"
			failed++
		}
		p("  %s  %-54s %s", verdict, t.Goal, t.Got)
	}
	p("")
	if failed == 0 {
		p("all %d targets met", len(r.Targets))
	} else {
		p("%d of %d targets FAILED (outputs were checked: the runs themselves were correct)", failed, len(r.Targets))
	}
}

// ratio returns a/b, or 0 when b is not positive.
func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// fmtMS formats milliseconds for the table.
func fmtMS(v float64) string {
	switch {
	case v >= 1000 || v <= -1000:
		return fmt.Sprintf("%.2f s", v/1000)
	case v >= 100 || v <= -100:
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

// fmtRatio formats a ratio, empty when unknown.
func fmtRatio(v float64) string {
	if v <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f×", v)
}

// mb converts KiB to MB of 10^6 bytes.
func mb(kib int64) float64 { return float64(kib) * 1024 / 1e6 }

// fmtKB formats a KiB figure as MB, empty when not measured.
func fmtKB(kib int64) string {
	if kib <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f MB", mb(kib))
}
