package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// liveRule returns ErrLiveUpdated whenever the engine allows it, and
// records what it was handed.
type liveRule struct {
	testRule
	allowed []bool     // rc.LiveUpdate of each run
	changed [][]string // rc.Changed of each run
	deps    [][]string // rc.DepsChanged of each run
}

func (r *liveRule) Run(rc *RunContext) error {
	r.allowed = append(r.allowed, rc.LiveUpdate)
	r.changed = append(r.changed, rc.Changed)
	r.deps = append(r.deps, rc.DepsChanged)
	if err := r.testRule.Run(rc); err != nil || !rc.LiveUpdate {
		return err
	}
	return ErrLiveUpdated
}

// A live update is its own outcome: the state keeps the last full success,
// dependents see no change, and a session without live updates, or a
// changed definition, does the full work.
func TestLiveUpdatedOutcome(t *testing.T) {
	img := &liveRule{testRule: testRule{info: RuleInfo{Name: "img", Kind: "image", Default: true}, def: "v1", srcs: []string{"static"}}}
	svc := &testRule{info: RuleInfo{Name: "svc", Kind: "service", Deps: []string{"img"}, Default: true}, def: "v1"}
	e, events := newTestEngine(t, map[string]string{"static/a.txt": "a"}, &img.testRule, svc)
	g, err := NewGraph([]Rule{img, svc})
	if err != nil {
		t.Fatal(err)
	}
	e.Graph = g
	ctx := context.Background()
	live := RunOptions{LiveUpdate: true}
	if _, err := e.Run(ctx, nil, live); err != nil {
		t.Fatal(err)
	}
	first := e.State.Rule("img").Key
	if img.allowed[0] {
		t.Fatal("first run allowed a live update: there is nothing running to update")
	}

	write := func(body string) {
		age(t, e.Workspace.Root)
		if err := os.WriteFile(filepath.Join(e.Workspace.Root, "static/a.txt"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b")
	*events = nil
	sum, err := e.Run(ctx, nil, live)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum.LiveUpdated, []string{"img"}) || !slices.Equal(sum.Cached, []string{"svc"}) || len(sum.Ran) != 0 {
		t.Fatalf("summary %+v, want img live-updated and svc up to date", sum)
	}
	if !slices.ContainsFunc(*events, func(ev Event) bool { return ev.Kind == EventLiveUpdated && ev.Rule == "img" }) {
		t.Errorf("no %s event for img: %+v", EventLiveUpdated, *events)
	}
	if got := e.State.Rule("img").Key; got != first {
		t.Fatalf("state key moved to %s after a live update, want the last build's %s", got.Short(), first.Short())
	}
	if svc.runs != 1 {
		t.Errorf("svc ran %d times, want once: a live update changes nothing downstream", svc.runs)
	}

	// Changed still lists what changed since the last full success.
	write("c")
	if _, err := e.Run(ctx, nil, live); err != nil {
		t.Fatal(err)
	}
	if got := img.changed[2]; !slices.Equal(got, []string{"static/a.txt"}) {
		t.Errorf("Changed = %v, want static/a.txt", got)
	}

	// Outside a live session, the rule does the full work.
	sum, err = e.Run(ctx, nil, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum.Ran, []string{"img", "svc"}) || e.State.Rule("img").Key == first {
		t.Fatalf("ferry run after live updates: %+v, want img rebuilt and svc redeployed", sum)
	}

	// A changed definition is not a live update either.
	img.def = "v2"
	write("d")
	if sum, err = e.Run(ctx, nil, live); err != nil {
		t.Fatal(err)
	}
	if len(sum.LiveUpdated) != 0 || img.allowed[len(img.allowed)-1] {
		t.Fatalf("definition change was live-updated: %+v", sum)
	}
}

// compileRule copies its one source to its one output, as a compiler would.
type compileRule struct{ testRule }

func (r *compileRule) Run(rc *RunContext) error {
	b, err := os.ReadFile(rc.Workspace.Path(r.srcs[0]))
	if err != nil {
		return err
	}
	return os.WriteFile(rc.Workspace.Path(r.outs[0]), b, 0o755)
}

// A task that writes into an image's context, as a compiled binary, changes
// a dep's key and the image's inputs: the image may live-update, and is
// told which dep changed (DepsChanged) and which files (Changed).
func TestLiveUpdateAfterADepRebuilt(t *testing.T) {
	bin := &compileRule{testRule{info: RuleInfo{Name: "bin", Kind: "task", Default: true}, def: "v1", srcs: []string{"src/main.go"}, outs: []string{"ctx/app"}}}
	img := &liveRule{testRule: testRule{info: RuleInfo{Name: "img", Kind: "image", Deps: []string{"bin"}, Default: true}, def: "v1", srcs: []string{"ctx"}}}
	e, _ := newTestEngine(t, map[string]string{"src/main.go": "a", "ctx/Dockerfile": "FROM scratch"}, &bin.testRule, &img.testRule)
	g, err := NewGraph([]Rule{bin, img})
	if err != nil {
		t.Fatal(err)
	}
	e.Graph = g
	ctx := context.Background()
	live := RunOptions{LiveUpdate: true}
	if _, err := e.Run(ctx, nil, live); err != nil {
		t.Fatal(err)
	}
	if img.allowed[0] || len(img.deps[0]) != 0 {
		t.Errorf("first run: LiveUpdate %v, DepsChanged %v; want false, none", img.allowed[0], img.deps[0])
	}
	age(t, e.Workspace.Root)
	if err := os.WriteFile(filepath.Join(e.Workspace.Root, "src/main.go"), []byte("b"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := e.Run(ctx, nil, live)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum.Ran, []string{"bin"}) || !slices.Equal(sum.LiveUpdated, []string{"img"}) {
		t.Fatalf("summary %+v, want bin run and img live-updated", sum)
	}
	if !img.allowed[1] || !slices.Equal(img.deps[1], []string{"bin"}) || !slices.Equal(img.changed[1], []string{"ctx/app"}) {
		t.Errorf("second run: LiveUpdate %v, DepsChanged %v, Changed %v; want true, [bin], [ctx/app]", img.allowed[1], img.deps[1], img.changed[1])
	}
}
