package dockertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// helloSrc is a program for FROM scratch images: it prints a greeting,
// fails with "fail" and sleeps with "sleep".
const helloSrc = `package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "fail" {
		fmt.Println("failing on purpose")
		os.Exit(3)
	}
	if len(os.Args) > 1 && os.Args[1] == "sleep" {
		time.Sleep(time.Minute)
	}
	fmt.Println("hello from ferry")
}
`

// The static binaries the tests put in images, built once per run in
// binDir, which TestMain removes.
var (
	binMu  sync.Mutex
	binDir string
	bins   = map[string]string{} // name → path
)

func TestMain(m *testing.M) {
	// The secret HMAC keys of the tests' workspaces go here, not into the
	// home folder of whoever runs the tests.
	state, err := os.MkdirTemp("", "ferry-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_STATE_HOME", state)
	code := m.Run()
	os.RemoveAll(state)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// hello returns the path of a static hello binary, built once per run.
func hello(t testing.TB) string { return staticBinary(t, "hello", helloSrc) }

// staticBinary returns the path of a static Linux binary built from the Go
// program src, once per run for each name.
func staticBinary(t testing.TB, name, src string) string {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	if p, ok := bins[name]; ok {
		return p
	}
	if binDir == "" {
		dir, err := os.MkdirTemp("", "ferry-bins-")
		if err != nil {
			t.Fatal(err)
		}
		binDir = dir
	}
	dir := filepath.Join(binDir, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srcPath := filepath.Join(dir, "main.go")
	if err := os.WriteFile(srcPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, srcPath)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	bins[name] = bin
	return bin
}

// inCI reports whether the tests run under CI, where a missing Docker
// Engine is a failure, not a reason to skip.
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// needDocker returns a client for the real Engine, or skips the test when
// there is none (and fails it under CI).
func needDocker(t *testing.T) *dockerapi.Client {
	t.Helper()
	c := dockerapi.New()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		if inCI() {
			t.Fatalf("these tests need the Docker Engine, and CI is set: %v", err)
		}
		t.Skipf("no Docker Engine: %v", err)
	}
	return c
}

// countingEngine counts the builds and tags it passes on.
type countingEngine struct {
	Client
	builds, tags atomic.Int32
}

func (c *countingEngine) Build(ctx context.Context, r io.Reader, o dockerapi.BuildOptions, out io.Writer) (string, error) {
	c.builds.Add(1)
	return c.Client.Build(ctx, r, o, out)
}

func (c *countingEngine) BuildWithBuildKit(ctx context.Context, o dockerapi.BuildKitOptions, out io.Writer) (string, error) {
	c.builds.Add(1)
	return c.Client.BuildWithBuildKit(ctx, o, out)
}

func (c *countingEngine) Tag(ctx context.Context, id, ref string) error {
	c.tags.Add(1)
	return c.Client.Tag(ctx, id, ref)
}

// A testWorkspace is a workspace in a temp folder whose name is also its
// project label; REPO in its files stands for a repository prefix unique
// to the test.
type testWorkspace struct {
	t       testing.TB
	root    string
	project string
	repo    string
	docker  *dockerapi.Client
	eng     *countingEngine
	onEvent func(engine.Event) // sees every event of a run, if set
	// redactor learns the values of the secrets the runs read.
	redactor *redact.Redactor
}

func randomHex(t testing.TB) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newWorkspace writes files into a fresh workspace and removes every image
// labelled with its project when the test ends.
func newWorkspace(t testing.TB, docker *dockerapi.Client, files map[string]string) *testWorkspace {
	t.Helper()
	id := randomHex(t)
	w := &testWorkspace{t: t, project: "ferrytest-" + id, repo: "ferrytest/" + id, docker: docker, redactor: redact.New()}
	w.root = filepath.Join(t.TempDir(), w.project)
	if docker != nil {
		w.eng = &countingEngine{Client: docker}
		t.Cleanup(func() { removeProjectImages(t, docker, w.project) })
	}
	for name, body := range files {
		w.write(name, body)
	}
	return w
}

// removeProjectImages removes the images labelled with project, children
// before parents, retrying while a cancelled build's container still uses
// one.
func removeProjectImages(t testing.TB, docker *dockerapi.Client, project string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var last error
	for pass := 0; pass < 20; pass++ {
		imgs, err := docker.ImagesByLabel(ctx, objects.LabelProject, project)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		if len(imgs) == 0 {
			return
		}
		sort.Slice(imgs, func(i, j int) bool { return imgs[i].Created.After(imgs[j].Created) })
		for _, img := range imgs {
			if err := docker.Remove(ctx, img.ID); err != nil {
				last = err
			}
		}
		time.Sleep(time.Duration(pass) * 100 * time.Millisecond)
	}
	t.Errorf("cleanup: images of %s remain: %v", project, last)
}

func (w *testWorkspace) write(name, body string) {
	w.t.Helper()
	p := filepath.Join(w.root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "REPO", w.repo)), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// copyHello puts the hello binary at name. The workspace's repository is
// appended to it (an ELF binary ignores trailing bytes), so that no two
// tests build the same layers: the classic builder would share cached
// intermediate images between them, and one test's cleanup could remove an
// image that another is building on.
func (w *testWorkspace) copyHello(name string) {
	w.t.Helper()
	w.copyFile(hello(w.t), name)
}

// copyFile copies the binary at src to name, with the workspace's
// repository appended (see copyHello).
func (w *testWorkspace) copyFile(src, name string) {
	w.t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		w.t.Fatal(err)
	}
	b = append(b, w.repo...)
	p := filepath.Join(w.root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o755); err != nil {
		w.t.Fatal(err)
	}
}

// load evaluates the workspace with the core, Docker and secret plugins.
func (w *testWorkspace) load(ctx context.Context, bus *engine.Bus) (*engine.Engine, error) {
	ws := &engine.Workspace{Root: w.root, File: filepath.Join(w.root, engine.FileName)}
	var eng Client = w.eng
	if w.eng == nil {
		eng = nil
	}
	secrets := &secret.Plugin{Redactor: w.redactor}
	res, err := engine.Evaluate(ctx, engine.Options{
		Workspace: ws,
		Plugins:   []engine.Plugin{core.Plugin{}, Plugin{Client: eng, Secrets: secrets}, secrets},
		Events:    bus,
	})
	if err != nil {
		return nil, err
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		return nil, err
	}
	st, err := engine.LoadState(ws, true)
	if err != nil {
		return nil, err
	}
	return engine.NewEngine(ws, g, st, bus), nil
}

// runResult is what a run reported.
type runResult struct {
	sum    *engine.Summary
	err    error
	events []engine.Event
}

// failure returns the error of the rule that failed, or "".
func (r runResult) failure(rule string) string {
	for _, e := range r.events {
		if e.Kind == engine.EventRuleFail && e.Rule == rule {
			return e.Err
		}
	}
	return ""
}

// output returns the output lines of rule.
func (r runResult) output(rule string) string {
	var sb strings.Builder
	for _, e := range r.events {
		if e.Kind == engine.EventOutput && e.Rule == rule {
			sb.WriteString(e.Text + "\n")
		}
	}
	return sb.String()
}

// run runs the named rules (every build rule when none) and saves state.
func (w *testWorkspace) run(ctx context.Context, names ...string) runResult {
	w.t.Helper()
	var r runResult
	var mu sync.Mutex
	bus := engine.NewBus(w.redactor, engine.SinkFunc(func(e engine.Event) {
		mu.Lock()
		r.events = append(r.events, e)
		mu.Unlock()
		if w.onEvent != nil {
			w.onEvent(e)
		}
	}))
	e, err := w.load(ctx, bus)
	if err != nil {
		w.t.Fatalf("load: %v", err)
	}
	r.sum, r.err = e.Run(ctx, names, engine.RunOptions{Jobs: 2})
	if err := e.Save(); err != nil {
		w.t.Fatal(err)
	}
	return r
}

// mustRun runs and fails the test unless the run succeeded; it returns the
// rules that ran and those that were cached.
func (w *testWorkspace) mustRun(names ...string) (ran, cached []string) {
	w.t.Helper()
	r := w.run(context.Background(), names...)
	if r.err != nil {
		for _, e := range r.events {
			if e.Kind == engine.EventRuleFail || e.Kind == engine.EventOutput {
				w.t.Logf("%s %s: %s%s", e.Kind, e.Rule, e.Text, e.Err)
			}
		}
		w.t.Fatalf("run: %v", r.err)
	}
	return r.sum.Ran, r.sum.Cached
}

// plan returns the plan item of rule.
func (w *testWorkspace) plan(rule string) engine.PlanItem {
	w.t.Helper()
	e, err := w.load(context.Background(), engine.NewBus(redact.New()))
	if err != nil {
		w.t.Fatalf("load: %v", err)
	}
	items, err := e.Plan(context.Background(), []string{rule}, false)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, it := range items {
		if it.Rule == rule {
			return it
		}
	}
	w.t.Fatalf("no plan item for %s", rule)
	return engine.PlanItem{}
}
