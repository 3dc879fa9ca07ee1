// Command up measures `ferry up` when nothing changed, on a 10-service
// workspace in the local Docker Engine, against `docker compose up -d` on
// the equivalent compose file.
//
// It generates a workspace in which a task compiles a static Go HTTP server,
// an image() rule packs it FROM scratch (nothing is pulled), and 10
// service() rules run it with their own environment and a published port
// ("80": a free host port). It runs `ferry up` once (cold), then times the
// whole `ferry up` process when nothing changed, counts the mutating Engine
// events those runs caused (from the Engine's event stream) and lists the
// API calls a no-op up makes (through a logging proxy). It does the same
// for Compose, with the image ferry built, and removes everything it made.
//
// Usage:
//
//	go run ./bench/up -ferry bin/ferry [-runs 20] [-compose-runs 10] [-json]
//
// See bench/README.md. It exits 0 whenever the measurement was sound, even
// when a timing target fails (a busy machine slows every run); 1 when a
// run failed, a check did not hold, or a count that must be zero was not:
// the mutating Engine events and API calls of the no-op ups, and with
// -pulled the registry's requests.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"github.com/ferryhq/ferry/bench/internal/measure"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Config is the command line.
type Config struct {
	Ferry       string
	Services    int
	Runs        int // timed no-op ferry up runs
	ComposeRuns int // timed no-op compose up runs
	APIRuns     int // no-op runs through the API proxy
	Keep        string
	JSON        bool
	NoCompose   bool
	// Pulled makes the services run an image pulled from a registry on
	// loopback (pull = "missing") instead of the image() rule's.
	Pulled bool
}

func main() {
	var c Config
	flag.StringVar(&c.Ferry, "ferry", "", "path of the ferry binary to measure (required; `make build` writes bin/ferry)")
	flag.IntVar(&c.Services, "services", 10, "number of services")
	flag.IntVar(&c.Runs, "runs", 20, "timed no-op `ferry up` runs")
	flag.IntVar(&c.ComposeRuns, "compose-runs", 10, "timed no-op `compose up -d` runs")
	flag.IntVar(&c.APIRuns, "api-runs", 3, "no-op runs of each tool through the API-logging proxy (untimed)")
	flag.StringVar(&c.Keep, "keep", "", "generate the workspace in `DIR` (new or empty) and keep its files (the Docker objects are removed all the same)")
	flag.BoolVar(&c.JSON, "json", false, "print the figures as JSON")
	flag.BoolVar(&c.NoCompose, "no-compose", false, "skip the Compose baseline")
	flag.BoolVar(&c.Pulled, "pulled", false, "services run an image that ferry pulls from a registry on loopback, and the registry's requests during the no-op runs are counted")
	flag.Parse()
	if c.Ferry == "" || flag.NArg() > 0 || c.Services < 1 || c.Services > 99 || c.Runs < 1 || c.ComposeRuns < 1 || c.APIRuns < 0 {
		measure.Usage("go run ./bench/up -ferry bin/ferry [-runs N] [-compose-runs N] [-json]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench(ctx, c, os.Stderr)
	var ce *cleanupError
	if err != nil && (rep == nil || !errors.As(err, &ce)) {
		measure.Fail("bench/up", err)
	}
	measure.Print(rep, c.JSON, rep.WriteText)
	if err != nil {
		fmt.Fprintf(os.Stderr, "\nbench/up: the figures stand, but %v\n", err)
		os.Exit(1)
	}
	if failed := failedMusts(rep.Targets); len(failed) > 0 {
		fmt.Fprintf(os.Stderr, "\nbench/up: a no-op ferry up must change nothing and ask no registry, but: %s\n", strings.Join(failed, "; "))
		os.Exit(1)
	}
}

// A cleanupError is a failure to remove what the bench created, after a
// sound measurement: the report is still printed.
type cleanupError struct{ err error }

func (e *cleanupError) Error() string { return "cleanup: " + e.err.Error() }

// names of everything the bench creates, unique per run so that it never
// touches another program's objects.
type names struct {
	id             string
	project        string // ferry --project, and the workspace folder's name
	composeProject string
	repo           string // the image() rule's repository
	pulled         string // with -pulled, the reference the services pull
}

func newNames() names {
	b := make([]byte, 4)
	rand.Read(b)
	id := hex.EncodeToString(b)
	return names{id: id, project: "ferrybench-up-" + id, composeProject: "ferrybenchc-" + id, repo: "ferrybench/up-" + id}
}

// bench runs every measurement; whatever happens, it removes what it
// created in the Engine before returning.
func bench(ctx context.Context, c Config, log io.Writer) (rep *Report, err error) {
	step := func(format string, args ...any) { fmt.Fprintf(log, "bench/up: "+format+"\n", args...) }
	ferry, err := filepath.Abs(c.Ferry)
	if err != nil {
		return nil, err
	}
	rep = &Report{
		Services: c.Services, Platform: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()),
		Runs: c.Runs, ComposeRuns: c.ComposeRuns,
	}
	if rep.FerryVersion, err = firstLine(measure.Output(ctx, ferry, "version")); err != nil {
		return nil, fmt.Errorf("ferry binary: %w (run `make build` first)", err)
	}
	if rep.Engine, err = firstLine(measure.Output(ctx, "docker", "version", "--format", "Docker Engine {{.Server.Version}} (API {{.Server.APIVersion}})")); err != nil {
		return nil, fmt.Errorf("the Docker Engine is needed: %w", err)
	}
	var compose []string
	if !c.NoCompose {
		compose, rep.ComposeVersion = composeCommand(ctx)
		if compose == nil {
			step("neither `docker compose` nor docker-compose is installed: no Compose baseline")
		}
	}

	n := newNames()
	root, removeRoot, err := makeRoot(c.Keep)
	if err != nil {
		return nil, err
	}
	defer removeRoot()
	ws := filepath.Join(root, n.project)
	composeDir := filepath.Join(root, "compose")
	defer func() {
		step("removing the containers, networks, volumes and images it created")
		if cerr := cleanup(ferry, ws, compose, composeDir, n); cerr != nil {
			err = errors.Join(err, &cleanupError{cerr})
		}
	}()
	step("generating a %d-service workspace in %s (project %s)", c.Services, ws, n.project)
	if err := writeWorkspace(ws, n, c.Services); err != nil {
		return nil, err
	}
	ferryUp := []string{ferry, "--project", n.project, "--log-format", "json", "up"}
	wantRules := c.Services + 2 // the task, the image, the services
	var reg *registry
	if c.Pulled {
		step("pushing the image to a registry on loopback, for the services to pull")
		if reg, err = pushToRegistry(ctx, ferry, ws, &n, c.Services); err != nil {
			return nil, err
		}
		defer reg.Close()
		rep.Pulled = true
		wantRules = c.Services
	}
	ferryLabel := "ferry.project=" + n.project
	greeting := func(c Container) (string, bool) { return envValue(c.Env, "GREETING") }
	own := owners{ferryProject: n.project, composeProject: n.composeProject, repo: n.repo}

	// Cold: compile, build the image, start every service.
	step("cold ferry up: compile, build the image, start %d services", c.Services)
	tc := time.Now()
	r, err := measure.Command(ctx, ws, nil, ferryUp...)
	if err != nil {
		return nil, fmt.Errorf("cold ferry up: %w", err)
	}
	tcEnd := time.Now()
	if s, err := measure.FerrySummary(r); err != nil {
		return nil, err
	} else if s.Ran != wantRules || s.Failed+s.Skipped > 0 {
		return nil, fmt.Errorf("cold ferry up ran %d rules (%d failed, %d skipped), want %d:\n%s", s.Ran, s.Failed, s.Skipped, wantRules, measure.Tail(string(r.Stderr), 20))
	}
	rep.FerryCold = measure.StatsOf([]time.Duration{r.Wall})
	before, err := containers(ctx, ferryLabel)
	if err != nil {
		return nil, err
	}
	if err := checkServices(ctx, before, c.Services, greeting); err != nil {
		return nil, fmt.Errorf("after the cold ferry up: %w", err)
	}
	ref, err := builtRef(ctx, n.repo)
	if err != nil {
		return nil, err
	}
	if c.Pulled {
		ref = n.pulled
	}
	rep.Image = ref
	// The event count means something only if the stream shows what the
	// cold up did: networks and containers created and started.
	time.Sleep(100 * time.Millisecond)
	evs, err := engineEvents(ctx, tc, tcEnd)
	if err != nil {
		return nil, err
	}
	rep.FerryColdEvents = countEvents(evs, own, "ferry").Mutating
	if rep.FerryColdEvents < 2*c.Services {
		return nil, fmt.Errorf("the Engine's event stream shows %d mutating events for the cold up, which created and started %d containers: counting events would mean nothing", rep.FerryColdEvents, c.Services)
	}

	// No-op runs: one untimed warm-up, then the timed runs inside one
	// window of the Engine's event stream. The pause lets the compiled
	// binary age past ferry's racy-timestamp window, as it would have by the
	// time a user runs again.
	time.Sleep(200 * time.Millisecond)
	noop := func(label string) (*measure.Run, error) {
		r, err := measure.Command(ctx, ws, nil, ferryUp...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		s, err := measure.FerrySummary(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		if s.Ran != 0 || s.Cached != wantRules || s.Failed+s.Skipped > 0 {
			return nil, fmt.Errorf("%s ran %d rules (%d up to date, %d failed, %d skipped), want 0 run and %d up to date:\n%s",
				label, s.Ran, s.Cached, s.Failed, s.Skipped, wantRules, measure.Tail(string(r.Stderr), 20))
		}
		return r, nil
	}
	if _, err := noop("warm-up no-op ferry up"); err != nil {
		return nil, err
	}
	step("no-op ferry up: %d timed runs", c.Runs)
	var reg0 int64
	if reg != nil {
		reg0 = reg.requests.Load()
	}
	load0 := measure.SampleCPU()
	t0 := time.Now()
	var ds []time.Duration
	for i := 0; i < c.Runs; i++ {
		r, err := noop(fmt.Sprintf("no-op ferry up %d", i+1))
		if err != nil {
			return nil, err
		}
		ds = append(ds, r.Wall)
	}
	t1 := time.Now()
	load1 := measure.SampleCPU()
	rep.FerryNoop = measure.StatsOf(ds)
	if reg != nil {
		rep.RegistryRequests = reg.requests.Load() - reg0
	}
	after, err := containers(ctx, ferryLabel)
	if err != nil {
		return nil, err
	}
	if identity(after) != identity(before) {
		return nil, fmt.Errorf("the no-op ferry ups changed the containers:\nbefore:\n%safter:\n%s", identity(before), identity(after))
	}
	time.Sleep(100 * time.Millisecond)
	evs, err = engineEvents(ctx, t0, t1)
	if err != nil {
		return nil, err
	}
	rep.FerryEvents = countEvents(evs, own, "ferry")

	// The exact Engine calls of a no-op up, through the logging proxy.
	proxy, perr := startProxy(root)
	if perr != nil {
		step("no API call count: %v", perr)
		rep.APINote = perr.Error()
	}
	if proxy != nil {
		defer proxy.close()
		step("no-op ferry up through the API-logging proxy: %d runs", c.APIRuns)
		var calls [][]string
		for i := 0; i < c.APIRuns; i++ {
			if _, err := measure.Command(ctx, ws, measure.ChildEnv(proxy.env()), ferryUp...); err != nil {
				return nil, fmt.Errorf("no-op ferry up through the proxy: %w", err)
			}
			calls = append(calls, proxy.take())
		}
		rep.FerryCalls = tally(calls)
	}
	if after, err = containers(ctx, ferryLabel); err != nil {
		return nil, err
	}
	if identity(after) != identity(before) {
		return nil, fmt.Errorf("the no-op ferry ups changed the containers:\nbefore:\n%safter:\n%s", identity(before), identity(after))
	}

	// The Compose baseline, with the image ferry built.
	var load2, load3 measure.CPUSample
	if compose != nil {
		step("compose baseline (%s): cold up -d, then %d timed no-op runs", rep.ComposeVersion, c.ComposeRuns)
		if err := writeCompose(composeDir, ref, c.Services); err != nil {
			return nil, err
		}
		up := append(append([]string{}, compose...), "-p", n.composeProject, "-f", filepath.Join(composeDir, "compose.yaml"), "up", "-d")
		r, err := measure.Command(ctx, composeDir, nil, up...)
		if err != nil {
			return nil, fmt.Errorf("cold compose up: %w", err)
		}
		rep.ComposeCold = measure.StatsOf([]time.Duration{r.Wall})
		composeLabel := "com.docker.compose.project=" + n.composeProject
		cbefore, err := containers(ctx, composeLabel)
		if err != nil {
			return nil, err
		}
		if err := checkServices(ctx, cbefore, c.Services, greeting); err != nil {
			return nil, fmt.Errorf("after the cold compose up: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
		if _, err := measure.Command(ctx, composeDir, nil, up...); err != nil {
			return nil, fmt.Errorf("warm-up compose up: %w", err)
		}
		load2 = measure.SampleCPU()
		t2 := time.Now()
		ds = nil
		for i := 0; i < c.ComposeRuns; i++ {
			r, err := measure.Command(ctx, composeDir, nil, up...)
			if err != nil {
				return nil, fmt.Errorf("no-op compose up %d: %w", i+1, err)
			}
			ds = append(ds, r.Wall)
		}
		t3 := time.Now()
		load3 = measure.SampleCPU()
		rep.ComposeNoop = measure.StatsOf(ds)
		cafter, err := containers(ctx, composeLabel)
		if err != nil {
			return nil, err
		}
		if identity(cafter) != identity(cbefore) {
			return nil, fmt.Errorf("the no-op compose ups changed the containers:\nbefore:\n%safter:\n%s", identity(cbefore), identity(cafter))
		}
		time.Sleep(100 * time.Millisecond)
		if evs, err = engineEvents(ctx, t2, t3); err != nil {
			return nil, err
		}
		rep.ComposeEvents = countEvents(evs, own, "compose")
		if proxy != nil {
			var calls [][]string
			for i := 0; i < c.APIRuns; i++ {
				if _, err := measure.Command(ctx, composeDir, measure.ChildEnv(proxy.env()), up...); err != nil {
					return nil, fmt.Errorf("no-op compose up through the proxy: %w", err)
				}
				calls = append(calls, proxy.take())
			}
			rep.ComposeCalls = tally(calls)
		}
	}
	rep.Load = measure.LoadBetween(load0, load1, runtime.NumCPU())
	if compose != nil {
		// Both timed phases together.
		l2 := measure.LoadBetween(load2, load3, runtime.NumCPU())
		rep.Load.Wall += l2.Wall
		rep.Load.OtherCPU += l2.OtherCPU
		rep.Load.MachinePct = 100 * rep.Load.OtherCPU / (rep.Load.Wall * float64(runtime.NumCPU()))
	}
	rep.Targets = targets(rep)
	fmt.Fprintln(log)
	return rep, nil
}

func firstLine(s string, err error) (string, error) {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return first, err
}

// builtRef is the one reference of the image the image() rule built.
func builtRef(ctx context.Context, repo string) (string, error) {
	out, err := measure.Output(ctx, "docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repo)
	if err != nil {
		return "", err
	}
	refs := strings.Fields(out)
	if len(refs) != 1 {
		return "", fmt.Errorf("want one image in %s after the cold up, found %q", repo, refs)
	}
	return refs[0], nil
}

// makeRoot returns the folder to generate in: keep, or a new temporary one
// with a function that removes it.
func makeRoot(keep string) (string, func(), error) {
	if keep == "" {
		tmp, err := os.MkdirTemp("", "ferry-bench-up-")
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

// cleanup removes what the bench made in the Engine: the ferry project
// (containers, networks, volumes), the Compose project, and the images of
// the repository. It then checks that nothing of it is left.
func cleanup(ferry, ws string, compose []string, composeDir string, n names) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	if _, err := os.Stat(filepath.Join(ws, "ferry.star")); err == nil {
		if _, err := measure.Command(ctx, ws, nil, ferry, "--project", n.project, "down", "--volumes"); err != nil {
			errs = append(errs, err)
		}
	}
	if compose != nil {
		if _, err := os.Stat(filepath.Join(composeDir, "compose.yaml")); err == nil {
			down := append(append([]string{}, compose...), "-p", n.composeProject, "-f", filepath.Join(composeDir, "compose.yaml"), "down", "--volumes", "--remove-orphans")
			if _, err := measure.Command(ctx, composeDir, nil, down...); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if n.pulled != "" {
		measure.Output(ctx, "docker", "rmi", "-f", n.pulled)
	}
	// By reference, over a few passes: the Engine refuses to remove an
	// image that is another's parent before the child.
	for pass := 0; pass < 3; pass++ {
		refs, err := measure.Output(ctx, "docker", "images", "--format", "{{.Repository}}:{{.Tag}}", n.repo)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if len(strings.Fields(refs)) == 0 {
			break
		}
		for _, ref := range strings.Fields(refs) {
			measure.Output(ctx, "docker", "rmi", "-f", ref)
		}
	}
	// Nothing of ours may be left.
	for _, check := range [][]string{
		{"docker", "ps", "-aq", "--filter", "label=ferry.project=" + n.project},
		{"docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=" + n.composeProject},
		{"docker", "network", "ls", "-q", "--filter", "name=" + n.project},
		{"docker", "network", "ls", "-q", "--filter", "name=" + n.composeProject},
		{"docker", "volume", "ls", "-q", "--filter", "name=" + n.project},
		{"docker", "images", "-q", n.repo},
	} {
		if out, err := measure.Output(ctx, check...); err == nil && strings.TrimSpace(out) != "" {
			errs = append(errs, fmt.Errorf("left behind: %s: %s", strings.Join(check, " "), strings.Join(strings.Fields(out), " ")))
		}
	}
	return errors.Join(errs...)
}
