package main

import (
	"context"
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/watch"
)

// A watchRun is a run of the engine in a goroutine of its own, so the watch
// goes on reading batches of changes while rules run.
type watchRun struct {
	rules    []string        // the rules asked for
	sel      map[string]bool // those and their deps: what the run may run
	cancel   context.CancelFunc
	done     chan struct{} // closed once the run has ended and the state is saved
	canceled bool          // cancelled by a change: its rules run again

	mu       sync.Mutex
	started  map[string]time.Time // rules of sel the run has started, and when
	finished map[string]bool      // rules of sel the run is done with
}

// loop runs the selected rules, then the rules that each batch of changes
// calls for, until ctx ends. A batch that touches a rule of the run in
// progress is running (started before the change) interrupts that run; once it has
// ended, a new run covers its rules and the batch's. Other batches wait for
// the run to end. So one rule never runs twice at once. The serve tasks the
// watch started are stopped when it ends.
func (w *watcher) loop(ctx context.Context) error {
	w.e.Servers = engine.NewSupervisor(w.a.bus)
	defer w.e.Servers.Stop()
	// The run in progress learns from the events which of its rules it is
	// done with.
	var active atomic.Pointer[watchRun]
	w.a.bus.Add(engine.SinkFunc(func(ev engine.Event) {
		r := active.Load()
		if r == nil {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		switch ev.Kind {
		case engine.EventRuleStart:
			if _, ok := r.started[ev.Rule]; !ok {
				r.started[ev.Rule] = ev.Time
			}
		case engine.EventRuleDone, engine.EventCached, engine.EventRuleFail, engine.EventSkipped:
			r.finished[ev.Rule] = true
		}
	}))
	start := func(rules, force []string) *watchRun { return w.start(ctx, rules, force, &active) }
	sel := w.selection()
	if len(sel) == 0 {
		w.a.bus.Logf(engine.LevelInfo, "every selected rule is manual: nothing runs until `ferry trigger RULE`")
	}
	cur := start(sel, nil)
	first := true
	var pending *watch.Batch // changes that arrived during the run
	var triggered []string   // rules triggered during the run
	for {
		var done chan struct{}
		if cur != nil {
			done = cur.done
		}
		select {
		case <-ctx.Done():
			if cur != nil {
				<-cur.done
			}
			return ctx.Err()
		case err := <-w.fw.Errors():
			w.a.bus.Logf(engine.LevelError, "%v", err)
		case b, ok := <-w.fw.Batches():
			if !ok {
				if cur != nil {
					cur.cancel()
					<-cur.done
				}
				return nil
			}
			if w.rootGone() {
				if cur != nil {
					cur.cancel()
					<-cur.done
					cur = nil
				}
				pending, triggered = nil, nil
				if err := w.awaitRoot(ctx); err != nil {
					return err
				}
				w.reload(ctx)
				if rules := w.selection(); len(rules) > 0 {
					cur = start(rules, nil)
				}
				continue
			}
			if cur == nil {
				rules, err := w.batch(ctx, b)
				if err != nil {
					return err
				}
				if len(rules) > 0 {
					cur = start(rules, nil)
				}
				continue
			}
			pending = mergeBatch(pending, b)
			if hit := w.touches(ctx, cur, b); !cur.canceled && len(hit) > 0 {
				w.a.bus.Logf(engine.LevelInfo, "%s, which is running with older inputs: interrupting the run to start again", changedRules(hit))
				cur.canceled = true
				cur.cancel()
			}
		case rules := <-w.trig.Requests():
			w.a.bus.Logf(engine.LevelInfo, "triggered: running %s", strings.Join(rules, ", "))
			if cur == nil {
				cur = start(rules, rules)
				continue
			}
			triggered = w.union(triggered, rules)
		case <-done:
			if first {
				w.a.bus.Logf(engine.LevelInfo, "watching %s for changes (Ctrl-C to stop)", w.l.ws.Root)
				first = false
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			prev := cur
			cur = nil
			var rules []string
			if pending != nil {
				var err error
				rules, err = w.batch(ctx, *pending)
				pending = nil
				if err != nil {
					return err
				}
				if prev.canceled {
					rules = w.union(prev.rules, rules)
				}
			}
			force := triggered
			triggered = nil
			if rules = w.union(rules, force); len(rules) > 0 {
				cur = start(rules, force)
			}
		}
	}
}

// start runs rules in a goroutine. Only an interruption ends the watch:
// failed rules were reported, and the next change may fix them.
// It becomes the active run until it ends.
// Rules in force run even when up to date (they were triggered).
func (w *watcher) start(ctx context.Context, rules, force []string, active *atomic.Pointer[watchRun]) *watchRun {
	rctx, cancel := context.WithCancel(ctx)
	r := &watchRun{rules: rules, sel: map[string]bool{}, cancel: cancel, done: make(chan struct{}), started: map[string]time.Time{}, finished: map[string]bool{}}
	sel, _ := w.e.Graph.Select(rules)
	for _, n := range sel {
		r.sel[n] = true
	}
	active.Store(r)
	go func() {
		defer active.CompareAndSwap(r, nil)
		defer close(r.done)
		defer cancel()
		w.e.Servers.StopOthers(w.serveTasks())
		o := w.o
		o.ForceRules = force
		_, err := w.e.Run(rctx, rules, o)
		w.saveLater()
		if err != nil && rctx.Err() == nil && !errors.Is(err, engine.ErrFailed) {
			w.a.bus.Logf(engine.LevelError, "%v", err)
		}
	}()
	return r
}

// touches returns the rules of the run r that the batch b affects and that
// are running with inputs read before the batch's last change. A rule still
// to run reads its inputs when it starts, so it needs no interruption; a
// rule done with is run again after the run, from the batch.
func (w *watcher) touches(ctx context.Context, r *watchRun, b watch.Batch) []string {
	var rules []string
	if b.Rescan {
		rules = slices.Collect(maps.Keys(r.sel))
	} else {
		rules = w.affected(ctx, w.dropOutputs(b.Paths))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var hit []string
	for _, n := range rules {
		if start, ok := r.started[n]; ok && !r.finished[n] && start.Before(b.Last) {
			hit = append(hit, n)
		}
	}
	slices.Sort(hit)
	return hit
}

// union returns the rules of an interrupted run that still exist, then
// those of rules not among them.
func (w *watcher) union(prev, rules []string) []string {
	var out []string
	for _, n := range slices.Concat(prev, rules) {
		if w.e.Graph.Rule(n) != nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// selection returns the rules the watch runs by itself: those named, or
// every build rule and serve task of the enabled profiles; manual rules
// (trigger = "manual") wait to be triggered.
func (w *watcher) selection() []string {
	rules := w.names
	if len(rules) == 0 {
		g := w.l.graph
		for _, n := range g.Names() {
			if info := g.Rule(n).Info(); (info.Default || info.Serve) && g.ProfileEnabled(info) {
				rules = append(rules, n)
			}
		}
	}
	return w.dropManual(rules)
}

// dropManual removes manual rules from rules.
func (w *watcher) dropManual(rules []string) []string {
	var out []string
	for _, n := range rules {
		if !w.l.graph.Rule(n).Info().Manual {
			out = append(out, n)
		}
	}
	return out
}

// serveTasks returns the serve tasks the watch runs.
func (w *watcher) serveTasks() map[string]bool {
	out := map[string]bool{}
	sel, _ := w.e.Graph.Select(w.selection())
	for _, n := range sel {
		if w.e.Graph.Rule(n).Info().Serve {
			out[n] = true
		}
	}
	return out
}

// mergeBatch adds b to the batch a, which may be nil.
func mergeBatch(a *watch.Batch, b watch.Batch) *watch.Batch {
	if a == nil {
		return &b
	}
	paths := slices.Concat(a.Paths, b.Paths)
	slices.Sort(paths)
	last := a.Last
	if b.Last.After(last) {
		last = b.Last
	}
	return &watch.Batch{Paths: slices.Compact(paths), Rescan: a.Rescan || b.Rescan, Last: last}
}

// changedRules says which rules a change touches, for the log.
func changedRules(rules []string) string {
	if len(rules) == 1 {
		return "a change touches " + rules[0]
	}
	return "a change touches " + strings.Join(rules, ", ")
}

// rootGone reports whether the workspace folder is gone: deleted, or moved
// away.
func (w *watcher) rootGone() bool {
	_, err := os.Stat(w.l.ws.Root)
	return err != nil
}

// awaitRoot waits for the workspace folder to come back, then watches it
// anew: the watches went with the folder.
func (w *watcher) awaitRoot(ctx context.Context) error {
	root := w.l.ws.Root
	w.a.bus.Logf(engine.LevelError, "the workspace folder %s is gone (deleted or moved away): nothing can run until it is back; waiting for it (Ctrl-C to stop)", root)
	tick := time.NewTicker(rootPoll)
	defer tick.Stop()
	for w.rootGone() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	fw, err := watch.New(root, w.wo)
	if err != nil {
		return err
	}
	w.fw.Close()
	w.fw = fw
	w.e.Reopen()
	w.keepInputs(ctx)
	w.a.bus.Logf(engine.LevelInfo, "the workspace folder %s is back: evaluating it again and running what is out of date", root)
	return nil
}

// rootPoll is how often a watch whose workspace folder is gone looks for it.
const rootPoll = 250 * time.Millisecond
