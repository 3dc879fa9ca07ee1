package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// fakeHealth records what it is asked and finds svc unhealthy.
type fakeHealth struct {
	g       *engine.Graph
	names   []string
	timeout time.Duration
}

func (f *fakeHealth) Unhealthy(_ context.Context, g *engine.Graph, names []string, timeout time.Duration) ([]engine.UnhealthyService, error) {
	f.g, f.names, f.timeout = g, names, timeout
	return []engine.UnhealthyService{{Rule: "svc", Err: errors.New("svc is not healthy")}}, nil
}

// Work runs the stages' rules on the evaluated workspace, and asks its
// Checks and Health for the rest.
func TestWork(t *testing.T) {
	dir := t.TempDir()
	src := `task(name = "made", cmd = "echo made > made.txt", outs = ["made.txt"])
task(name = "broken", cmd = "exit 3")
`
	if err := os.WriteFile(filepath.Join(dir, "ferry.star"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := engine.Open(engine.SessionOptions{Dir: dir, Events: engine.NewBus(redact.New()), Plugins: func(*engine.Session) []engine.Plugin { return []engine.Plugin{core.Plugin{}, Plugin{}} }})
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Load(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHealth{}
	checked := false
	w := &Work{Loaded: l, Health: h, WaitTimeout: time.Minute, Checks: func(context.Context) (Findings, error) {
		checked = true
		return fakeFindings{}, nil
	}}
	if fs, err := w.Lint(t.Context()); err != nil || fs == nil || !checked {
		t.Errorf("Lint = %v, %v; checks ran: %v", fs, err, checked)
	}
	if err := w.Run(t.Context(), []string{"made"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "made.txt")); err != nil {
		t.Errorf("the stage's rule did not run: %v", err)
	}
	if err := w.Run(t.Context(), []string{"broken"}); !errors.Is(err, engine.ErrFailed) {
		t.Errorf("a failing rule: err = %v, want engine.ErrFailed", err)
	}
	bad, err := w.Unhealthy(t.Context(), []string{"made"})
	if err != nil || len(bad) != 1 || bad[0].Rule != "svc" {
		t.Errorf("Unhealthy = %v, %v", bad, err)
	}
	if h.g != l.Graph || !reflect.DeepEqual(h.names, []string{"made"}) || h.timeout != time.Minute {
		t.Errorf("Health was asked for %v within %s, of graph %p; want [made] within 1m of %p", h.names, h.timeout, h.g, l.Graph)
	}
	if k := w.Kind("made"); k != "task" {
		t.Errorf("Kind(made) = %q", k)
	}
}
