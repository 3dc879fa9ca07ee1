// Command liveupdate measures live update through a real `ferry watch`: the
// time from writing a file to that file being in the running container and
// the run() command it triggers having started.
//
// It generates a workspace in which a task compiles a static Go HTTP server,
// an image() rule packs it FROM scratch (nothing is pulled) with
// live_update = [sync("app/static", "/srv/static"), run(["/app", "mark"],
// trigger = ["app/static/version.txt"])], and a service runs it. It starts
// `ferry watch`, then writes version.txt with a new number again and again.
// Each time, `/app mark` (started in the container by the live update)
// reads version.txt from the container's disk and reports the number and
// its own start time to the server; the latency is that start time minus
// the time just before the write (the container shares the host's clock).
// A mark carrying the number just written proves the file was in place
// when the command started. It checks that no image was built and the
// container was never replaced, stops the watch and removes what it made.
//
// Usage:
//
//	go run ./bench/liveupdate -ferry bin/ferry [-changes 40] [-json]
//
// It exits 0 whenever the measurement was sound, even when the target is
// missed; 1 when a run failed or a check did not hold.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
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

// targetP50 is the target for the median latency.
const targetP50 = 100 * time.Millisecond

// busyPct is the machine load above which the report warns. The Docker
// Engine's work for the live updates counts as load: about a quarter of
// the machine here.
const busyPct = 40

// Config is the command line.
type Config struct {
	Ferry   string
	Changes int
	Pause   time.Duration
	Saves   int // timed saves of the compiled service; 0 skips it
	JSON    bool
}

// Report is what the bench measured.
type Report struct {
	FerryVersion string        `json:"ferry_version"`
	Engine       string        `json:"engine"`
	Platform     string        `json:"platform"`
	Changes      int           `json:"changes"`
	Latency      measure.Stats `json:"latency"`
	TargetP50MS  float64       `json:"target_p50_ms"`
	Met          bool          `json:"target_met"`
	LiveUpdates  int           `json:"live_updates"`
	Builds       int           `json:"image_builds_after_start"`
	FerryCPU     float64       `json:"ferry_cpu_s"` // used by ferry watch during the timed changes
	Load         measure.Load  `json:"machine"`
	SaveAnswer   *SaveReport   `json:"save_to_answer,omitempty"`
}

func main() {
	var c Config
	flag.StringVar(&c.Ferry, "ferry", "", "path of the ferry binary to measure (required; `make build` writes bin/ferry)")
	flag.IntVar(&c.Changes, "changes", 40, "timed changes (after 3 untimed warm-up changes)")
	flag.DurationVar(&c.Pause, "pause", 300*time.Millisecond, "pause between changes, so each is a batch of its own")
	flag.IntVar(&c.Saves, "saves", 10, "timed saves of a .go file of the compiled service (after 2 untimed ones); 0 skips that part")
	flag.BoolVar(&c.JSON, "json", false, "print the figures as JSON")
	flag.Parse()
	if c.Ferry == "" || flag.NArg() > 0 || c.Changes < 1 {
		measure.Usage("go run ./bench/liveupdate -ferry bin/ferry [-changes N] [-json]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench(ctx, c, os.Stderr)
	if err != nil {
		measure.Fail("bench/liveupdate", err)
	}
	if c.Saves > 0 {
		if rep.SaveAnswer, err = saveAnswer(ctx, c, os.Stderr); err != nil {
			measure.Fail("bench/liveupdate", err)
		}
	}
	measure.Print(rep, c.JSON, rep.writeText)
}

// appMain is the service: it serves GET /last (the last mark: number and
// start time in Unix nanoseconds) and records marks; `app mark` is the
// command the live update runs.
const appMain = `package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "mark" {
		start := time.Now().UnixNano()
		b, err := os.ReadFile("/srv/static/version.txt")
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:8080/mark?v=%s&at=%d", strings.TrimSpace(string(b)), start))
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		resp.Body.Close()
		return
	}
	var mu sync.Mutex
	last := "none 0"
	http.HandleFunc("/mark", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		last = r.URL.Query().Get("v") + " " + r.URL.Query().Get("at")
		mu.Unlock()
	})
	http.HandleFunc("/last", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprint(w, last)
	})
	http.ListenAndServe(":8080", nil)
}
`

func writeWorkspace(dir, repo string) error {
	files := map[string]string{
		"app/main.go":            appMain,
		"app/go.mod":             "module example.com/app\n\ngo 1.22\n",
		"app/Dockerfile":         "FROM scratch\nCOPY app /app\nCOPY static /srv/static\nENTRYPOINT [\"/app\"]\n",
		"app/static/version.txt": "0\n",
		"ferry.star": fmt.Sprintf(`task(name = "app-bin", cmd = "go build -o app .", dir = "app", env = {"CGO_ENABLED": "0", "GOOS": "linux"}, srcs = ["app/main.go", "app/go.mod"], outs = ["app/app"])
image(name = "app-image", repo = %q, context = "app", ignore = ["*.go", "go.mod"], deps = ["app-bin"], live_update = [
    sync("app/static", "/srv/static"),
    run(["/app", "mark"], trigger = ["app/static/version.txt"]),
])
service(name = "web", image = "app-image", ports = ["8080"])
`, repo),
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// A watched workspace is a generated workspace, under a project of its
// own, in which ferry watch runs (its output in out), started by
// startWatch and ended by stop.
type watched struct {
	ferry, root, dir, project string
	out                       *syncBuffer
	exited                    chan error    // the watch's exit, for waitFor (read at most once)
	done                      chan struct{} // closed once the watch has exited
	watch                     *exec.Cmd
	step                      func(string, ...any)
}

// startWatch writes a workspace with write (given its folder and the image
// repository to use) in a temporary folder, named for kind, starts ferry
// watch in it with the flags args returns (given that folder; nil: none),
// and waits for the watch to have run once.
func startWatch(ctx context.Context, ferry, kind string, write func(dir, repo string) error, args func(root string) []string, step func(string, ...any)) (*watched, error) {
	b := make([]byte, 4)
	rand.Read(b)
	id := hex.EncodeToString(b)
	root, err := os.MkdirTemp("", "ferry-bench-"+kind+"-")
	if err != nil {
		return nil, err
	}
	w := &watched{ferry: ferry, root: root, project: "ferrybench-" + kind + "-" + id, out: newSyncBuffer(), exited: make(chan error, 1), done: make(chan struct{}), step: step}
	w.dir = filepath.Join(root, w.project)
	if err := write(w.dir, "ferrybench/"+kind+"-"+id); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	step("starting ferry watch in %s (project %s)", w.dir, w.project)
	flags := []string{"--project", w.project, "--log-format", "json"}
	if args != nil {
		flags = append(flags, args(root)...)
	}
	w.watch = exec.Command(ferry, append(flags, "watch")...)
	w.watch.Dir, w.watch.Env, w.watch.Stdout, w.watch.Stderr = w.dir, measure.ChildEnv(), w.out, w.out
	if err := w.watch.Start(); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	go func() {
		w.exited <- w.watch.Wait()
		close(w.done)
	}()
	if err := waitFor(ctx, 3*time.Minute, w.exited, w.out, func() bool { return strings.Contains(w.out.String(), `"watching `) }); err != nil {
		err = fmt.Errorf("the watch did not start: %w\n%s", err, measure.Tail(w.out.String(), 20))
		return nil, errors.Join(err, w.stop(ctx, "removing what the watch created"))
	}
	return w, nil
}

// stop ends the watch (Ctrl-C, then a kill after 30 s), removes the
// containers, network and images of its project, and the workspace.
func (w *watched) stop(ctx context.Context, say string) error {
	w.watch.Process.Signal(os.Interrupt)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.watch.Process.Kill()
		<-w.done
	}
	defer os.RemoveAll(w.root)
	w.step("%s", say)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := measure.Command(cctx, w.dir, nil, w.ferry, "--project", w.project, "down", "--rmi"); err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	return nil
}

// syncBuffer is a buffer a process writes while the bench reads it.
type syncBuffer struct {
	mu  chan struct{}
	buf strings.Builder
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

func bench(ctx context.Context, c Config, log io.Writer) (rep *Report, err error) {
	step := func(format string, args ...any) { fmt.Fprintf(log, "bench/liveupdate: "+format+"\n", args...) }
	ferry, err := filepath.Abs(c.Ferry)
	if err != nil {
		return nil, err
	}
	rep = &Report{Changes: c.Changes, TargetP50MS: measure.MS(targetP50), Platform: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())}
	if rep.FerryVersion, err = firstLine(measure.Output(ctx, ferry, "version")); err != nil {
		return nil, fmt.Errorf("ferry binary: %w (run `make build` first)", err)
	}
	if rep.Engine, err = firstLine(measure.Output(ctx, "docker", "version", "--format", "Docker Engine {{.Server.Version}} (API {{.Server.APIVersion}})")); err != nil {
		return nil, fmt.Errorf("the Docker Engine is needed: %w", err)
	}
	w, err := startWatch(ctx, ferry, "live", writeWorkspace, nil, step)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, w.stop(ctx, "removing the containers, network and images it created")) }()
	ws, project, out, watch, exited := w.dir, w.project, w.out, w.watch, w.exited
	container, err := firstLine(measure.Output(ctx, "docker", "ps", "-q", "--no-trunc", "--filter", "label=ferry.project="+project, "--filter", "label=ferry.rule=web"))
	if err != nil || container == "" {
		return nil, fmt.Errorf("no web container after the first run (%v)\n%s", err, measure.Tail(out.String(), 20))
	}
	port, err := firstLine(measure.Output(ctx, "docker", "inspect", "-f", `{{range $p, $b := .NetworkSettings.Ports}}{{range $b}}{{.HostPort}} {{end}}{{end}}`, container))
	if err != nil {
		return nil, err
	}
	url := "http://127.0.0.1:" + strings.Fields(port)[0] + "/last"
	startLog := len(out.String())

	const warmup = 3
	step("%d warm-up changes, then %d timed ones, %s apart", warmup, c.Changes, c.Pause)
	client := &http.Client{Timeout: 2 * time.Second}
	var lat []time.Duration
	var load0 measure.CPUSample
	var ferryCPU0 time.Duration
	for n := 1; n <= warmup+c.Changes; n++ {
		if n == warmup+1 {
			load0, ferryCPU0 = measure.SampleCPU(), processCPU(watch.Process.Pid)
		}
		time.Sleep(c.Pause)
		before := time.Now()
		if err := os.WriteFile(filepath.Join(ws, "app/static/version.txt"), []byte(strconv.Itoa(n)+"\n"), 0o644); err != nil {
			return nil, err
		}
		at, err := waitMark(ctx, client, url, n)
		if err != nil {
			return nil, fmt.Errorf("change %d: %w\n%s", n, err, measure.Tail(out.String(), 20))
		}
		if n > warmup {
			lat = append(lat, time.Unix(0, at).Sub(before))
		}
	}
	rep.Load = measure.LoadBetween(load0, measure.SampleCPU(), runtime.NumCPU())
	// ferry watch is the bench's child, but not yet waited for: take its
	// CPU out of the others' by hand.
	if cpu := processCPU(watch.Process.Pid) - ferryCPU0; rep.Load.Measured && cpu > 0 {
		rep.FerryCPU = cpu.Seconds()
		rep.Load.OtherCPU = max(rep.Load.OtherCPU-rep.FerryCPU, 0)
		rep.Load.MachinePct = 100 * rep.Load.OtherCPU / (rep.Load.Wall * float64(runtime.NumCPU()))
	}
	rep.Latency = measure.StatsOf(lat)
	rep.Met = rep.Latency.Median <= measure.MS(targetP50)

	// The last mark may arrive before ferry logs the live update it is part of.
	waitFor(ctx, 10*time.Second, exited, out, func() bool {
		return strings.Count(out.String()[startLog:], `"live-updated in `) >= warmup+c.Changes
	})
	log2 := out.String()[startLog:]
	rep.LiveUpdates = strings.Count(log2, `"live-updated in `)
	rep.Builds = strings.Count(log2, "Successfully built")
	if now, _ := firstLine(measure.Output(ctx, "docker", "ps", "-q", "--no-trunc", "--filter", "label=ferry.project="+project, "--filter", "label=ferry.rule=web")); now != container {
		return nil, fmt.Errorf("the web container was replaced (%s, was %s): the changes were not live updates", now, container)
	}
	if rep.Builds > 0 || rep.LiveUpdates < warmup+c.Changes {
		return nil, fmt.Errorf("%d image builds and %d live updates for %d changes; want no build and a live update each", rep.Builds, rep.LiveUpdates, warmup+c.Changes)
	}
	return rep, nil
}

// waitMark polls the server until the mark of change n arrives, and returns
// the start time of the command that made it, in Unix nanoseconds.
func waitMark(ctx context.Context, client *http.Client, url string, n int) (int64, error) {
	deadline := time.Now().Add(10 * time.Second)
	var last string
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			v, at, _ := strings.Cut(last, " ")
			if v == strconv.Itoa(n) {
				return strconv.ParseInt(at, 10, 64)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("no mark of change %d within 10s (last: %q)", n, last)
}

// waitFor polls cond until it holds, the process exits, or limit passes.
func waitFor(ctx context.Context, limit time.Duration, exited <-chan error, out *syncBuffer, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		select {
		case err := <-exited:
			return fmt.Errorf("ferry watch exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %s", limit)
		}
	}
	return nil
}

// processCPU returns the CPU time a process has used, from
// /proc/PID/stat (0 where there is none).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks (100 a second).
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100
}

func firstLine(s string, err error) (string, error) {
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line, nil
}

func (r *Report) writeText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("live update through ferry watch: save → file in the running container and its run() command started")
	p("%s; %s; %s", r.FerryVersion, r.Engine, r.Platform)
	p("")
	p("latency     %s", r.Latency)
	verdict := "met"
	if !r.Met {
		verdict = "MISSED"
	}
	p("target      p50 ≤ %.0f ms: %s", r.TargetP50MS, verdict)
	p("checks      %d live updates, %d image builds, the same container throughout", r.LiveUpdates, r.Builds)
	p("ferry watch used %.1f CPU-s", r.FerryCPU)
	p("%s", r.Load.Describe("other processes (the Docker Engine included)", "timed changes", busyPct))
	if r.SaveAnswer != nil {
		p("")
		r.SaveAnswer.writeText(w)
	}
}
