package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/ferryhq/ferry/bench/internal/measure"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

// A Run is one finished child process.
type Run struct {
	Wall     time.Duration // from start to exit, as seen by the bench
	MaxRSSKB int64         // peak resident set size of the process (and its reaped children), KiB
	Stdout   []byte
	Stderr   []byte
}

// childEnv is the environment of every child: the bench's own, without the
// variables an enclosing `make bench` exports, which would change how the
// measured make behaves (jobserver, flags, "Entering directory" lines).
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// run runs argv in dir, timing it from start to exit. A non-zero exit is an
// error that quotes the end of the process's output.
func run(dir string, argv ...string) (*Run, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = childEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s (in %s): %w\n%s", strings.Join(argv, " "), dir, err, measure.Tail(stdout.String()+stderr.String(), 20))
	}
	r := &Run{Wall: wall, Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSSKB = int64(ru.Maxrss)
		if runtime.GOOS == "darwin" { // bytes there, KiB on Linux
			r.MaxRSSKB /= 1024
		}
	}
	return r, nil
}

// ferryRan returns how many rules a `ferry --log-format json run` ran,
// checking that none failed or was skipped.
func ferryRan(r *Run) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(r.Stderr))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s measure.Summary
		if json.Unmarshal(sc.Bytes(), &s) != nil || !s.Summary {
			continue
		}
		if s.Failed > 0 || s.Skipped > 0 {
			return 0, fmt.Errorf("ferry reported %d failed and %d skipped rules:\n%s", s.Failed, s.Skipped, measure.Tail(string(r.Stderr), 20))
		}
		return s.Ran, nil
	}
	return 0, fmt.Errorf("no run summary in ferry's output:\n%s", measure.Tail(string(r.Stderr), 20))
}

// makeRan returns how many task recipes a make run executed: make echoes
// each recipe line it runs, and every task's recipe starts with "cat ".
func makeRan(r *Run) (int, error) {
	n := 0
	for _, line := range strings.Split(string(r.Stdout), "\n") {
		if strings.HasPrefix(line, "cat ") {
			n++
		}
	}
	return n, nil
}

// A Tool is one build tool under test, run in its own copy of the workspace.
type Tool struct {
	Name string   // as shown in the table
	Dir  string   // its copy of the workspace
	Argv []string // the command that builds everything
	// ran parses the output of a run into the number of tasks it ran.
	ran func(*Run) (int, error)
}

// Build runs the tool once and checks that it ran exactly want tasks.
func (t *Tool) Build(want int) (*Run, error) {
	r, err := run(t.Dir, t.Argv...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	got, err := t.ran(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	if got != want {
		return nil, fmt.Errorf("%s ran %d tasks, want %d: the measurement would be wrong\n%s", t.Name, got, want, measure.Tail(string(r.Stdout)+string(r.Stderr), 20))
	}
	return r, nil
}

// Stats summarises repeated timings.
type Stats struct {
	N      int       `json:"n"`
	Median float64   `json:"median_ms"`
	Min    float64   `json:"min_ms"`
	Max    float64   `json:"max_ms"`
	All    []float64 `json:"samples_ms"`
}

// statsOf summarises durations.
func statsOf(ds []time.Duration) Stats {
	s := Stats{N: len(ds)}
	for _, d := range ds {
		s.All = append(s.All, ms(d))
	}
	sorted := append([]float64(nil), s.All...)
	sort.Float64s(sorted)
	if n := len(sorted); n > 0 {
		s.Min, s.Max = sorted[0], sorted[n-1]
		s.Median = sorted[n/2]
		if n%2 == 0 {
			s.Median = (sorted[n/2-1] + sorted[n/2]) / 2
		}
	}
	return s
}

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
