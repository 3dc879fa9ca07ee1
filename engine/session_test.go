package engine

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferryhq/ferry/engine/redact"
)

// openSession writes files into a temporary workspace and opens it with
// testPlugin and tagPlugin, collecting the events.
func openSession(t *testing.T, files map[string]string, o SessionOptions) (*Session, *[]Event) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	var events []Event
	o.Dir = dir
	o.Plugins = func(*Session) []Plugin { return []Plugin{testPlugin{}, tagPlugin{}} }
	o.Events = NewBus(redact.New(), SinkFunc(func(e Event) { events = append(events, e) }))
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, &events
}

func TestSessionLoadRun(t *testing.T) {
	s, _ := openSession(t, map[string]string{FileName: "rule('a')\nrule('b', deps = ['a'])\n", "sub/x": ""}, SessionOptions{Project: "demo"})
	if s.Project != "demo" || s.Workspace.File != filepath.Join(s.Workspace.Root, FileName) {
		t.Fatalf("project %q, workspace %+v", s.Project, s.Workspace)
	}
	ctx := context.Background()
	l, err := s.Load(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Graph.Names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("graph: %v", got)
	}
	items, err := l.Plan(ctx, []string{"b"}, false)
	if err != nil || len(items) != 2 || !items[0].Run || !items[1].Run {
		t.Fatalf("plan: %+v, %v", items, err)
	}
	var after *State
	sum, err := l.RunThen(ctx, []string{"b"}, RunOptions{}, func(st *State) error { after = st; return nil })
	if err != nil || !slices.Equal(sum.Ran, []string{"a", "b"}) || after == nil || after.Rule("b") == nil {
		t.Fatalf("first run: %+v, %v, state after: %v", sum, err, after)
	}
	// The state was saved: a new session finds both rules up to date.
	s2, err := Open(SessionOptions{Dir: filepath.Join(s.Workspace.Root, "sub"), Plugins: s.opts.Plugins, Events: s.Events})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Workspace.Root != s.Workspace.Root || s2.Project != ProjectName(s.Workspace.Root) {
		t.Fatalf("from a subfolder: %+v, project %q", s2.Workspace, s2.Project)
	}
	l2, err := s2.Load(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := l2.Run(ctx, nil, RunOptions{}); err != nil || len(sum.Ran) != 0 || len(sum.Cached) != 2 {
		t.Fatalf("second run: %+v, %v", sum, err)
	}
}

func TestSessionLoadErrors(t *testing.T) {
	for name, c := range map[string]struct {
		src   string
		flags map[string]string
		o     SessionOptions
		want  string
	}{
		"undeclared flag": {src: "rule('a')\n", flags: map[string]string{"region": "eu"}, want: `unknown flag --region: no config.flag("region")`},
		"graph":           {src: "rule('a', deps = ['b'])\n", want: `unknown dep "b"`},
		"graph check":     {src: "rule('a')\ntag('c')\n", want: `tag "c" names no rule`},
		"profile":         {src: "rule('a')\n", o: SessionOptions{Profiles: []string{"nope"}}, want: "nope"},
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := openSession(t, map[string]string{FileName: c.src}, c.o)
			_, err := s.Load(context.Background(), c.flags)
			wantErr(t, err, c.want)
		})
	}
}

func TestOpenErrors(t *testing.T) {
	bus := NewBus(redact.New())
	dir := t.TempDir()
	if _, err := Open(SessionOptions{Dir: dir, Events: bus}); err == nil {
		t.Error("a folder without ferry.star opened")
	}
	writeFiles(t, dir, map[string]string{FileName: ""})
	_, err := Open(SessionOptions{Dir: dir, Events: bus, Project: "Not A Name"})
	wantErr(t, err, `--project "Not A Name"`)
	_, err = Open(SessionOptions{Dir: dir})
	wantErr(t, err, "Events is nil")
}

func TestSessionRunFailureSkipsAfter(t *testing.T) {
	s, _ := openSession(t, map[string]string{FileName: "rule('a')\n"}, SessionOptions{})
	l, err := s.Load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Graph.Rule("a").(*testRule).fail = true
	called := false
	_, err = l.RunThen(context.Background(), nil, RunOptions{}, func(*State) error { called = true; return nil })
	if !errors.Is(err, ErrFailed) || called {
		t.Fatalf("err %v, after called: %v", err, called)
	}
}

// WithState holds the workspace lock while f runs, and gives it back
// after, also when f fails.
func TestWithState(t *testing.T) {
	ws := testWorkspace(t)
	bus := NewBus(redact.New())
	held := false
	boom := errors.New("boom")
	err := WithState(t.Context(), ws, bus, func(st *State) error {
		if st == nil {
			t.Error("no state")
		}
		tried, cancel := context.WithCancel(context.Background())
		cancel() // one try, no wait
		_, err := AcquireLock(tried, ws, func(int) {})
		held = err != nil
		return boom
	})
	if !errors.Is(err, boom) || !held {
		t.Errorf("WithState = %v, lock held while f ran: %v; want f's error and the lock held", err, held)
	}
	lk, err := AcquireLock(t.Context(), ws, nil)
	if err != nil {
		t.Fatalf("after WithState: %v", err)
	}
	lk.Release()
}
