package dev

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

// A run is a run of the engine in a goroutine of its own, so the loop
// goes on reading batches of changes while rules run.
type run struct {
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
// loop started are stopped when it ends.
func (l *Loop) loop(ctx context.Context) error {
	l.e.Servers = engine.NewSupervisor(l.Bus)
	defer l.e.Servers.Stop()
	// The run in progress learns from the events which of its rules it is
	// done with.
	var active atomic.Pointer[run]
	l.Bus.Add(engine.SinkFunc(func(ev engine.Event) {
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
		case engine.EventRuleDone, engine.EventCached, engine.EventRuleFail, engine.EventSkipped, engine.EventLiveUpdated:
			r.finished[ev.Rule] = true
		}
	}))
	start := func(rules, force []string) *run { return l.start(ctx, rules, force, &active) }
	// The state is written once the loop has been idle for saveIdle (see
	// saveIdle), and when the loop ends.
	saveTimer := time.NewTimer(time.Hour)
	saveTimer.Stop()
	defer l.saveLater()
	sel := l.selection()
	if len(sel) == 0 {
		l.Bus.Logf(engine.LevelInfo, "every selected rule is manual: nothing runs until `ferry trigger RULE`")
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
		case <-saveTimer.C:
			if cur == nil {
				l.saveLater()
			} // else the end of the run arms the timer again
		case err := <-l.src.Errors():
			l.Bus.Logf(engine.LevelError, "%v", err)
		case b, ok := <-l.src.Batches():
			if !ok {
				if cur != nil {
					cur.cancel()
					<-cur.done
				}
				return nil
			}
			// Before anything runs for it, and while a run may be computing
			// keys: the inputs it touches must be stat-ed again.
			l.e.Index.Invalidate(b.Paths, b.Rescan)
			if l.rootGone() {
				if cur != nil {
					cur.cancel()
					<-cur.done
					cur = nil
				}
				pending, triggered = nil, nil
				if err := l.awaitRoot(ctx); err != nil {
					return err
				}
				l.reload(ctx)
				if rules := l.selection(); len(rules) > 0 {
					cur = start(rules, nil)
				}
				continue
			}
			if cur == nil {
				rules, err := l.batch(ctx, b)
				if err != nil {
					return err
				}
				if len(rules) > 0 {
					cur = start(rules, nil)
				}
				continue
			}
			pending = mergeBatch(pending, b)
			if hit := l.touches(ctx, cur, b); !cur.canceled && len(hit) > 0 {
				l.Bus.Logf(engine.LevelInfo, "%s, which is running with older inputs: interrupting the run to start again", changedRules(hit))
				cur.canceled = true
				cur.cancel()
			}
		case rules := <-l.queue:
			l.Bus.Logf(engine.LevelInfo, "triggered: running %s", strings.Join(rules, ", "))
			if cur == nil {
				cur = start(rules, rules)
				continue
			}
			triggered = l.union(triggered, rules)
		case <-done:
			if first {
				l.Bus.Logf(engine.LevelInfo, "watching %s for changes (Ctrl-C to stop)", l.Root)
				first = false
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			prev := cur
			cur = nil
			saveTimer.Reset(saveIdle)
			var rules []string
			if pending != nil {
				var err error
				rules, err = l.batch(ctx, *pending)
				pending = nil
				if err != nil {
					return err
				}
				if prev.canceled {
					rules = l.union(prev.rules, rules)
				}
			}
			force := triggered
			triggered = nil
			if rules = l.union(rules, force); len(rules) > 0 {
				cur = start(rules, force)
			}
		}
	}
}

// start runs rules in a goroutine. Only an interruption ends the loop:
// failed rules were reported, and the next change may fix them.
// It becomes the active run until it ends.
// Rules in force run even when up to date (they were triggered).
func (l *Loop) start(ctx context.Context, rules, force []string, active *atomic.Pointer[run]) *run {
	rctx, cancel := context.WithCancel(ctx)
	r := &run{rules: rules, sel: map[string]bool{}, cancel: cancel, done: make(chan struct{}), started: map[string]time.Time{}, finished: map[string]bool{}}
	sel, _ := l.e.Graph.Select(rules)
	for _, n := range sel {
		r.sel[n] = true
	}
	active.Store(r)
	serve := l.serveTasks()
	go func() {
		defer active.CompareAndSwap(r, nil)
		defer close(r.done)
		defer cancel()
		l.e.Servers.StopOthers(serve)
		o := l.o
		o.ForceRules = force
		sum, err := l.e.Run(rctx, rules, o)
		if (err == nil || errors.Is(err, engine.ErrFailed)) && l.Domain != nil {
			l.Domain.Ran(rctx, l.e, l.o, sum)
		}
		if err != nil && rctx.Err() == nil && !errors.Is(err, engine.ErrFailed) {
			l.Bus.Logf(engine.LevelError, "%v", err)
		}
	}()
	return r
}

// saveIdle is how long the loop waits, after a run, with no run in
// progress, before it writes the state. Each rule's success is in the
// journal the moment it is known (nothing is lost if ferry is killed
// meanwhile), and writing the state holds the state and the stat cache
// while it encodes them (over 100 ms at 100,000 files): a save after every
// run made the next save of a file wait for it.
const saveIdle = time.Second

// saveLater writes the state in the background, so that a change saved
// meanwhile does not wait for the write. State.Save takes one snapshot at
// a time, and what the next run changes is written by the save after it.
// Run waits for the last save before it ends.
func (l *Loop) saveLater() {
	l.saves.Add(1)
	go func() {
		defer l.saves.Done()
		if err := l.e.Save(); err != nil {
			l.Bus.Logf(engine.LevelError, "could not save state: %v", err)
		}
	}()
}

// touches returns the rules of the run r that the batch b affects and that
// are running with inputs read before the batch's last change. A rule still
// to run reads its inputs when it starts, so it needs no interruption; a
// rule done with is run again after the run, from the batch.
func (l *Loop) touches(ctx context.Context, r *run, b watch.Batch) []string {
	var rules []string
	if b.Rescan {
		rules = slices.Collect(maps.Keys(r.sel))
	} else {
		rules = l.affected(ctx, l.dropOutputs(b.Paths))
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
func (l *Loop) union(prev, rules []string) []string {
	var out []string
	for _, n := range slices.Concat(prev, rules) {
		if l.e.Graph.Rule(n) != nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// serveTasks returns the serve tasks the loop runs.
func (l *Loop) serveTasks() map[string]bool { return l.perGraph().serve }

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
func (l *Loop) rootGone() bool {
	_, err := os.Stat(l.Root)
	return err != nil
}

// awaitRoot waits for the workspace folder to come back, then watches it
// anew: the watches went with the folder.
func (l *Loop) awaitRoot(ctx context.Context) error {
	l.Bus.Logf(engine.LevelError, "the workspace folder %s is gone (deleted or moved away): nothing can run until it is back; waiting for it (Ctrl-C to stop)", l.Root)
	tick := time.NewTicker(rootPoll)
	defer tick.Stop()
	for l.rootGone() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	src, err := l.watch(l.wo)
	if err != nil {
		return err
	}
	l.src.Close()
	l.src = src
	l.e.Reopen()
	l.e.Index.Watched()
	l.keepInputs(ctx)
	l.Bus.Logf(engine.LevelInfo, "the workspace folder %s is back: evaluating it again and running what is out of date", l.Root)
	return nil
}

// rootPoll is how often a loop whose workspace folder is gone looks for it.
const rootPoll = 250 * time.Millisecond
