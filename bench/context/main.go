// Command context measures how long ferry takes to compute the key of an
// image() rule whose build context is large: 100,000 files, 1 GB by default.
//
// It generates the context (a Dockerfile `FROM scratch` that copies one
// small file, and the data files), then times, each as a whole process:
//
//   - `ferry plan` of the image rule with no stat cache (cold: every file
//     is read and hashed);
//   - `ferry run` of the rule, the first build, which sends the context to
//     the Engine and leaves the stat cache in .ferry;
//   - `ferry plan` with the stat cache and nothing changed (warm: one stat
//     per file);
//   - a bare walk of the same tree in the bench's own process
//     (filepath.WalkDir and os.Lstat of every file), the floor of a warm key;
//   - `docker build` (classic builder) of the same Dockerfile and context:
//     the time until the Engine starts "Step 1/", which is what sending the
//     context costs, and the whole build.
//
// Usage:
//
//	go run ./bench/context -ferry bin/ferry [-files 100000 -size 1GB] [-json]
//
// See bench/README.md. It exits 0 whenever the measurement was sound, even
// when a target fails; 1 when a run failed or a check did not hold.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/ferryhq/ferry/bench/internal/measure"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Config is the command line.
type Config struct {
	Ferry     string
	Layout    Layout
	ColdRuns  int
	WarmRuns  int
	BuildRuns int
	Keep      string
	JSON      bool
}

// walkEnv makes the bench's own binary a bare walk of the folder it names,
// for timing the walk as a whole process.
const walkEnv = "FERRY_BENCH_CONTEXT_WALK"

func main() {
	if dir := os.Getenv(walkEnv); dir != "" {
		res, err := bareWalk(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(res.Files, res.Bytes)
		return
	}
	var c Config
	var size string
	flag.StringVar(&c.Ferry, "ferry", "", "path of the ferry binary to measure (required; `make build` writes bin/ferry)")
	flag.IntVar(&c.Layout.Files, "files", 100000, "number of files in the context")
	flag.StringVar(&size, "size", "1GB", "their total size (KB, MB, GB: powers of 10; KiB, MiB, GiB: of 2)")
	flag.IntVar(&c.ColdRuns, "cold-runs", 3, "timed `ferry plan` runs with no stat cache")
	flag.IntVar(&c.WarmRuns, "warm-runs", 20, "timed `ferry plan` runs with the stat cache, and as many bare walks")
	flag.IntVar(&c.BuildRuns, "build-runs", 3, "timed `docker build` runs")
	flag.StringVar(&c.Keep, "keep", "", "generate in `DIR` (new or empty) and keep the files (the images are removed all the same)")
	flag.BoolVar(&c.JSON, "json", false, "print the figures as JSON")
	flag.Parse()
	var err error
	if c.Layout.Bytes, err = parseSize(size); err != nil {
		fmt.Fprintln(os.Stderr, "bench/context: -size:", err)
		os.Exit(2)
	}
	if c.Ferry == "" || flag.NArg() > 0 || c.Layout.Files < 1 || c.Layout.Bytes < int64(c.Layout.Files) ||
		c.ColdRuns < 1 || c.WarmRuns < 1 || c.BuildRuns < 1 {
		measure.Usage("go run ./bench/context -ferry bin/ferry [-files N] [-size 1GB] [-json] (at least one byte per file)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench(ctx, c, os.Stderr)
	var ce *cleanupError
	if err != nil && (rep == nil || !errors.As(err, &ce)) {
		measure.Fail("bench/context", err)
	}
	measure.Print(rep, c.JSON, rep.WriteText)
	if err != nil {
		fmt.Fprintf(os.Stderr, "\nbench/context: the figures stand, but %v\n", err)
		os.Exit(1)
	}
}

// planItem is one entry of `ferry plan --json`.
type planItem struct {
	Rule    string   `json:"rule"`
	Run     bool     `json:"run"`
	Reasons []string `json:"reasons"`
	Err     string   `json:"error"`
}

func bench(ctx context.Context, c Config, log io.Writer) (rep *Report, err error) {
	step := func(format string, args ...any) { fmt.Fprintf(log, "bench/context: "+format+"\n", args...) }
	ferry, err := filepath.Abs(c.Ferry)
	if err != nil {
		return nil, err
	}
	rep = &Report{
		Layout: c.Layout, Platform: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()),
		ColdRuns: c.ColdRuns, WarmRuns: c.WarmRuns, BuildRuns: c.BuildRuns,
	}
	if rep.FerryVersion, err = firstLine(measure.Output(ctx, ferry, "version")); err != nil {
		return nil, fmt.Errorf("ferry binary: %w (run `make build` first)", err)
	}
	if rep.Engine, err = firstLine(measure.Output(ctx, "docker", "version", "--format", "Docker Engine {{.Server.Version}} (API {{.Server.APIVersion}})")); err != nil {
		return nil, fmt.Errorf("the Docker Engine is needed: %w", err)
	}
	dockerRoot, err := firstLine(measure.Output(ctx, "docker", "info", "--format", "{{.DockerRootDir}}"))
	if err != nil {
		return nil, err
	}

	root, removeRoot, err := makeRoot(c.Keep)
	if err != nil {
		return nil, err
	}
	defer func() {
		step("removing the generated files")
		removeRoot()
	}()
	if err := checkSpace(root, dockerRoot, c.Layout.Bytes, c.Layout.Files); err != nil {
		return nil, err
	}

	b := make([]byte, 4)
	rand.Read(b)
	repo := "ferrybench/context-" + hex.EncodeToString(b)
	defer func() {
		step("removing the images it built")
		if cerr := removeImages(repo); cerr != nil {
			err = errors.Join(err, &cleanupError{cerr})
		}
	}()

	ws := filepath.Join(root, "ws")
	ctxDir := filepath.Join(ws, "ctx")
	step("generating %d files, %s in all, in %s", c.Layout.Files, human(c.Layout.Bytes), ctxDir)
	start := time.Now()
	written, err := generate(ctxDir, c.Layout)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	rep.Generate = time.Since(start).Seconds()
	star := fmt.Sprintf("# Generated by bench/context.\nimage(name = \"ctx\", repo = %q, context = \"ctx\")\n", repo)
	if err := os.WriteFile(filepath.Join(ws, "ferry.star"), []byte(star), 0o644); err != nil {
		return nil, err
	}
	// Write the files back now, so that their writeback does not slow
	// the timed runs down.
	start = time.Now()
	syscall.Sync()
	rep.Sync = time.Since(start).Seconds()
	step("generated in %.1f s, synced in %.1f s", rep.Generate, rep.Sync)

	// The bare walk: the tree must be what was asked for.
	res, err := bareWalk(ctxDir)
	if err != nil {
		return nil, err
	}
	wantFiles, wantBytes := c.Layout.Files+2, written+int64(len("FROM scratch\nCOPY marker /\n")+len("bench/context\n"))
	if res.Files != wantFiles || res.Bytes != wantBytes {
		return nil, fmt.Errorf("the context holds %d files of %d bytes, want %d of %d", res.Files, res.Bytes, wantFiles, wantBytes)
	}
	rep.ContextFiles, rep.ContextBytes = res.Files, res.Bytes

	plan := func(label string, wantRun bool) (*measure.Run, error) {
		r, err := measure.Command(ctx, ws, nil, ferry, "plan", "--json", "ctx")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		var items []planItem
		if err := json.Unmarshal(r.Stdout, &items); err != nil {
			return nil, fmt.Errorf("%s: ferry plan --json: %w", label, err)
		}
		if len(items) != 1 || items[0].Rule != "ctx" || items[0].Err != "" || items[0].Run != wantRun {
			return nil, fmt.Errorf("%s: ferry planned %s, want the rule ctx with run=%v", label, r.Stdout, wantRun)
		}
		return r, nil
	}

	// Cold: no .ferry, so no stat cache: ferry reads and hashes every file.
	step("cold ferry plan (no stat cache): %d runs", c.ColdRuns)
	var ds []time.Duration
	for i := 0; i < c.ColdRuns; i++ {
		if err := os.RemoveAll(filepath.Join(ws, ".ferry")); err != nil {
			return nil, err
		}
		r, err := plan(fmt.Sprintf("cold ferry plan %d", i+1), true)
		if err != nil {
			return nil, err
		}
		ds = append(ds, r.Wall)
		rep.ColdRSSKB = max(rep.ColdRSSKB, r.MaxRSSKB)
	}
	rep.Cold = measure.StatsOf(ds)

	// The first build leaves the stat cache in .ferry/state.
	step("ferry run ctx: the first build, which sends the context to the Engine")
	r, err := measure.Command(ctx, ws, nil, ferry, "--log-format", "json", "run", "ctx")
	if err != nil {
		return nil, fmt.Errorf("ferry run: %w", err)
	}
	if s, err := measure.FerrySummary(r); err != nil {
		return nil, err
	} else if s.Ran != 1 || s.Failed+s.Skipped > 0 {
		return nil, fmt.Errorf("ferry run ran %d rules (%d failed, %d skipped), want 1:\n%s", s.Ran, s.Failed, s.Skipped, measure.Tail(string(r.Stderr), 20))
	}
	rep.FerryBuild = measure.StatsOf([]time.Duration{r.Wall})
	if fi, err := os.Stat(filepath.Join(ws, ".ferry", "state")); err == nil {
		rep.StateBytes = fi.Size()
	}
	syscall.Sync()

	// Warm ferry plans and bare walks, in rounds, after one of each untimed.
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	walkChild := func() (*measure.Run, error) {
		r, err := measure.Command(ctx, ws, measure.ChildEnv(walkEnv+"="+ctxDir), exe)
		if err != nil {
			return nil, fmt.Errorf("bare walk in a child process: %w", err)
		}
		if want := fmt.Sprintln(res.Files, res.Bytes); string(r.Stdout) != want {
			return nil, fmt.Errorf("bare walk in a child process saw %q, want %q", r.Stdout, want)
		}
		return r, nil
	}
	if _, err := plan("warm-up ferry plan", false); err != nil {
		return nil, err
	}
	if _, err := walkChild(); err != nil {
		return nil, err
	}
	step("warm ferry plan (stat cache, nothing changed) and bare walks: %d rounds", c.WarmRuns)
	load0 := measure.SampleCPU()
	var warm, walk, walkProc []time.Duration
	for i := 0; i < c.WarmRuns; i++ {
		start := time.Now()
		w, err := bareWalk(ctxDir)
		if err != nil {
			return nil, err
		}
		walk = append(walk, time.Since(start))
		if w != res {
			return nil, fmt.Errorf("the context changed during the bench: %+v, then %+v", res, w)
		}
		r, err := walkChild()
		if err != nil {
			return nil, err
		}
		walkProc = append(walkProc, r.Wall)
		if r, err = plan(fmt.Sprintf("warm ferry plan %d", i+1), false); err != nil {
			return nil, err
		}
		warm = append(warm, r.Wall)
		rep.WarmRSSKB = max(rep.WarmRSSKB, r.MaxRSSKB)
	}
	rep.Load = measure.LoadBetween(load0, measure.SampleCPU(), runtime.NumCPU())
	rep.Warm, rep.Walk, rep.WalkProcess = measure.StatsOf(warm), measure.StatsOf(walk), measure.StatsOf(walkProc)

	// docker build of the same context, as the Docker CLI sends it.
	step("docker build (classic builder) of the same context: %d runs", c.BuildRuns)
	var toStep, total []time.Duration
	for i := 0; i < c.BuildRuns; i++ {
		b, err := dockerBuild(ctx, ctxDir, repo+":docker-build")
		if err != nil {
			return nil, err
		}
		toStep, total = append(toStep, b.toStep), append(total, b.total)
		rep.DockerSent = b.sent
		syscall.Sync()
	}
	rep.DockerSend, rep.DockerBuild = measure.StatsOf(toStep), measure.StatsOf(total)
	rep.Targets = targets(rep)
	fmt.Fprintln(log)
	return rep, nil
}

func firstLine(s string, err error) (string, error) {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return first, err
}

// checkSpace makes sure the context fits, with the Engine's copy of it:
// the classic builder unpacks the context it receives under its root.
func checkSpace(root, dockerRoot string, bytes int64, files int) error {
	// A file takes whole 4 KiB blocks and an inode: count 4 KiB more each.
	need := bytes + int64(files)*4096
	free, dev, err := freeBytes(root)
	if err != nil {
		return err
	}
	dockerFree, dockerDev, err := freeBytes(dockerRoot)
	if err != nil {
		// The Engine's root may not be readable here: assume the worst,
		// that it shares the bench's file system.
		dockerFree, dockerDev = free, dev
	}
	const margin = 2 << 30 // leave the machine some room
	var fits bool
	if dev == dockerDev {
		fits = free-margin >= 2*need
	} else {
		fits = free-margin >= need && dockerFree-margin >= need
	}
	if !fits {
		return fmt.Errorf("not enough disk space: the context needs about %s in %s and as much again for the Engine's copy in %s, leaving 2 GiB free, and there is %s (and %s there); give a smaller -size (and -files)",
			human(need), root, dockerRoot, human(free), human(dockerFree))
	}
	return nil
}

// makeRoot returns the folder to generate in: keep, or a new temporary one
// with a function that removes it.
func makeRoot(keep string) (string, func(), error) {
	if keep == "" {
		tmp, err := os.MkdirTemp("", "ferry-bench-context-")
		if err != nil {
			return "", nil, err
		}
		return tmp, func() { os.RemoveAll(tmp) }, nil
	}
	abs, err := filepath.Abs(keep)
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", nil, err
	}
	if entries, err := os.ReadDir(abs); err != nil || len(entries) > 0 {
		return "", nil, fmt.Errorf("-keep: %s is not a new or empty folder", abs)
	}
	return abs, func() {}, nil
}

// buildTimes is one docker build.
type buildTimes struct {
	toStep time.Duration // until the Engine began "Step 1/": the context was sent and unpacked
	total  time.Duration
	sent   string // the size the CLI reported sending
}

var sendingLine = regexp.MustCompile(`Sending build context to Docker daemon\s+([0-9.]+\s*[kMGT]?B)`)

// dockerBuild runs the classic builder on dir, timing the phase before the
// first step from the CLI's output as it arrives.
func dockerBuild(ctx context.Context, dir, tag string) (*buildTimes, error) {
	cmd := exec.CommandContext(ctx, "docker", "build", "--rm", "-t", tag, dir)
	cmd.Env = measure.ChildEnv("DOCKER_BUILDKIT=0")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	bt := &buildTimes{}
	var out strings.Builder
	scanned := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		sc.Split(splitLines)
		for sc.Scan() {
			line := sc.Text()
			if bt.toStep == 0 && strings.Contains(line, "Step 1/") {
				bt.toStep = time.Since(start)
			}
			if m := sendingLine.FindStringSubmatch(line); m != nil {
				bt.sent = m[1]
			}
			out.WriteString(line + "\n")
		}
		io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	bt.total = time.Since(start)
	pw.Close()
	<-scanned
	if err != nil {
		return nil, fmt.Errorf("docker build: %w\n%s", err, measure.Tail(out.String(), 20))
	}
	if bt.toStep == 0 {
		return nil, fmt.Errorf("docker build printed no \"Step 1/\" line: is it the classic builder?\n%s", measure.Tail(out.String(), 20))
	}
	return bt, nil
}

// splitLines splits on \n and on the \r of progress lines.
func splitLines(data []byte, atEOF bool) (int, []byte, error) {
	for i, c := range data {
		if c == '\n' || c == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// removeImages removes every image of repo, and checks none is left. One
// image may be the parent of another (the builder's cache shares the layer
// of `COPY marker /`), which the Engine refuses to remove first: each
// reference is removed on its own, over a few passes.
func removeImages(repo string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var last error
	for pass := 0; pass < 3; pass++ {
		refs, err := measure.Output(ctx, "docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repo)
		if err != nil {
			return err
		}
		if len(strings.Fields(refs)) == 0 {
			return nil
		}
		for _, ref := range strings.Fields(refs) {
			if _, err := measure.Output(ctx, "docker", "rmi", "-f", ref); err != nil {
				last = err
			}
		}
	}
	left, err := measure.Output(ctx, "docker", "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", repo)
	if err != nil {
		return err
	}
	if strings.TrimSpace(left) != "" {
		return fmt.Errorf("images left behind: %s (last error: %v)", strings.TrimSpace(left), last)
	}
	return nil
}

// A cleanupError is a failure to remove what the bench created, after a
// sound measurement: the report is still printed.
type cleanupError struct{ err error }

func (e *cleanupError) Error() string { return "cleanup: " + e.err.Error() }
