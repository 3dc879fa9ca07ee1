// Command output measures how fast ferry passes a task's output through:
// `ferry run` of a task that prints `head -c N /dev/urandom | base64` (1 GB
// of random bytes by default, 1.35 GB of text in lines of 76), with five
// secrets known to the redactor and ferry's log going to a file, against
// the same command run by the shell into a file. The claim it checks is
// that ferry passes at least 100 MB of output a second, redacted.
//
// The figures are the task's output over ferry's wall time, and over the
// CPU time that ferry itself spent (its CPU less the command's, measured
// in the baseline run), which a busy machine changes less.
//
// Usage:
//
//	go run ./bench/output -ferry bin/ferry [-bytes 1000000000] [-json]
//
// It exits 0 whenever the measurement was sound, even when the claim does
// not hold (the report says so); 1 when a run failed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferryhq/ferry/bench/internal/measure"
)

// A Report is what the bench measured.
type Report struct {
	Platform      string  `json:"platform"`
	OutputBytes   int64   `json:"output_bytes"` // what the task printed
	BaselineWall  float64 `json:"baseline_wall_s"`
	BaselineCPU   float64 `json:"baseline_cpu_s"`
	FerryWall     float64 `json:"ferry_wall_s"`
	FerryCPU      float64 `json:"ferry_cpu_s"` // ferry and the command
	WallMBps      float64 `json:"wall_mb_per_s"`
	FerryCPUMBps  float64 `json:"mb_per_ferry_cpu_s"`
	Holds         bool    `json:"holds"`
	LeakedSecrets int     `json:"leaked_secrets"`
	MachineLoad   string  `json:"machine_load"`
}

func main() {
	ferry := flag.String("ferry", "", "path of the ferry binary to measure (required; `make build` writes bin/ferry)")
	n := flag.Int64("bytes", 1e9, "random bytes the task encodes and prints")
	asJSON := flag.Bool("json", false, "print the figures as JSON")
	flag.Parse()
	if *ferry == "" || flag.NArg() > 0 || *n < 1 {
		measure.Usage("go run ./bench/output -ferry bin/ferry [-bytes N] [-json]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, *ferry, *n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "output bench:", err)
		os.Exit(1)
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(rep)
		return
	}
	fmt.Printf("output: %s, %d bytes of task output\n", rep.Platform, rep.OutputBytes)
	fmt.Printf("  shell into a file:  %6.1fs wall, %6.1fs CPU\n", rep.BaselineWall, rep.BaselineCPU)
	fmt.Printf("  ferry run:          %6.1fs wall, %6.1fs CPU\n", rep.FerryWall, rep.FerryCPU)
	fmt.Printf("  ferry passes %.0f MB/s (wall), %.0f MB per second of its own CPU; at least 100 MB/s: %v\n", rep.WallMBps, rep.FerryCPUMBps, rep.Holds)
	fmt.Println("  " + rep.MachineLoad)
	if rep.LeakedSecrets > 0 {
		fmt.Printf("  %d secret values appear in the log\n", rep.LeakedSecrets)
	}
}

func run(ctx context.Context, ferry string, n int64) (*Report, error) {
	ferry, err := filepath.Abs(ferry)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ferry-output-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := fmt.Sprintf("head -c %d /dev/urandom | base64", n)
	star := "secrets = {}\n"
	var values []string
	for i := range 5 {
		v := fmt.Sprintf("bench-secret-%d-%x", i, time.Now().UnixNano())
		values = append(values, v)
		if err := os.WriteFile(filepath.Join(dir, "s"+strconv.Itoa(i)), []byte(v), 0o600); err != nil {
			return nil, err
		}
		star += fmt.Sprintf("secrets[\"S%d\"] = secret(\"s%d\", file = \"s%d\")\n", i, i, i)
	}
	star += fmt.Sprintf("task(name = \"gen\", cmd = %q, secrets = secrets, cache = False)\n", script+"; echo \"$S0 $S1 $S2 $S3 $S4\"")
	if err := os.WriteFile(filepath.Join(dir, "ferry.star"), []byte(star), 0o644); err != nil {
		return nil, err
	}
	rep := &Report{Platform: runtime.GOOS + "/" + runtime.GOARCH}
	before := measure.SampleCPU()
	base, err := timed(ctx, dir, filepath.Join(dir, "baseline.out"), "sh", "-c", script)
	if err != nil {
		return nil, err
	}
	run, err := timed(ctx, dir, filepath.Join(dir, "ferry.log"), ferry, "run", "gen")
	if err != nil {
		return nil, err
	}
	rep.MachineLoad = measure.LoadBetween(before, measure.SampleCPU(), runtime.NumCPU()).Describe("other processes", "both runs", 25)
	st, err := os.Stat(filepath.Join(dir, "baseline.out"))
	if err != nil {
		return nil, err
	}
	rep.OutputBytes = st.Size()
	rep.BaselineWall, rep.BaselineCPU = base.wall.Seconds(), base.cpu.Seconds()
	rep.FerryWall, rep.FerryCPU = run.wall.Seconds(), run.cpu.Seconds()
	rep.WallMBps = float64(rep.OutputBytes) / 1e6 / rep.FerryWall
	rep.FerryCPUMBps = float64(rep.OutputBytes) / 1e6 / max(rep.FerryCPU-rep.BaselineCPU, 1e-3)
	rep.Holds = rep.WallMBps >= 100
	log, err := os.ReadFile(filepath.Join(dir, "ferry.log"))
	if err != nil {
		return nil, err
	}
	for _, v := range values {
		if strings.Contains(string(log), v) {
			rep.LeakedSecrets++
		}
	}
	return rep, nil
}

type timing struct{ wall, cpu time.Duration }

// timed runs argv in dir with its standard output and error going to out.
func timed(ctx context.Context, dir, out string, argv ...string) (timing, error) {
	f, err := os.Create(out)
	if err != nil {
		return timing{}, err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, measure.ChildEnv("NO_COLOR=1"), f, f
	start := time.Now()
	if err := cmd.Run(); err != nil {
		tail, _ := os.ReadFile(out)
		return timing{}, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, measure.Tail(string(tail[max(0, len(tail)-4096):]), 10))
	}
	t := timing{wall: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		t.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return t, nil
}
