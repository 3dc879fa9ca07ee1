// Command bench measures ferry against GNU make on a generated workspace.
//
// It generates, in a temporary folder, a workspace of 500 tasks (50 chains
// of 10; task t of a chain depends on task t-1) with 20 source files each,
// declared once in a ferry.star and once in an equivalent Makefile, and
// measures for both tools a cold run, a no-op run and a run after one
// source file changed, plus ferry's evaluation time, peak memory and
// start-up time. It prints a table with PASS/FAIL against ferry's
// performance targets (or JSON with -json), and exits 0 whatever the
// figures: it exits non-zero only when a run failed or produced wrong
// outputs, which would make the figures meaningless.
//
// Usage:
//
//	go run ./bench -ferry bin/ferry [-keep DIR] [-json]
//
// See bench/README.md for what each figure means.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/ferryhq/ferry/bench/internal/measure"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is the command line.
type Config struct {
	Ferry     string // path of the ferry binary
	Keep      string // generate the workspace here and keep it; "" for a temporary folder
	JSON      bool   // print JSON instead of the table
	Jobs      int    // -j for ferry and make
	Layout    Layout
	NoopRuns  int // timed no-op runs per tool
	EditRuns  int // timed one-file runs per tool
	EvalRuns  int // in-process evaluations
	StartRuns int // `ferry version` runs
	// PlainMake also measures make without -r. Its no-op takes seconds
	// at 10,000 files (see README.md); at 100,000 files, minutes.
	PlainMake bool
}

func main() {
	var c Config
	flag.StringVar(&c.Ferry, "ferry", "", "path of the ferry binary to measure (required; `make build` writes bin/ferry)")
	flag.StringVar(&c.Keep, "keep", "", "generate the workspace in `DIR` (new or empty) and keep it, instead of a temporary folder")
	flag.BoolVar(&c.JSON, "json", false, "print the figures as JSON instead of a table")
	flag.IntVar(&c.Jobs, "j", runtime.NumCPU(), "parallel jobs for both ferry and make (ferry's default is the CPU count)")
	flag.IntVar(&c.Layout.Chains, "chains", 50, "number of independent chains of tasks")
	flag.IntVar(&c.Layout.Length, "length", 10, "tasks per chain")
	flag.IntVar(&c.Layout.FilesPerTask, "files", 20, "source files per task")
	flag.IntVar(&c.NoopRuns, "noop-runs", 10, "timed no-op runs per tool (the median is reported)")
	flag.IntVar(&c.EditRuns, "edit-runs", 5, "timed one-file runs per tool (the median is reported)")
	flag.IntVar(&c.EvalRuns, "eval-runs", 20, "in-process evaluations of ferry.star (the median is reported)")
	flag.IntVar(&c.StartRuns, "version-runs", 20, "runs of `ferry version` (the median is reported)")
	flag.BoolVar(&c.PlainMake, "plain-make", true, "also measure plain make (with its built-in rules), besides make -r; false for large layouts, where its no-op takes minutes")
	flag.Parse()
	if c.Ferry == "" || flag.NArg() > 0 {
		measure.Usage("go run ./bench -ferry bin/ferry [-keep DIR] [-json]")
	}
	if c.Layout.Chains < 1 || c.Layout.Chains > 1000 || c.Layout.Length < 1 || c.Layout.FilesPerTask < 1 || c.Layout.FilesPerTask > 100 ||
		c.Jobs < 1 || c.NoopRuns < 1 || c.EditRuns < 1 || c.EvalRuns < 1 || c.StartRuns < 1 {
		fmt.Fprintln(os.Stderr, "bench: -chains must be 1 to 1000 and -files 1 to 100; -length, -j and the run counts at least 1")
		os.Exit(2)
	}
	rep, err := bench(c, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "\nbench: FAILED, the figures would not be meaningful:\n%v\n", err)
		os.Exit(1)
	}
	if c.JSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	rep.WriteTable(os.Stdout)
}

// Trees are the copies of the workspace, one per tool, so that no tool
// sees another's outputs or state.
type Trees struct {
	Root  string // holds the others
	Ferry string // ferry.star, ferry-explicit.star, sources
	Make  string // Makefile, sources; run with make
	MakeR string // Makefile, sources; run with make -r
	Cmds  string // the edited chain's sources only; its commands are timed alone
}

// bench generates the workspace, runs every measurement and returns the
// report. Progress goes to log.
func bench(c Config, log io.Writer) (*Report, error) {
	ferry, err := filepath.Abs(c.Ferry)
	if err != nil {
		return nil, fmt.Errorf("ferry binary: %w", err)
	}
	if _, err := os.Stat(ferry); err != nil {
		return nil, fmt.Errorf("ferry binary: %w (run `make build` first)", err)
	}
	makeVersion, err := toolVersion("make", "--version")
	if err != nil {
		return nil, fmt.Errorf("GNU make is needed to compare against: %w", err)
	}
	ferryVersion, err := toolVersion(ferry, "version")
	if err != nil {
		return nil, err
	}
	l := c.Layout
	rep := &Report{
		Layout: l, Tasks: l.Tasks(), Files: l.Files(), Jobs: c.Jobs,
		Platform:     fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()),
		FerryVersion: ferryVersion, MakeVersion: makeVersion,
		Runs:      RunCounts{Noop: c.NoopRuns, OneFile: c.EditRuns, Eval: c.EvalRuns, Version: c.StartRuns},
		PlainMake: c.PlainMake,
	}

	step := func(format string, args ...any) { fmt.Fprintf(log, "bench: "+format+"\n", args...) }
	trees, cleanup, err := makeTrees(c.Keep)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if c.Keep != "" {
		rep.Workspace = trees.Root
	}
	step("generating %d tasks and %d source files per tool in %s", l.Tasks(), l.Files(), trees.Root)
	if err := generate(l, trees, c.PlainMake); err != nil {
		return nil, err
	}

	// The tools, each in its own tree, with the same -j.
	j := strconv.Itoa(c.Jobs)
	ferryArgv := func(args ...string) []string {
		return append([]string{ferry, "-j", j, "--log-format", "json"}, args...)
	}
	fTool := &Tool{Name: "ferry", Dir: trees.Ferry, Argv: ferryArgv("run"), ran: ferryRan}
	fExplicit := &Tool{Name: "ferry (explicit srcs)", Dir: trees.Ferry, Argv: ferryArgv("-f", "ferry-explicit.star", "run"), ran: ferryRan}
	mTool := &Tool{Name: "make", Dir: trees.Make, Argv: []string{"make", "-j", j}, ran: makeRan}
	mrTool := &Tool{Name: "make -r", Dir: trees.MakeR, Argv: []string{"make", "-r", "-j", j}, ran: makeRan}
	builders := []*Tool{fTool, mTool, mrTool}
	built := []string{trees.Ferry, trees.Make, trees.MakeR} // the trees the builders write outputs in
	noopTools := []*Tool{fTool, fExplicit, mTool, mrTool}
	if !c.PlainMake {
		builders, built, noopTools = []*Tool{fTool, mrTool}, []string{trees.Ferry, trees.MakeR}, []*Tool{fTool, fExplicit, mrTool}
	}

	// Everything from here on is measured; note what else the machine does.
	before := measure.SampleCPU()

	// Evaluation in process and start-up, before anything ran.
	step("evaluating ferry.star in process, %d times each with glob and explicit srcs", c.EvalRuns)
	ds, err := evaluate(trees.Ferry, "ferry.star", c.EvalRuns, l.Tasks())
	if err != nil {
		return nil, err
	}
	rep.EvalGlob = statsOf(ds)
	if ds, err = evaluate(trees.Ferry, "ferry-explicit.star", c.EvalRuns, l.Tasks()); err != nil {
		return nil, err
	}
	rep.EvalExplicit = statsOf(ds)

	step("running `ferry version` %d times", c.StartRuns)
	ds = nil
	for i := 0; i < c.StartRuns; i++ {
		r, err := run(trees.Ferry, ferry, "version")
		if err != nil {
			return nil, err
		}
		if !bytes.HasPrefix(r.Stdout, []byte("ferry ")) {
			return nil, fmt.Errorf("ferry version printed %q", r.Stdout)
		}
		ds = append(ds, r.Wall)
	}
	rep.Version = statsOf(ds)

	// Cold runs: every task runs.
	figures := map[*Tool]*ToolFigures{fTool: &rep.Ferry, mTool: &rep.Make, mrTool: &rep.MakeR}
	for _, t := range builders {
		step("cold run: %s", t.Name)
		r, err := t.Build(l.Tasks())
		if err != nil {
			return nil, fmt.Errorf("cold run: %w", err)
		}
		figures[t].Cold = statsOf([]time.Duration{r.Wall})
		figures[t].ColdMaxRSSKB = r.MaxRSSKB
	}
	if err := l.checkOutputs(trees.Ferry, built...); err != nil {
		return nil, fmt.Errorf("after the cold runs: %w", err)
	}

	// No-op runs: one untimed warm-up each, then timed rounds that take the
	// tools in turn, so that any slow patch of the machine hits all of them.
	// The pause lets the last outputs age past ferry's racy-timestamp
	// window, as they would have by the time a user runs again.
	step("no-op runs: 1 warm-up and %d timed, for ferry, ferry with explicit srcs, make (unless -plain-make=false) and make -r", c.NoopRuns)
	time.Sleep(100 * time.Millisecond)
	noop := map[*Tool][]time.Duration{}
	var noopRSS int64
	for round := -1; round < c.NoopRuns; round++ {
		for _, t := range noopTools {
			r, err := t.Build(0)
			if err != nil {
				return nil, fmt.Errorf("no-op run: %w", err)
			}
			if round < 0 {
				continue
			}
			noop[t] = append(noop[t], r.Wall)
			if t == fTool {
				noopRSS = max(noopRSS, r.MaxRSSKB)
			}
		}
	}
	for t, f := range figures {
		if len(noop[t]) > 0 {
			f.Noop = statsOf(noop[t])
		}
	}
	rep.Ferry.NoopMaxRSSKB = noopRSS
	rep.FerryExplicitNoop = statsOf(noop[fExplicit])

	// One-file runs: rewrite one source of the first task of a chain, in
	// every tree, so that the chain's tasks (and only those) rerun.
	chain, file := l.Chains/2, l.FilesPerTask/2
	rep.EditedFile = l.Src(chain, 0, file)
	step("one-file runs: editing %s %d times; each tool must rerun %d tasks", rep.EditedFile, c.EditRuns, l.Length)
	edit := map[*Tool][]time.Duration{}
	for n := 0; n < c.EditRuns; n++ {
		// make compares modification times, which the kernel takes from a
		// coarse clock: pause so the edit is strictly newer than the
		// outputs of the previous run, as any human edit is.
		time.Sleep(20 * time.Millisecond)
		for _, tree := range built {
			p := filepath.Join(tree, filepath.FromSlash(rep.EditedFile))
			if err := os.WriteFile(p, editContent(chain, 0, file, n), 0o644); err != nil {
				return nil, fmt.Errorf("edit source: %w", err)
			}
		}
		for _, t := range builders {
			r, err := t.Build(l.Length)
			if err != nil {
				return nil, fmt.Errorf("one-file run %d: %w", n+1, err)
			}
			edit[t] = append(edit[t], r.Wall)
		}
		for t := 0; t < l.Length; t++ {
			if err := l.checkTask(trees.Ferry, chain, t, built...); err != nil {
				return nil, fmt.Errorf("after one-file run %d: %w", n+1, err)
			}
		}
	}
	for t, f := range figures {
		if len(edit[t]) > 0 {
			f.OneFile = statsOf(edit[t])
		}
	}

	// The commands' own time: the chain's commands run one after the
	// other (each needs the previous one's output), each with /bin/sh -c.
	step("timing the %d commands of the edited chain alone, %d times", l.Length, c.EditRuns)
	ds = nil
	for n := 0; n < c.EditRuns; n++ {
		var sum time.Duration
		for t := 0; t < l.Length; t++ {
			r, err := run(trees.Cmds, "/bin/sh", "-c", l.Cmd(chain, t))
			if err != nil {
				return nil, fmt.Errorf("commands' own time: %w", err)
			}
			sum += r.Wall
		}
		ds = append(ds, sum)
	}
	rep.Commands = statsOf(ds)
	for t := 0; t < l.Length; t++ {
		if err := l.checkTask(trees.Cmds, chain, t, trees.Cmds); err != nil {
			return nil, fmt.Errorf("commands' own time: %w", err)
		}
	}

	rep.Machine = measure.LoadBetween(before, measure.SampleCPU(), runtime.NumCPU())

	step("checking every output of every tool")
	if err := l.checkOutputs(trees.Ferry, built...); err != nil {
		return nil, fmt.Errorf("after all runs: %w", err)
	}
	rep.Targets = targets(rep)
	fmt.Fprintln(log)
	return rep, nil
}

// toolVersion returns the first line a program prints when asked its version.
func toolVersion(prog string, args ...string) (string, error) {
	out, err := exec.Command(prog, args...).Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", prog, strings.Join(args, " "), err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first), nil
}

// makeTrees creates the folders of the workspace copies, under keep or a
// new temporary folder, and returns a function that removes a temporary one.
func makeTrees(keep string) (*Trees, func(), error) {
	var root string
	cleanup := func() {}
	if keep != "" {
		abs, err := filepath.Abs(keep)
		if err != nil {
			return nil, nil, fmt.Errorf("-keep: %w", err)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, nil, fmt.Errorf("-keep: %w", err)
		}
		entries, err := os.ReadDir(abs)
		if err != nil {
			return nil, nil, fmt.Errorf("-keep: %w", err)
		}
		if len(entries) > 0 {
			return nil, nil, fmt.Errorf("-keep: %s is not empty; give a new or empty folder", abs)
		}
		root = abs
	} else {
		tmp, err := os.MkdirTemp("", "ferry-bench-")
		if err != nil {
			return nil, nil, fmt.Errorf("temporary folder: %w", err)
		}
		root, cleanup = tmp, func() { os.RemoveAll(tmp) }
	}
	t := &Trees{
		Root:  root,
		Ferry: filepath.Join(root, "ferry"),
		Make:  filepath.Join(root, "make"),
		MakeR: filepath.Join(root, "make-r"),
		Cmds:  filepath.Join(root, "cmds"),
	}
	for _, d := range []string{t.Ferry, t.Make, t.MakeR, t.Cmds} {
		if err := os.Mkdir(d, 0o755); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("workspace: %w", err)
		}
	}
	return t, cleanup, nil
}

// generate writes the sources and build files into the trees.
func generate(l Layout, t *Trees, plainMake bool) error {
	trees := []string{t.Ferry, t.MakeR}
	if plainMake {
		trees = append(trees, t.Make)
	}
	for _, tree := range trees {
		if err := l.writeSources(tree); err != nil {
			return err
		}
	}
	for i := 0; i < l.Length; i++ {
		if err := l.writeTaskSources(t.Cmds, l.Chains/2, i); err != nil {
			return err
		}
	}
	if err := os.Mkdir(filepath.Join(t.Cmds, "out"), 0o755); err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	files := map[string][]byte{
		filepath.Join(t.Ferry, "ferry.star"):          l.FerryStar(true),
		filepath.Join(t.Ferry, "ferry-explicit.star"): l.FerryStar(false),
		filepath.Join(t.MakeR, "Makefile"):            l.Makefile(),
	}
	if plainMake {
		files[filepath.Join(t.Make, "Makefile")] = l.Makefile()
	}
	var errs []error
	for p, data := range files {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("write build file: %w", err))
		}
	}
	return errors.Join(errs...)
}
