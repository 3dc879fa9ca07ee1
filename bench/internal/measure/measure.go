// Package measure runs and times the processes the benchmarks measure, and
// summarises timings and the load other processes put on the machine.
package measure

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A Run is one finished child process.
type Run struct {
	Wall     time.Duration // from start to exit, as seen by the bench
	MaxRSSKB int64         // peak resident set size, KiB
	Stdout   []byte
	Stderr   []byte
}

// ChildEnv is the bench's environment without what an enclosing `make bench`
// exports, with extra variables appended (later ones win).
func ChildEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// Command runs argv in dir, timing it from start to exit. A non-zero exit is an
// error that quotes the end of the process's output.
func Command(ctx context.Context, dir string, env []string, argv ...string) (*Run, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	if env == nil {
		cmd.Env = ChildEnv()
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s (in %s): %w\n%s", strings.Join(argv, " "), dir, err, Tail(stdout.String()+stderr.String(), 20))
	}
	r := &Run{Wall: wall, Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSSKB = int64(ru.Maxrss)
	}
	return r, nil
}

// Output runs a command for its standard output.
func Output(ctx context.Context, argv ...string) (string, error) {
	r, err := Command(ctx, "", nil, argv...)
	if err != nil {
		return "", err
	}
	return string(r.Stdout), nil
}

// Tail returns the last n lines of s, indented.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return "    " + strings.Join(lines, "\n    ")
}

// Summary is the run summary ferry logs with --log-format json.
type Summary struct {
	Summary bool `json:"summary"`
	Ran     int  `json:"ran"`
	Cached  int  `json:"cached"`
	Failed  int  `json:"failed"`
	Skipped int  `json:"skipped"`
}

// FerrySummary finds the run summary in the JSON log of a ferry command.
func FerrySummary(r *Run) (Summary, error) {
	sc := bufio.NewScanner(bytes.NewReader(r.Stderr))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s Summary
		if json.Unmarshal(sc.Bytes(), &s) == nil && s.Summary {
			return s, nil
		}
	}
	return Summary{}, fmt.Errorf("no run summary in ferry's output:\n%s", Tail(string(r.Stderr), 20))
}

// Stats summarises repeated timings, in milliseconds.
type Stats struct {
	N      int       `json:"n"`
	Median float64   `json:"median_ms"`
	Min    float64   `json:"min_ms"`
	P25    float64   `json:"p25_ms"`
	P75    float64   `json:"p75_ms"`
	P90    float64   `json:"p90_ms"`
	Max    float64   `json:"max_ms"`
	Mean   float64   `json:"mean_ms"`
	Stddev float64   `json:"stddev_ms"`
	All    []float64 `json:"samples_ms"`
}

// StatsOf summarises durations.
func StatsOf(ds []time.Duration) Stats {
	s := Stats{N: len(ds)}
	for _, d := range ds {
		s.All = append(s.All, MS(d))
	}
	if s.N == 0 {
		return s
	}
	sorted := append([]float64(nil), s.All...)
	sort.Float64s(sorted)
	s.Min, s.Max = sorted[0], sorted[s.N-1]
	s.Median, s.P25, s.P75, s.P90 = quantile(sorted, 0.5), quantile(sorted, 0.25), quantile(sorted, 0.75), quantile(sorted, 0.9)
	for _, v := range sorted {
		s.Mean += v
	}
	s.Mean /= float64(s.N)
	for _, v := range sorted {
		s.Stddev += (v - s.Mean) * (v - s.Mean)
	}
	s.Stddev = math.Sqrt(s.Stddev / float64(s.N))
	return s
}

// quantile interpolates linearly between the closest ranks of sorted.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}

func MS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// String is the one-line form used in the report.
func (s Stats) String() string {
	if s.N == 0 {
		return "not measured"
	}
	if s.N == 1 {
		return fmt.Sprintf("%.1f ms", s.Median)
	}
	return fmt.Sprintf("median %.1f ms  (min %.1f, p25 %.1f, p75 %.1f, p90 %.1f, max %.1f, stddev %.1f; %d runs)",
		s.Median, s.Min, s.P25, s.P75, s.P90, s.Max, s.Stddev, s.N)
}

// A cpuSample is how much CPU the whole machine and the bench (with the
// children it waited for) had used at one moment, from /proc/stat and
// getrusage.
type CPUSample struct {
	at      time.Time
	machine time.Duration
	ours    time.Duration
	ok      bool
}

const userHZ = 100 // unit of /proc/stat

func SampleCPU() CPUSample {
	s := CPUSample{at: time.Now()}
	var self, kids syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) == nil && syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids) == nil {
		s.ours = tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
	}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	first, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(first)
	if len(fields) < 9 || fields[0] != "cpu" {
		return s
	}
	var busy int64
	for i, f := range fields[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return s
		}
		busy += n
	}
	s.machine = time.Duration(busy) * time.Second / userHZ
	s.ok = true
	return s
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

// Load is the CPU that processes other than the bench and its children
// used while it measured.
type Load struct {
	Measured   bool    `json:"measured"`
	Wall       float64 `json:"wall_s"`
	OtherCPU   float64 `json:"other_cpu_s"`
	MachinePct float64 `json:"machine_pct"`
}

func LoadBetween(a, b CPUSample, cpus int) Load {
	l := Load{Wall: b.at.Sub(a.at).Seconds()}
	if !a.ok || !b.ok || cpus < 1 || l.Wall <= 0 {
		return l
	}
	other := (b.machine - a.machine) - (b.ours - a.ours)
	l.Measured = true
	l.OtherCPU = max(other.Seconds(), 0)
	l.MachinePct = 100 * l.OtherCPU / (l.Wall * float64(cpus))
	return l
}

// Describe says, for a report, how much CPU the others (as who names them)
// used during what was timed, with a warning above busyPct of the machine.
func (l Load) Describe(who, what string, busyPct float64) string {
	if !l.Measured {
		return "machine load: not measured (no /proc/stat)"
	}
	s := fmt.Sprintf("%s used %.1f CPU-s during the %.0f s of %s (%.1f%% of the machine)", who, l.OtherCPU, l.Wall, what, l.MachinePct)
	if l.MachinePct > busyPct {
		s += "\nWARNING: the machine was busy; timings are inflated and noisy: rerun on an idle machine"
	}
	return s
}

// Usage ends a bench called with bad flags: it prints line, the usage,
// and the flags.
func Usage(line string) {
	fmt.Fprintln(os.Stderr, "usage: "+line)
	flag.PrintDefaults()
	os.Exit(2)
}

// Fail ends the bench called name when it failed: its figures would not be
// meaningful.
func Fail(name string, err error) {
	fmt.Fprintf(os.Stderr, "\n%s: FAILED, the figures would not be meaningful:\n%v\n", name, err)
	os.Exit(1)
}

// Print writes the report rep to stdout: as indented JSON when asJSON, else
// with text. It ends the bench if the JSON cannot be written.
func Print(rep any, asJSON bool, text func(io.Writer)) {
	if !asJSON {
		text(os.Stdout)
		return
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
