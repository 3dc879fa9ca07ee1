package dev

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
	"github.com/ferryhq/ferry/engine/watch"
)

// waitLimit bounds every wait; it is never a timing assertion.
const waitLimit = 20 * time.Second

// fakeRule is a rule of the tests: it reads its sources, fails when one
// holds "bad", and, while gate is set, waits for it (or its context)
// before it ends.
type fakeRule struct {
	info engine.RuleInfo
	srcs []string
	outs []string
	gate chan struct{}
	// linger, when set, is waited for after the context ends, as a
	// command that takes its time to stop.
	linger chan struct{}
}

func (r *fakeRule) Info() *engine.RuleInfo { return &r.info }
func (r *fakeRule) Definition(_ context.Context, h *engine.Hasher) error {
	h.String(r.info.Name)
	return nil
}
func (r *fakeRule) Inputs(context.Context) ([]string, error) { return r.srcs, nil }
func (r *fakeRule) Outputs() []string                        { return r.outs }
func (r *fakeRule) Run(rc *engine.RunContext) error {
	for _, s := range r.srcs {
		b, _ := os.ReadFile(rc.Workspace.Path(s))
		if strings.TrimSpace(string(b)) == "bad" {
			return errors.New(s + " is bad")
		}
	}
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-rc.Done():
			if r.linger != nil {
				<-r.linger
			}
			return rc.Err()
		}
	}
	for _, o := range r.outs {
		if err := os.WriteFile(rc.Workspace.Path(o), []byte(r.info.Name), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// rule returns a default rule named name that reads srcs.
func rule(name string, srcs ...string) *fakeRule {
	return &fakeRule{info: engine.RuleInfo{Name: name, Kind: "task", Default: true}, srcs: srcs}
}

// fakeSource is a Source the test feeds by hand.
type fakeSource struct {
	batches chan watch.Batch
	errs    chan error
	mu      sync.Mutex
	keep    []string
}

func newSource() *fakeSource {
	return &fakeSource{batches: make(chan watch.Batch), errs: make(chan error)}
}

func (s *fakeSource) Batches() <-chan watch.Batch { return s.batches }
func (s *fakeSource) Errors() <-chan error        { return s.errs }
func (s *fakeSource) Close() error                { return nil }
func (s *fakeSource) SetKeep(paths []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keep = slices.Clone(paths)
	return nil
}

// recorder keeps the events of the bus, and wakes up waiters on each.
type recorder struct {
	mu     sync.Mutex
	events []engine.Event
	wake   chan struct{}
}

func (r *recorder) Handle(e engine.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// count returns how many events match.
func (r *recorder) count(match func(engine.Event) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if match(e) {
			n++
		}
	}
	return n
}

// log returns the events, one a line, for failure messages.
func (r *recorder) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		b.WriteString(string(e.Kind) + " " + e.Rule + " " + e.Text + e.Err + "\n")
	}
	return b.String()
}

// harness runs a Loop on a temporary workspace, with the rules that rules
// holds (or the error loadErr) as its evaluation.
type harness struct {
	t       *testing.T
	ws      *engine.Workspace
	src     *fakeSource
	rec     *recorder
	loop    *Loop
	rules   atomic.Pointer[[]engine.Rule]
	loadErr atomic.Pointer[error]
	cancel  context.CancelFunc
	done    chan error
}

func newHarness(t *testing.T, files map[string]string, rules ...engine.Rule) *harness {
	t.Helper()
	dir := t.TempDir()
	files["ferry.star"] = "# the rules are the test's\n"
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := engine.FindWorkspace(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ws: ws, src: newSource(), rec: &recorder{wake: make(chan struct{}, 1)}}
	h.setRules(rules...)
	h.loop = &Loop{
		Root:  ws.Root,
		Bus:   engine.NewBus(redact.New(), h.rec),
		Jobs:  2,
		Watch: func(string, watch.Options) (Source, error) { return h.src, nil },
		Load: func(context.Context) (*Evaluation, error) {
			if err := h.loadErr.Load(); err != nil {
				return nil, *err
			}
			g, err := engine.NewGraph(*h.rules.Load())
			if err != nil {
				return nil, err
			}
			return &Evaluation{Workspace: ws, Graph: g, Result: &engine.Result{Files: []string{ws.File}}}, nil
		},
	}
	return h
}

func (h *harness) setRules(rules ...engine.Rule) { h.rules.Store(&rules) }

func (h *harness) breakLoad(err error) {
	if err == nil {
		h.loadErr.Store(nil)
		return
	}
	h.loadErr.Store(&err)
}

// start runs the loop until the test ends.
func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.loop.Run(ctx) }()
	h.t.Cleanup(func() { h.stop() })
}

// stop ends the loop and returns what Run returned.
func (h *harness) stop() error {
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err
		return err
	case <-time.After(waitLimit):
		h.t.Fatalf("the loop did not end\n%s", h.rec.log())
		return nil
	}
}

// write changes a workspace file.
func (h *harness) write(name, content string) {
	h.t.Helper()
	if err := os.WriteFile(h.ws.Path(name), []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// send hands the loop a batch of changes made now.
func (h *harness) send(paths ...string) {
	h.t.Helper()
	select {
	case h.src.batches <- watch.Batch{Paths: paths, Last: time.Now()}:
	case <-time.After(waitLimit):
		h.t.Fatalf("the loop took no batch\n%s", h.rec.log())
	}
}

// wait waits until n events match.
func (h *harness) wait(what string, n int, match func(engine.Event) bool) {
	h.t.Helper()
	deadline := time.After(waitLimit)
	for h.rec.count(match) < n {
		select {
		case <-h.rec.wake:
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s (%d of %d)\n%s", what, h.rec.count(match), n, h.rec.log())
		}
	}
}

// waitRuns waits for the n-th run to end.
func (h *harness) waitRuns(n int) { h.wait("the runs to end", n, is(engine.EventRunDone, "")) }

// is matches events of kind (for rule, unless "").
func is(kind engine.EventKind, rule string) func(engine.Event) bool {
	return func(e engine.Event) bool { return e.Kind == kind && (rule == "" || e.Rule == rule) }
}

// logged matches log events that hold text.
func logged(text string) func(engine.Event) bool {
	return func(e engine.Event) bool { return e.Kind == engine.EventLog && strings.Contains(e.Text, text) }
}

// ran counts the successes of rule.
func (h *harness) ran(rule string) int { return h.rec.count(is(engine.EventRuleDone, rule)) }

// Without a Lock of its own, the loop holds the workspace lock from its
// first run until it ends.
func TestLoopHoldsTheWorkspaceLock(t *testing.T) {
	h := newHarness(t, map[string]string{"a.txt": "1"}, rule("a", "a.txt"))
	h.start()
	h.waitRuns(1)
	held, cancel := context.WithCancel(context.Background())
	cancel() // one try, no wait
	holder := 0
	if _, err := engine.AcquireLock(held, h.ws, func(pid int) { holder = pid }); err == nil || holder != os.Getpid() {
		t.Errorf("while the loop runs, AcquireLock = %v and the holder is pid %d; want the lock held by this process (%d)", err, holder, os.Getpid())
	}
	if err := h.stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	lk, err := engine.AcquireLock(context.Background(), h.ws, nil)
	if err != nil {
		t.Fatalf("after the loop ended: %v", err)
	}
	lk.Release()
}

func TestLoopRunsWhatABatchAffects(t *testing.T) {
	gen := rule("gen", "gen.txt")
	lib := rule("lib", "lib.txt")
	lib.info.Deps = []string{"gen"}
	out := rule("out", "out.txt")
	out.outs = []string{"out.bin"}
	h := newHarness(t, map[string]string{"gen.txt": "1", "lib.txt": "1", "out.txt": "1"}, gen, lib, out)
	h.start()
	h.waitRuns(1)
	h.wait("the watch to start", 1, logged("watching "))
	if got := []int{h.ran("gen"), h.ran("lib"), h.ran("out")}; !slices.Equal(got, []int{1, 1, 1}) {
		t.Fatalf("first run: gen, lib, out ran %v times\n%s", got, h.rec.log())
	}
	if k, none := h.loop.Kind("gen"), h.loop.Kind("nothing"); k != "task" || none != "" {
		t.Errorf("Kind = %q, %q; want task and \"\"", k, none)
	}
	h.src.mu.Lock()
	keep := h.src.keep
	h.src.mu.Unlock()
	if want := []string{"gen.txt", "lib.txt", "out.txt"}; !slices.Equal(keep, want) {
		t.Errorf("kept %q, want the inputs %q", keep, want)
	}

	// A changed input runs its rule and its dependents only.
	h.write("gen.txt", "2")
	h.send("gen.txt")
	h.waitRuns(2)
	if got := []int{h.ran("gen"), h.ran("lib"), h.ran("out")}; !slices.Equal(got, []int{2, 2, 1}) {
		t.Errorf("after gen.txt: gen, lib, out ran %v times, want [2 2 1]\n%s", got, h.rec.log())
	}
	h.wait("the batch's log", 1, logged("1 path changed (gen.txt); running gen, lib"))

	// A batch of outputs only runs nothing; nor does a file no rule reads.
	h.send("out.bin")
	h.send("README.md")
	h.wait("the batch no rule uses", 1, logged("1 path changed (README.md); no selected rule uses them"))
	if n := h.rec.count(is(engine.EventRunDone, "")); n != 2 {
		t.Errorf("%d runs after batches that concern no rule, want 2\n%s", n, h.rec.log())
	}
	if err := h.stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

// While a run is in progress, batches that touch none of its started
// rules are queued and merged: one run after it covers them all.
func TestLoopQueuesBatchesDuringARun(t *testing.T) {
	slow := rule("slow", "slow.txt")
	other := rule("other", "other.txt")
	third := rule("third", "third.txt")
	h := newHarness(t, map[string]string{"slow.txt": "1", "other.txt": "1", "third.txt": "1"}, slow, other, third)
	h.start()
	h.waitRuns(1)

	slow.gate = make(chan struct{})
	h.write("slow.txt", "2")
	h.send("slow.txt")
	h.wait("slow to start again", 2, is(engine.EventRuleStart, "slow"))
	h.write("other.txt", "2")
	h.send("other.txt")
	h.write("third.txt", "2")
	h.send("third.txt")
	h.send("other.txt")
	close(slow.gate)
	h.waitRuns(3)
	if n := h.rec.count(logged("interrupting")); n != 0 {
		t.Errorf("a batch that touches no started rule interrupted the run\n%s", h.rec.log())
	}
	h.wait("one log line for the merged batches", 1, logged("2 paths changed (other.txt, third.txt); running other, third"))
	if got := []int{h.ran("slow"), h.ran("other"), h.ran("third")}; !slices.Equal(got, []int{2, 2, 2}) {
		t.Errorf("slow, other, third ran %v times, want [2 2 2]\n%s", got, h.rec.log())
	}
	if n := h.rec.count(is(engine.EventRunDone, "")); n != 3 {
		t.Errorf("%d runs, want 3: the queued batches make one run", n)
	}
}

// A batch that touches a rule the run has started with older inputs
// interrupts the run; a new run covers the rules of both.
func TestLoopInterruptsARunOfOlderInputs(t *testing.T) {
	slow := rule("slow", "slow.txt")
	h := newHarness(t, map[string]string{"slow.txt": "1"}, slow)
	h.start()
	h.waitRuns(1)

	slow.gate = make(chan struct{})
	h.write("slow.txt", "2")
	h.send("slow.txt")
	h.wait("slow to start again", 2, is(engine.EventRuleStart, "slow"))
	h.write("slow.txt", "3")
	h.send("slow.txt")
	h.wait("the interruption", 1, logged("a change touches slow, which is running with older inputs: interrupting the run to start again"))
	h.wait("slow to start a third time", 3, is(engine.EventRuleStart, "slow"))
	close(slow.gate)
	h.waitRuns(3)
	if n := h.ran("slow"); n != 2 {
		t.Errorf("slow succeeded %d times, want 2 (the interrupted run did not)\n%s", n, h.rec.log())
	}
}

// One save that reaches the loop in two batches (an editor writing the
// file in place: a truncation, then the content) interrupts the run once:
// the second batch comes while the interrupted run is still ending, and
// the next run, which reads the file after both, covers it.
func TestLoopInterruptsOnceForASaveInTwoBatches(t *testing.T) {
	slow := rule("slow", "slow.txt")
	h := newHarness(t, map[string]string{"slow.txt": "1"}, slow)
	h.start()
	h.waitRuns(1)

	slow.gate, slow.linger = make(chan struct{}), make(chan struct{})
	h.write("slow.txt", "2")
	h.send("slow.txt")
	h.wait("slow to start again", 2, is(engine.EventRuleStart, "slow"))
	h.write("slow.txt", "")
	h.send("slow.txt")
	h.wait("the interruption", 1, logged("interrupting the run"))
	h.write("slow.txt", "3")
	h.send("slow.txt")
	close(slow.linger)
	h.wait("slow to start a third time", 3, is(engine.EventRuleStart, "slow"))
	close(slow.gate)
	h.waitRuns(3)
	if n := h.rec.count(logged("interrupting the run")); n != 1 {
		t.Errorf("%d interruptions for one save, want 1\n%s", n, h.rec.log())
	}
	if n := h.rec.count(is(engine.EventRuleStart, "slow")); n != 3 {
		t.Errorf("slow started %d times, want 3\n%s", n, h.rec.log())
	}
}

// A failing rule does not end the loop; a change that fixes it runs it.
func TestLoopFailureThenFix(t *testing.T) {
	a := rule("a", "a.txt")
	h := newHarness(t, map[string]string{"a.txt": "bad"}, a)
	h.start()
	h.wait("a to fail", 1, is(engine.EventRuleFail, "a"))
	h.waitRuns(1)
	h.write("a.txt", "good")
	h.send("a.txt")
	h.wait("a to succeed", 1, is(engine.EventRuleDone, "a"))
}

// A change to a file the evaluation read evaluates again; a failed
// evaluation keeps the rules, and a .star file saved later tries again.
func TestLoopReloads(t *testing.T) {
	a := rule("a", "a.txt")
	h := newHarness(t, map[string]string{"a.txt": "1"}, a)
	dom := &fakeDomain{}
	h.loop.Domain = dom
	h.start()
	h.waitRuns(1)

	h.breakLoad(errors.New("ferry.star:2:1: syntax error"))
	h.send("ferry.star")
	h.wait("the failed evaluation", 1, logged("rules not reloaded, keeping the previous ones until the next save: ferry.star:2:1: syntax error"))
	h.write("a.txt", "2")
	h.send("a.txt")
	h.waitRuns(2)

	// While broken, any .star file counts: it may be the fix.
	h.breakLoad(nil)
	b := rule("b")
	b.outs = []string{"b.out"}
	h.setRules(a, b)
	h.send("lib.star")
	h.wait("b to run", 1, is(engine.EventRuleDone, "b"))
	h.wait("the reload", 1, logged("1 path changed (lib.star); rules reloaded, running what is out of date"))
	if got := h.loop.Graph().Names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Graph().Names() = %q after the reload", got)
	}
	h.waitRuns(3)
	// The new rule's output is known as one: writing it runs nothing.
	h.send("b.out")
	h.wait("the output's batch", 1, logged("1 paths changed, all outputs of rules: nothing to do"))
	if err := h.stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	dom.mu.Lock()
	defer dom.mu.Unlock()
	if want := []string{"loaded a", "ran a", "ran a", "loaded a b (was a)", "ran b", "close"}; !slices.Equal(dom.calls, want) {
		t.Errorf("domain calls %q, want %q", dom.calls, want)
	}
}

// The first evaluation may fail: the loop waits for a batch to try again.
func TestLoopStartsBroken(t *testing.T) {
	h := newHarness(t, map[string]string{}, rule("a"))
	h.breakLoad(errors.New("ferry.star:1:1: got something"))
	h.start()
	h.wait("the error", 1, logged("waiting for a change that fixes it"))
	h.breakLoad(nil)
	h.send("ferry.star")
	h.wait("a to run", 1, is(engine.EventRuleDone, "a"))
}

// Manual rules run only when triggered; a trigger runs a rule even when it
// is up to date, at once when idle and after the run otherwise.
func TestLoopTriggers(t *testing.T) {
	a := rule("a", "a.txt")
	seed := rule("seed")
	seed.info.Manual = true
	h := newHarness(t, map[string]string{"a.txt": "1"}, a, seed)
	if err := h.loop.Trigger([]string{"seed"}); err == nil {
		t.Error("Trigger before the first evaluation: no error")
	}
	h.start()
	h.waitRuns(1)
	if n := h.ran("seed"); n != 0 {
		t.Fatalf("the manual rule ran by itself")
	}
	if err := h.loop.Trigger([]string{"sed"}); err == nil || !strings.Contains(err.Error(), `no rule named "sed" (did you mean "seed"?)`) {
		t.Errorf("Trigger(sed) = %v", err)
	}
	if err := SendTrigger(context.Background(), h.ws, []string{"seed"}); err != nil {
		t.Fatal(err)
	}
	h.wait("seed to run", 1, is(engine.EventRuleDone, "seed"))
	h.waitRuns(2)

	// During a run: after it, and a, up to date, runs as it was triggered.
	a.gate = make(chan struct{})
	h.write("a.txt", "2")
	h.send("a.txt")
	h.wait("a to start again", 2, is(engine.EventRuleStart, "a"))
	if err := h.loop.Trigger([]string{"seed", "a"}); err != nil {
		t.Fatal(err)
	}
	h.wait("the trigger", 1, logged("triggered: running seed, a"))
	if n := h.ran("seed"); n != 1 {
		t.Errorf("a trigger during a run ran at once")
	}
	close(a.gate)
	h.waitRuns(4)
	if got := []int{h.ran("a"), h.ran("seed")}; !slices.Equal(got, []int{3, 2}) {
		t.Errorf("a, seed ran %v times, want [3 2]\n%s", got, h.rec.log())
	}
	if err := h.stop(); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if err := SendTrigger(context.Background(), h.ws, []string{"seed"}); err == nil || !strings.Contains(err.Error(), "no ferry watch is running in ") {
		t.Errorf("SendTrigger after the loop ended = %v", err)
	}
}

// A source that ends ends the loop without an error.
func TestLoopEndsWithItsSource(t *testing.T) {
	h := newHarness(t, map[string]string{}, rule("a"))
	h.start()
	h.waitRuns(1)
	close(h.src.batches)
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		h.done <- err
	case <-time.After(waitLimit):
		t.Fatal("the loop did not end with its source")
	}
}

// fakeDomain records what the loop tells it.
type fakeDomain struct {
	mu    sync.Mutex
	calls []string
}

func (d *fakeDomain) note(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, s)
}

func (d *fakeDomain) Selects(engine.Rule) bool { return false }
func (d *fakeDomain) Loaded(_ context.Context, prev, cur *engine.Graph) {
	s := "loaded " + strings.Join(cur.Names(), " ")
	if prev != nil {
		s += " (was " + strings.Join(prev.Names(), " ") + ")"
	}
	d.note(s)
}
func (d *fakeDomain) Ran(_ context.Context, _ *engine.Engine, _ engine.RunOptions, sum *engine.Summary) {
	if len(sum.Ran) > 0 {
		d.note("ran " + strings.Join(sum.Ran, " "))
	}
}
func (d *fakeDomain) Close(context.Context) { d.note("close") }

func TestMergeBatch(t *testing.T) {
	t1, t2 := time.Unix(1, 0), time.Unix(2, 0)
	m := mergeBatch(nil, watch.Batch{Paths: []string{"b", "c"}, Last: t2})
	m = mergeBatch(m, watch.Batch{Paths: []string{"a", "b"}, Rescan: true, Last: t1})
	if !slices.Equal(m.Paths, []string{"a", "b", "c"}) || !m.Rescan || !m.Last.Equal(t2) {
		t.Errorf("merged %+v", *m)
	}
}

func TestChanged(t *testing.T) {
	for _, tt := range []struct {
		paths  []string
		rescan bool
		want   string
	}{
		{[]string{"a"}, false, "1 path changed (a)"},
		{[]string{"a", "b", "c", "d", "e"}, false, "5 paths changed (a, b, c and 2 more)"},
		{nil, true, "events were lost (kernel queue overflow): rescanning"},
	} {
		if got := changed(tt.paths, tt.rescan); got != tt.want {
			t.Errorf("changed(%q, %v) = %q, want %q", tt.paths, tt.rescan, got, tt.want)
		}
	}
}

// The loop writes the state once it is idle, not only when it ends: each
// success is in the journal at once, and the state file follows without
// a later `ferry run` having to fold the journal in.
func TestLoopSavesTheStateWhenIdle(t *testing.T) {
	a := rule("a", "a.txt")
	h := newHarness(t, map[string]string{"a.txt": "1"}, a)
	h.start()
	h.waitRuns(1)
	state := filepath.Join(h.ws.Root, engine.StateDir, "state")
	deadline := time.Now().Add(waitLimit)
	for {
		if _, err := os.Stat(state); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no state file while the loop is idle\n%s", h.rec.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := h.stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("the loop ended with %v", err)
	}
}

// ageFiles sets the times of the workspace's files an hour back, out of the
// window in which a hashed file is hashed again.
func (h *harness) ageFiles() {
	h.t.Helper()
	old := time.Now().Add(-time.Hour)
	filepath.Walk(h.ws.Root, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
}

// In a watch, the inputs no batch touched are taken as the last run saw
// them, without a stat; a batch makes the inputs it touches be stat-ed
// again before anything runs for it (the files here are aged, so that the
// index keeps their digests).
func TestLoopReadsWhatABatchTouches(t *testing.T) {
	a := rule("a", "src")
	b := rule("b", "b.txt")
	h := newHarness(t, map[string]string{"b.txt": "1"}, a, b)
	if err := os.MkdirAll(h.ws.Path("src"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.write("src/a.txt", "1")
	h.ageFiles()
	h.start()
	h.waitRuns(1)
	for i, body := range []string{"22", "333"} {
		h.write("src/a.txt", body)
		h.ageFiles()
		h.send("src/a.txt")
		h.waitRuns(i + 2)
		if n := h.ran("a"); n != i+2 {
			t.Fatalf("after change %d to src/a.txt, a ran %d times, want %d\n%s", i+1, n, i+2, h.rec.log())
		}
	}
	if n := h.ran("b"); n != 1 {
		t.Errorf("b ran %d times, want once", n)
	}
}
