package dev

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/console/view"
	"github.com/ferryhq/ferry/engine/redact"
)

// fakeScreen is a screen that keeps its model, as a view.Terminal does.
type fakeScreen struct {
	mu     sync.Mutex
	m      *view.Model
	closed bool
}

func (s *fakeScreen) Handle(e engine.Event) { s.Update(func(m *view.Model) { m.Handle(e) }) }
func (s *fakeScreen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.Write(p)
}
func (s *fakeScreen) Update(f func(*view.Model)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.m)
}
func (s *fakeScreen) Close() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.m.Summary()
}

// The view shows the rules the watch selected; its keys trigger them
// through the loop, reporting a refusal on its bus, and q ends the watch.
func TestView(t *testing.T) {
	rec := &recorder{wake: make(chan struct{}, 1)}
	v := &View{}
	ctx, cancel := context.WithCancel(context.Background())
	v.cancel = cancel
	s := &fakeScreen{m: view.NewModel("ferry watch")}
	if err := v.attach(s, zerolog.InfoLevel, engine.NewBus(redact.New()), []engine.Sink{rec}); err != nil {
		t.Fatal(err)
	}
	keys := v.keys()
	keys.Trigger("build") // no rules yet: nothing to do

	build, seed := rule("build"), rule("seed")
	seed.info.Manual = true
	g, err := engine.NewGraph([]engine.Rule{build, seed})
	if err != nil {
		t.Fatal(err)
	}
	loop := &Loop{}
	if k := loop.Kind("build"); k != "" {
		t.Errorf("Kind before an evaluation = %q, want \"\"", k)
	}
	v.Show(g, []string{"build", "seed"}, loop)
	keys.Trigger("seed") // the loop has not evaluated ferry.star
	if n := rec.count(logged("trigger once it runs")); n != 1 {
		t.Errorf("the refused trigger was logged %d times, want once:\n%s", n, rec.log())
	}
	keys.Quit()
	if ctx.Err() == nil {
		t.Error("q left the watch's context alive")
	}
	lines, quit := v.Close()
	if !quit || !s.closed {
		t.Errorf("Close = %v, closed %v; want q reported and the screen closed", quit, s.closed)
	}
	got := strings.Join(lines, "\n")
	if !strings.Contains(got, "build") || !strings.Contains(got, "seed") || !strings.Contains(got, "manual") {
		t.Errorf("the summary lacks the rules:\n%s", got)
	}
}
