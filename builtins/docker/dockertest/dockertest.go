// Package dockertest holds what the tests of the Docker packages share:
// static binaries to put in images, the real Engine (NeedDocker), and
// workspaces in temporary folders that are evaluated and run with the
// Docker builtins the test gives.
package dockertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// HelloSrc is a program for FROM scratch images: it prints a greeting,
// fails with "fail" and sleeps with "sleep".
const HelloSrc = `package main

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

// Main runs the tests of m, as a package's TestMain does: the secret HMAC
// keys of the tests' workspaces go into a temporary state folder, and the
// binaries that StaticBinary built are removed at the end.
func Main(m *testing.M) {
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

// Hello returns the path of a static hello binary, built once per run.
func Hello(t testing.TB) string { return StaticBinary(t, "hello", HelloSrc) }

// StaticBinary returns the path of a static Linux binary built from the Go
// program src, once per run for each name.
func StaticBinary(t testing.TB, name, src string) string {
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

// InCI reports whether the tests run under CI, where a missing Docker
// Engine is a failure, not a reason to skip.
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// NeedDocker returns a client for the real Engine, or skips the test when
// there is none (and fails it under CI).
func NeedDocker(t *testing.T) *dockerapi.Client {
	t.Helper()
	c := dockerapi.New()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		if InCI() {
			t.Fatalf("these tests need the Docker Engine, and CI is set: %v", err)
		}
		t.Skipf("no Docker Engine: %v", err)
	}
	return c
}

// A Workspace is a workspace in a temp folder whose name is also its
// project label; REPO in its files stands for a repository prefix unique
// to the test.
type Workspace struct {
	T       testing.TB
	Root    string
	Project string
	Repo    string
	Docker  *dockerapi.Client
	OnEvent func(engine.Event) // sees every event of a run, if set
	// Redactor learns the values of the secrets the runs read.
	Redactor *redact.Redactor
	// Plugin returns the plugin of the Docker builtins that the runs
	// evaluate ferry.star with, beside the core and secret plugins; the
	// secret plugin is given.
	Plugin func(secrets *secret.Plugin) engine.Plugin
}

// RandomHex returns 8 random hex digits, to name what a test makes.
func RandomHex(t testing.TB) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// NewWorkspace writes files into a fresh workspace and removes every image
// labelled with its project when the test ends.
func NewWorkspace(t testing.TB, docker *dockerapi.Client, files map[string]string) *Workspace {
	t.Helper()
	id := RandomHex(t)
	w := &Workspace{T: t, Project: "ferrytest-" + id, Repo: "ferrytest/" + id, Docker: docker, Redactor: redact.New()}
	w.Root = filepath.Join(t.TempDir(), w.Project)
	if docker != nil {
		t.Cleanup(func() { RemoveProjectImages(t, docker, w.Project) })
	}
	for name, body := range files {
		w.Write(name, body)
	}
	return w
}

// RemoveProjectImages removes the images labelled with project, children
// before parents, retrying while a cancelled build's container still uses
// one.
func RemoveProjectImages(t testing.TB, docker *dockerapi.Client, project string) {
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

// Write writes body to the file name of the workspace, with REPO replaced
// by its repository prefix.
func (w *Workspace) Write(name, body string) {
	w.T.Helper()
	p := filepath.Join(w.Root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.T.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "REPO", w.Repo)), 0o644); err != nil {
		w.T.Fatal(err)
	}
}

// CopyHello puts the hello binary at name. The workspace's repository is
// appended to it (an ELF binary ignores trailing bytes), so that no two
// tests build the same layers: the classic builder would share cached
// intermediate images between them, and one test's cleanup could remove an
// image that another is building on.
func (w *Workspace) CopyHello(name string) {
	w.T.Helper()
	w.CopyFile(Hello(w.T), name)
}

// CopyFile copies the binary at src to name, with the workspace's
// repository appended (see CopyHello).
func (w *Workspace) CopyFile(src, name string) {
	w.T.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		w.T.Fatal(err)
	}
	b = append(b, w.Repo...)
	p := filepath.Join(w.Root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.T.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o755); err != nil {
		w.T.Fatal(err)
	}
}

// Load evaluates the workspace with the core, Docker (see Plugin) and
// secret plugins.
func (w *Workspace) Load(ctx context.Context, bus *engine.Bus) (*engine.Engine, error) {
	ws := &engine.Workspace{Root: w.Root, File: filepath.Join(w.Root, engine.FileName)}
	secrets := &secret.Plugin{Redactor: w.Redactor}
	res, err := engine.Evaluate(ctx, engine.Options{
		Workspace: ws,
		Plugins:   []engine.Plugin{core.Plugin{}, w.Plugin(secrets), secrets},
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

// RunResult is what a run reported.
type RunResult struct {
	Sum    *engine.Summary
	Err    error
	Events []engine.Event
}

// Failure returns the error of the rule that failed, or "".
func (r RunResult) Failure(rule string) string {
	for _, e := range r.Events {
		if e.Kind == engine.EventRuleFail && e.Rule == rule {
			return e.Err
		}
	}
	return ""
}

// Output returns the output lines of rule.
func (r RunResult) Output(rule string) string {
	var sb strings.Builder
	for _, e := range r.Events {
		if e.Kind == engine.EventOutput && e.Rule == rule {
			sb.WriteString(e.Text + "\n")
		}
	}
	return sb.String()
}

// Run runs the named rules (every build rule when none) and saves state.
func (w *Workspace) Run(ctx context.Context, names ...string) RunResult {
	w.T.Helper()
	var r RunResult
	var mu sync.Mutex
	bus := engine.NewBus(w.Redactor, engine.SinkFunc(func(e engine.Event) {
		mu.Lock()
		r.Events = append(r.Events, e)
		mu.Unlock()
		if w.OnEvent != nil {
			w.OnEvent(e)
		}
	}))
	e, err := w.Load(ctx, bus)
	if err != nil {
		w.T.Fatalf("load: %v", err)
	}
	r.Sum, r.Err = e.Run(ctx, names, engine.RunOptions{Jobs: 2})
	if err := e.Save(); err != nil {
		w.T.Fatal(err)
	}
	return r
}

// MustRun runs and fails the test unless the run succeeded; it returns the
// rules that ran and those that were cached.
func (w *Workspace) MustRun(names ...string) (ran, cached []string) {
	w.T.Helper()
	r := w.Run(context.Background(), names...)
	if r.Err != nil {
		for _, e := range r.Events {
			if e.Kind == engine.EventRuleFail || e.Kind == engine.EventOutput {
				w.T.Logf("%s %s: %s%s", e.Kind, e.Rule, e.Text, e.Err)
			}
		}
		w.T.Fatalf("run: %v", r.Err)
	}
	return r.Sum.Ran, r.Sum.Cached
}

// Plan returns the plan item of rule.
func (w *Workspace) Plan(rule string) engine.PlanItem {
	w.T.Helper()
	e, err := w.Load(context.Background(), engine.NewBus(redact.New()))
	if err != nil {
		w.T.Fatalf("load: %v", err)
	}
	items, err := e.Plan(context.Background(), []string{rule}, false)
	if err != nil {
		w.T.Fatal(err)
	}
	for _, it := range items {
		if it.Rule == rule {
			return it
		}
	}
	w.T.Fatalf("no plan item for %s", rule)
	return engine.PlanItem{}
}

// StateKey returns the key that the workspace's state records for rule.
func (w *Workspace) StateKey(rule string) engine.Digest {
	w.T.Helper()
	st, err := engine.LoadState(&engine.Workspace{Root: w.Root, File: filepath.Join(w.Root, engine.FileName)}, false)
	if err != nil {
		w.T.Fatal(err)
	}
	rs := st.Rule(rule)
	if rs == nil {
		w.T.Fatalf("no state for %s", rule)
	}
	return rs.Key
}
