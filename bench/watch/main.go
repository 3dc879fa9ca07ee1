// Command watch measures `ferry watch`: the latency from a file write to the
// start of the affected rule's command, how long the watch takes to be
// ready, and its peak memory, on generated workspaces of 10,000 and 100,000
// files.
//
// A workspace of N files and T tasks gives each task a folder of N/T small
// files (in subfolders of at most 100), whose srcs is that folder and whose
// command appends its name and the time it started (`date +%s%N`) to a file
// outside the workspace.
// After one `ferry run` (untimed: it leaves the stat cache), each run starts
// `ferry watch` and times it until it logs that it is watching (the initial
// walk, the evaluation and a run with nothing to do), then rewrites one file
// at a time, each in a different task's folder when there are several,
// with new contents, and takes the
// time from just before the write to the start the command recorded. It
// waits for that run to end and a pause longer than the quiet window before
// the next write, so that every write is a batch of its own. It reports p50
// and p90 per run, and the median of the runs, against the targets.
//
// Usage:
//
//	go run ./bench/watch -ferry bin/ferry [-shapes 10000/1,10000/500,100000/5000] [-changes 100] [-runs 3] [-json]
//
// See bench/README.md. It exits 0 whenever the measurement was sound, even
// when a target fails; 1 when a run failed or a check did not hold.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferryhq/ferry/bench/internal/measure"
)

// Targets, from the issues.
const (
	targetP50      = 20 * time.Millisecond // up to 10,000 files
	targetP50Large = 30 * time.Millisecond // at 100,000 files
	targetP90      = 100 * time.Millisecond
	targetReady    = 2 * time.Second // at 100,000 files
	targetRSSMB    = 150             // at 100,000 files
	filesPerDir    = 100
)

// A Shape is a workspace size: Files files shared by Tasks tasks.
type Shape struct {
	Files, Tasks int
}

// Config is the command line.
type Config struct {
	Ferry   string
	Base    string // another ferry binary, measured alternately with Ferry
	Shapes  []Shape
	Changes int
	Runs    int
	Pause   time.Duration
	Args    []string // extra arguments for ferry watch
	JSON    bool
}

func main() {
	var c Config
	var shapes, args string
	flag.StringVar(&c.Ferry, "ferry", "", "path of the ferry binary to measure (required; `make build` writes bin/ferry)")
	flag.StringVar(&c.Base, "baseline", "", "another ferry binary (such as main's) to measure in turn with -ferry, for ratios on the same machine load")
	flag.StringVar(&shapes, "shapes", "10000/1,10000/500,100000/5000", "workspaces as FILES/TASKS, comma-separated (FILES a multiple of TASKS)")
	flag.IntVar(&c.Changes, "changes", 100, "timed single-file changes per run")
	flag.IntVar(&c.Runs, "runs", 3, "runs of ferry watch per size")
	flag.DurationVar(&c.Pause, "pause", 150*time.Millisecond, "pause after a run ends before the next write (longer than the quiet window)")
	flag.StringVar(&args, "watch-args", "", "extra arguments for ferry watch, space-separated (such as `--debounce 30ms`)")
	flag.BoolVar(&c.JSON, "json", false, "print the figures as JSON")
	flag.Parse()
	for _, s := range strings.Split(shapes, ",") {
		fs, ts, _ := strings.Cut(strings.TrimSpace(s), "/")
		n, err1 := strconv.Atoi(fs)
		t, err2 := strconv.Atoi(ts)
		if err1 != nil || err2 != nil || t < 1 || n < t || n%t != 0 {
			fmt.Fprintf(os.Stderr, "bench/watch: -shapes: %q is not FILES/TASKS with FILES a multiple of TASKS\n", s)
			os.Exit(2)
		}
		c.Shapes = append(c.Shapes, Shape{n, t})
	}
	c.Args = strings.Fields(args)
	if c.Ferry == "" || flag.NArg() > 0 || c.Changes < 10 || c.Runs < 1 {
		measure.Usage("go run ./bench/watch -ferry bin/ferry [-shapes 10000/1,10000/500,100000/5000] [-changes N>=10] [-runs N] [-json]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench(ctx, c, os.Stderr)
	if err != nil {
		measure.Fail("bench/watch", err)
	}
	measure.Print(rep, c.JSON, rep.WriteText)
}

// Report is what the bench found.
type Report struct {
	FerryVersion string       `json:"ferry_version"`
	Platform     string       `json:"platform"`
	WatchArgs    []string     `json:"watch_args"`
	Sizes        []SizeReport `json:"sizes"`
	Load         measure.Load `json:"load"`
}

// SizeReport holds the figures of one workspace size.
type SizeReport struct {
	Files      int         `json:"files"`
	Tasks      int         `json:"tasks"`
	Runs       []RunReport `json:"runs"`
	P50        float64     `json:"median_p50_ms"`
	P90        float64     `json:"median_p90_ms"`
	ReadyMS    float64     `json:"median_ready_ms"`
	ReadyRSSMB float64     `json:"max_ready_rss_mb"`
	RSSMB      float64     `json:"max_peak_rss_mb"`
	// The baseline's runs, made in turn with Runs, when -baseline is given.
	BaseRuns []RunReport `json:"baseline_runs,omitempty"`
	BaseP50  float64     `json:"baseline_median_p50_ms,omitempty"`
	BaseP90  float64     `json:"baseline_median_p90_ms,omitempty"`
}

// RunReport holds the figures of one run of ferry watch.
type RunReport struct {
	ReadyMS    float64       `json:"ready_ms"`
	ReadyRSSMB float64       `json:"ready_rss_mb"` // VmHWM once ready
	PeakRSSMB  float64       `json:"peak_rss_mb"`  // VmHWM at the end of the run
	Latency    measure.Stats `json:"latency"`
}

func bench(ctx context.Context, c Config, log io.Writer) (*Report, error) {
	step := func(format string, args ...any) { fmt.Fprintf(log, "bench/watch: "+format+"\n", args...) }
	ferry, err := filepath.Abs(c.Ferry)
	if err != nil {
		return nil, err
	}
	rep := &Report{Platform: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()), WatchArgs: c.Args}
	if v, err := measure.Output(ctx, ferry, "version"); err != nil {
		return nil, fmt.Errorf("ferry binary: %w (run `make build` first)", err)
	} else {
		rep.FerryVersion = strings.TrimSpace(v)
	}
	load0 := measure.SampleCPU()
	for _, shape := range c.Shapes {
		root, err := os.MkdirTemp("", "ferry-bench-watch-")
		if err != nil {
			return nil, err
		}
		sr, err := benchSize(ctx, c, ferry, root, shape, step)
		os.RemoveAll(root)
		if err != nil {
			return nil, fmt.Errorf("%d files, %d tasks: %w", shape.Files, shape.Tasks, err)
		}
		rep.Sizes = append(rep.Sizes, *sr)
	}
	rep.Load = measure.LoadBetween(load0, measure.SampleCPU(), runtime.NumCPU())
	return rep, nil
}

// benchSize generates a workspace of the shape in root and measures it.
func benchSize(ctx context.Context, c Config, ferry, root string, shape Shape, step func(string, ...any)) (*SizeReport, error) {
	ws := filepath.Join(root, "ws")
	starts := filepath.Join(root, "starts")
	dirs, size := shape.Tasks, shape.Files
	step("generating %d files for %d tasks, one folder per task", size, dirs)
	if err := generate(ws, starts, dirs, size/dirs); err != nil {
		return nil, err
	}
	syscall.Sync()
	step("ferry run (untimed: it hashes every file and leaves the stat cache)")
	r, err := measure.Command(ctx, ws, nil, ferry, "--log-format", "json", "run")
	if err != nil {
		return nil, err
	}
	if s, err := measure.FerrySummary(r); err != nil {
		return nil, err
	} else if s.Ran != dirs || s.Failed+s.Skipped > 0 {
		return nil, fmt.Errorf("the first ferry run ran %d tasks (%d failed, %d skipped), want %d", s.Ran, s.Failed, s.Skipped, dirs)
	}
	sr := &SizeReport{Files: size, Tasks: dirs}
	for i := range c.Runs {
		if c.Base != "" {
			step("run %d/%d: baseline ferry watch, %d changes", i+1, c.Runs, c.Changes)
			rr, err := watchRun(ctx, c, c.Base, ws, starts, dirs, size/dirs, i)
			if err != nil {
				return nil, fmt.Errorf("baseline run %d: %w", i+1, err)
			}
			step("  ready in %.0f ms, latency p50 %.1f ms, p90 %.1f ms", rr.ReadyMS, rr.Latency.Median, rr.Latency.P90)
			sr.BaseRuns = append(sr.BaseRuns, *rr)
		}
		step("run %d/%d: ferry watch, %d changes", i+1, c.Runs, c.Changes)
		rr, err := watchRun(ctx, c, ferry, ws, starts, dirs, size/dirs, i)
		if err != nil {
			return nil, fmt.Errorf("run %d: %w", i+1, err)
		}
		step("  ready in %.0f ms (peak RSS %.0f MB), latency p50 %.1f ms, p90 %.1f ms, peak RSS %.0f MB", rr.ReadyMS, rr.ReadyRSSMB, rr.Latency.Median, rr.Latency.P90, rr.PeakRSSMB)
		sr.Runs = append(sr.Runs, *rr)
	}
	var p50, p90, ready []float64
	for _, rr := range sr.Runs {
		p50, p90, ready = append(p50, rr.Latency.Median), append(p90, rr.Latency.P90), append(ready, rr.ReadyMS)
		sr.RSSMB, sr.ReadyRSSMB = max(sr.RSSMB, rr.PeakRSSMB), max(sr.ReadyRSSMB, rr.ReadyRSSMB)
	}
	sr.P50, sr.P90, sr.ReadyMS = median(p50), median(p90), median(ready)
	p50, p90 = nil, nil
	for _, rr := range sr.BaseRuns {
		p50, p90 = append(p50, rr.Latency.Median), append(p90, rr.Latency.P90)
	}
	sr.BaseP50, sr.BaseP90 = median(p50), median(p90)
	return sr, nil
}

// generate writes the workspace: dirs folders of per files (in subfolders
// of filesPerDir when there are more), and a ferry.star with one task per
// folder that records its start in starts.
func generate(ws, starts string, dirs, per int) error {
	for d := range dirs {
		for f := range per {
			p := filepath.Join(ws, filePath(d, f, per))
			if f%filesPerDir == 0 {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return err
				}
			}
			content := fmt.Sprintf("folder %d file %d\n", d, f)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return err
			}
		}
	}
	star := fmt.Sprintf(`# Generated by bench/watch.
for i in range(%d):
    d = "d" + ("000" + str(i))[-4:]
    task(name = d, cmd = "echo %%s $(date +%%%%s%%%%N) >> %s" %% d, srcs = [d])
`, dirs, starts)
	return os.WriteFile(filepath.Join(ws, "ferry.star"), []byte(star), 0o644)
}

func dirName(d int) string { return fmt.Sprintf("d%04d", d) }

// filePath is the path of file f of the task d that has per files.
func filePath(d, f, per int) string {
	if per <= filesPerDir {
		return filepath.Join(dirName(d), fmt.Sprintf("f%02d.txt", f))
	}
	return filepath.Join(dirName(d), fmt.Sprintf("s%03d", f/filesPerDir), fmt.Sprintf("f%02d.txt", f%filesPerDir))
}

// watchRun starts ferry watch, times its start, makes c.Changes changes and
// stops it.
func watchRun(ctx context.Context, c Config, ferry, ws, starts string, dirs, per, run int) (*RunReport, error) {
	if err := os.WriteFile(starts, nil, 0o644); err != nil {
		return nil, err
	}
	args := append([]string{"--log-format", "json", "watch"}, c.Args...)
	cmd := exec.CommandContext(ctx, ferry, args...)
	cmd.Dir, cmd.Env = ws, measure.ChildEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	log := &logWatch{}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		log.read(stderr)
	}()
	stop := func() error {
		cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		<-scanned
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 130 {
			return nil
		}
		if err == nil {
			return errors.New("ferry watch exited 0 on Ctrl-C, want 130")
		}
		return fmt.Errorf("ferry watch: %w\n%s", err, measure.Tail(log.text(), 20))
	}
	fail := func(err error) (*RunReport, error) {
		stop()
		return nil, fmt.Errorf("%w\n%s", err, measure.Tail(log.text(), 20))
	}

	rr := &RunReport{}
	if err := log.waitFor(ctx, "watching ", 30*time.Second); err != nil {
		return fail(err)
	}
	rr.ReadyMS = measure.MS(time.Since(t0))
	rr.ReadyRSSMB = peakRSSMB(cmd.Process.Pid)
	if s := log.summaries(); s != 1 {
		return fail(fmt.Errorf("%d runs before the watch started, want 1", s))
	}
	if strings.Contains(log.text(), `"ran":`) && !strings.Contains(log.text(), `"ran":0,`) {
		return fail(errors.New("the first run of the watch ran tasks: the workspace was not up to date"))
	}

	var lat []time.Duration
	seen := 0
	for i := range c.Changes {
		n := (run*c.Changes + i) * 7919 // a different folder each time
		d := n % dirs
		file := filepath.Join(ws, filePath(d, n/dirs%per, per))
		content := fmt.Sprintf("run %d change %d at %d\n", run, i, time.Now().UnixNano())
		runs := log.summaries()
		before := time.Now()
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			return fail(err)
		}
		name, at, err := nextStart(ctx, starts, &seen, 10*time.Second)
		if err != nil {
			return fail(fmt.Errorf("change %d (%s): %w", i+1, file, err))
		}
		if name != dirName(d) {
			return fail(fmt.Errorf("change %d in %s started %s", i+1, dirName(d), name))
		}
		lat = append(lat, at.Sub(before))
		if err := log.waitSummaries(ctx, runs+1, 10*time.Second); err != nil {
			return fail(err)
		}
		time.Sleep(c.Pause)
	}
	rr.PeakRSSMB = peakRSSMB(cmd.Process.Pid)
	if err := stop(); err != nil {
		return nil, err
	}
	if n := countLines(starts); n != c.Changes {
		return nil, fmt.Errorf("%d commands started for %d changes", n, c.Changes)
	}
	rr.Latency = measure.StatsOf(lat)
	return rr, nil
}

// nextStart waits for a new line in the starts file and returns the task
// and the time it recorded.
func nextStart(ctx context.Context, starts string, seen *int, limit time.Duration) (string, time.Time, error) {
	deadline := time.Now().Add(limit)
	for {
		b, err := os.ReadFile(starts)
		if err != nil {
			return "", time.Time{}, err
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(b) > 0 && len(lines) > *seen && strings.HasSuffix(string(b), "\n") {
			line := lines[*seen]
			*seen++
			name, ns, _ := strings.Cut(line, " ")
			n, err := strconv.ParseInt(ns, 10, 64)
			if err != nil {
				return "", time.Time{}, fmt.Errorf("bad start line %q", line)
			}
			return name, time.Unix(0, n), nil
		}
		if time.Now().After(deadline) {
			return "", time.Time{}, fmt.Errorf("no command started within %s", limit)
		}
		if err := ctx.Err(); err != nil {
			return "", time.Time{}, err
		}
		time.Sleep(500 * time.Microsecond)
	}
}

func countLines(p string) int {
	b, _ := os.ReadFile(p)
	return strings.Count(string(b), "\n")
}

// peakRSSMB reads the peak resident set size of a process (VmHWM), in MB.
func peakRSSMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024 / 1e6
		}
	}
	return 0
}

// logWatch collects ferry's JSON log as it arrives.
type logWatch struct {
	mu    sync.Mutex
	b     strings.Builder
	nsum  int
	ended bool
}

func (l *logWatch) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		l.mu.Lock()
		l.b.WriteString(line + "\n")
		if strings.Contains(line, `"summary":true`) {
			l.nsum++
		}
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.ended = true
	l.mu.Unlock()
}

func (l *logWatch) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logWatch) summaries() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nsum
}

func (l *logWatch) poll(ctx context.Context, what string, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for {
		l.mu.Lock()
		ok, ended := cond(), l.ended
		l.mu.Unlock()
		switch {
		case ok:
			return nil
		case ended:
			return fmt.Errorf("ferry watch exited before %s", what)
		case time.Now().After(deadline):
			return fmt.Errorf("no %s within %s", what, limit)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		time.Sleep(time.Millisecond)
	}
}

func (l *logWatch) waitFor(ctx context.Context, sub string, limit time.Duration) error {
	return l.poll(ctx, fmt.Sprintf("log line with %q", sub), limit, func() bool { return strings.Contains(l.b.String(), sub) })
}

func (l *logWatch) waitSummaries(ctx context.Context, n int, limit time.Duration) error {
	return l.poll(ctx, "end of the run", limit, func() bool { return l.nsum >= n })
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// WriteText prints the report as a table with the targets.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "ferry watch latency: %s, %s", r.FerryVersion, r.Platform)
	if len(r.WatchArgs) > 0 {
		fmt.Fprintf(w, ", ferry watch %s", strings.Join(r.WatchArgs, " "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "latency: from just before a file write to the start of the affected task's command (the time its `date` recorded)")
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	for _, s := range r.Sizes {
		fmt.Fprintf(w, "\n%d files, %d tasks, %d runs of %d changes:\n", s.Files, s.Tasks, len(s.Runs), s.Runs[0].Latency.N)
		for i, rr := range s.Runs {
			fmt.Fprintf(w, "  run %d: p50 %6.1f ms  p90 %6.1f ms  (min %.1f, max %.1f)  ready %5.0f ms, %4.0f MB  peak RSS %4.0f MB\n",
				i+1, rr.Latency.Median, rr.Latency.P90, rr.Latency.Min, rr.Latency.Max, rr.ReadyMS, rr.ReadyRSSMB, rr.PeakRSSMB)
		}
		target := targetP50
		if s.Files >= 100000 {
			target = targetP50Large
		}
		fmt.Fprintf(w, "  median of runs: p50 %.1f ms (target <= %d ms: %s), p90 %.1f ms (target <= %d ms: %s)\n",
			s.P50, target.Milliseconds(), verdict(s.P50 <= measure.MS(target)),
			s.P90, targetP90.Milliseconds(), verdict(s.P90 <= measure.MS(targetP90)))
		if len(s.BaseRuns) > 0 {
			fmt.Fprintf(w, "  baseline, measured in turn: p50 %.1f ms, p90 %.1f ms; baseline ÷ ferry: p50 %.2f×, p90 %.2f×\n",
				s.BaseP50, s.BaseP90, s.BaseP50/s.P50, s.BaseP90/s.P90)
		}
		line := fmt.Sprintf("  ready (median) %.0f ms with a peak RSS (max) of %.0f MB; peak RSS over the run (max) %.0f MB", s.ReadyMS, s.ReadyRSSMB, s.RSSMB)
		if s.Files >= 100000 {
			line += fmt.Sprintf("\n  targets at 100,000 files: ready <= %.0f s: %s, with RSS < %d MB: %s",
				targetReady.Seconds(), verdict(s.ReadyMS <= measure.MS(targetReady)), targetRSSMB, verdict(s.ReadyRSSMB < targetRSSMB))
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, r.Load.Describe("other processes", "the bench", 25))
}
