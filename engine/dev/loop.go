package dev

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/watch"
)

// An Evaluation is one evaluation of the workspace, as Loop.Load returns it.
type Evaluation struct {
	Workspace *engine.Workspace
	Graph     *engine.Graph
	// Result says what the evaluation read (Files, Listings) and its
	// watch_settings().
	Result *engine.Result
}

// A Source delivers the batches of changes the loop reacts to: a
// *watch.Watcher, or a fake in tests.
type Source interface {
	Batches() <-chan watch.Batch
	// Errors delivers problems that do not stop the source, such as a
	// folder that could not be watched.
	Errors() <-chan error
	// SetKeep replaces the paths watched even where ignore rules exclude
	// them.
	SetKeep(paths []string) error
	Close() error
}

// A Domain is a domain's part of the dev loop, such as deploy's services.
// The loop calls it from one goroutine at a time.
type Domain interface {
	// Selects reports whether the loop runs r by itself when no rule is
	// named, as it runs build rules and serve tasks.
	Selects(r engine.Rule) bool
	// Loaded is told of each good evaluation, prev being nil for the
	// first; work it starts (following services, autoscalers) lasts until
	// ctx ends.
	Loaded(ctx context.Context, prev, cur *engine.Graph)
	// Ran is told of each run that was not interrupted, with its summary;
	// it may bring more rules up to date with e and o.
	Ran(ctx context.Context, e *engine.Engine, o engine.RunOptions, sum *engine.Summary)
	// Close is called once when the loop ends, whatever the reason.
	Close(ctx context.Context)
}

// A Loop is one dev loop on a workspace. Set its fields, then call Run
// once.
type Loop struct {
	// Root is the workspace root, watched before the first evaluation so
	// that no change made meanwhile is missed.
	Root string
	// Names are the rules to run; none means every build rule, serve task
	// and rule the Domain selects, of the enabled profiles.
	Names []string
	// Load evaluates the workspace: at the start, and again when a batch
	// calls for it.
	Load func(ctx context.Context) (*Evaluation, error)
	// Lock takes the workspace lock and loads the state, once the first
	// evaluation worked; release ends the lock when the loop ends. nil
	// means engine.OpenState, waiting for the lock with a word on Bus.
	Lock func(ctx context.Context, ws *engine.Workspace) (st *engine.State, release func(), err error)
	// Watch starts a Source on root with o; nil means watch.New.
	Watch func(root string, o watch.Options) (Source, error)
	// Options are the watcher's options from the command line: the zero
	// fields take watch_settings() of ferry.star, if any.
	Options watch.Options
	// Jobs bounds the rules run at once; 0 means the CPU count.
	Jobs int
	// Bus receives the loop's messages and the runs' events.
	Bus *engine.Bus
	// Domain, when set, is a domain's part of the loop.
	Domain Domain
	// Loaded, when set, is told of the rules of each good evaluation, such
	// as for a status view.
	Loaded func(g *engine.Graph)

	ev     *Evaluation     // the last good evaluation
	broken bool            // the last evaluation failed: ev is the one before
	files  map[string]bool // absolute paths read by the last evaluations
	e      *engine.Engine
	o      engine.RunOptions
	src    Source
	wo     watch.Options // src's options, to watch the workspace anew
	saves  sync.WaitGroup
	graph  atomic.Pointer[engine.Graph] // ev's graph, for Graph and Trigger
	queue  chan []string                // triggered rules
	per    *perGraph                    // what each batch needs of ev's graph, made once per graph
}

// perGraph holds what the loop works out from one graph for every batch:
// each costs a pass over every rule, which at 5,000 rules took a few
// milliseconds of each save's latency.
type perGraph struct {
	g     *engine.Graph
	sel   []string        // the rules the loop runs by itself (selection)
	serve map[string]bool // the serve tasks among them and their deps
	outs  map[string]bool // the declared outputs of every rule
}

// perGraph returns what the loop worked out from the last good
// evaluation's graph, working it out on the first call for that graph.
// Only the loop's goroutine calls it.
func (l *Loop) perGraph() *perGraph {
	g := l.ev.Graph
	if l.per != nil && l.per.g == g {
		return l.per
	}
	p := &perGraph{g: g, sel: slices.Clip(l.selectRules()), serve: map[string]bool{}, outs: map[string]bool{}}
	for _, n := range g.Names() {
		for _, o := range g.Rule(n).Outputs() {
			p.outs[o] = true
		}
	}
	sel, _ := g.Select(p.sel)
	for _, n := range sel {
		if g.Rule(n).Info().Serve {
			p.serve[n] = true
		}
	}
	l.per = p
	return p
}

// Graph returns the rules of the last good evaluation, nil before the
// first.
func (l *Loop) Graph() *engine.Graph { return l.graph.Load() }

// Kind returns the kind of the rule name of the last good evaluation, ""
// when it has none (or before the first).
func (l *Loop) Kind(name string) string {
	if g := l.Graph(); g != nil {
		return g.Kind(name)
	}
	return ""
}

// Run runs the selected rules once, and then the rules each batch of
// changes and each trigger calls for, holding the workspace lock, until
// ctx ends; it returns ctx's error then, or nil if the source ends. A
// failing rule does not end it: the next change may fix it. A first
// evaluation that fails is reported, and tried again after each batch.
func (l *Loop) Run(ctx context.Context) error {
	if l.Domain != nil {
		defer l.Domain.Close(ctx)
	}
	l.queue = make(chan []string, triggerQueue)
	src, err := l.watch(l.Options)
	if err != nil {
		return err
	}
	l.src, l.wo = src, l.Options
	defer func() { l.src.Close() }() // a new one if the settings or the workspace folder ask for it
	ev, err := l.firstLoad(ctx)
	if err != nil {
		return err
	}
	if err := l.applySettings(ev); err != nil {
		return err
	}
	lock := l.Lock
	if lock == nil {
		lock = func(ctx context.Context, ws *engine.Workspace) (*engine.State, func(), error) {
			return engine.OpenState(ctx, ws, true, l.Bus)
		}
	}
	st, release, err := lock(ctx, ev.Workspace)
	if err != nil {
		return err
	}
	defer release()
	defer l.saves.Wait() // before the lock is released
	l.ev = ev
	l.e = engine.NewEngine(ev.Workspace, ev.Graph, st, l.Bus)
	// The watch started before this engine: it reports every change, so
	// the inputs no change touched need no stat (see FileIndex.Watched).
	l.e.Index.Watched()
	l.o = engine.RunOptions{Jobs: l.Jobs, KeepGoing: true, LiveUpdate: true}
	l.setFiles(ev.Result.Files, false)
	l.keepInputs(ctx)
	if l.Domain != nil {
		l.Domain.Loaded(ctx, nil, ev.Graph)
	}
	l.loaded(ev.Graph)
	ln, err := l.listen(ev.Workspace)
	if err != nil {
		return err
	}
	defer ln.close()
	return l.loop(ctx)
}

// watch starts a Source with o.
func (l *Loop) watch(o watch.Options) (Source, error) {
	if l.Watch != nil {
		return l.Watch(l.Root, o)
	}
	return watch.New(l.Root, o)
}

// loaded makes g the graph that triggers are checked against, and tells
// Loaded of it.
func (l *Loop) loaded(g *engine.Graph) {
	l.graph.Store(g)
	if l.Loaded != nil {
		l.Loaded(g)
	}
}

// firstLoad evaluates the workspace; while that fails, it reports why and
// tries again after each batch of changes, as a later failure would. A rule
// name that a good ferry.star does not declare ends the loop.
func (l *Loop) firstLoad(ctx context.Context) (*Evaluation, error) {
	for {
		ev, err := l.Load(ctx)
		if err == nil {
			_, err := ev.Graph.Select(l.Names)
			return ev, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		l.Bus.Logf(engine.LevelError, "%v", err)
		l.Bus.Logf(engine.LevelInfo, "waiting for a change that fixes it (Ctrl-C to stop)")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-l.src.Batches():
		}
	}
}

// setFiles records the files an evaluation read; keep adds them to those
// recorded, for an evaluation that failed part way.
func (l *Loop) setFiles(files []string, keep bool) {
	if !keep || l.files == nil {
		l.files = map[string]bool{}
	}
	for _, f := range files {
		l.files[f] = true
	}
}

// batch reacts to one batch of changes: it evaluates again if the batch
// calls for it, and returns the rules to run.
func (l *Loop) batch(ctx context.Context, b watch.Batch) ([]string, error) {
	paths := l.dropOutputs(b.Paths)
	if len(paths) == 0 && !b.Rescan {
		l.Bus.Logf(engine.LevelDebug, "%d paths changed, all outputs of rules: nothing to do", len(b.Paths))
		return nil, nil
	}
	reload := b.Rescan
	for _, p := range paths {
		abs := l.ev.Workspace.Path(p)
		if l.files[abs] || l.broken && (strings.HasSuffix(p, ".star") || p == "ferry.mod" || p == "ferry.lock") || l.relisted(p, abs) {
			reload = true
		}
	}
	if reload && l.reload(ctx) {
		// The rules may have changed in any way: the key check finds what
		// really has to run.
		l.Bus.Logf(engine.LevelInfo, "%s; rules reloaded, running what is out of date", changed(paths, b.Rescan))
		return l.selection(), nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if b.Rescan {
		l.Bus.Logf(engine.LevelInfo, "%s; running what is out of date", changed(paths, true))
		return l.selection(), nil
	}
	rules := l.dropManual(l.affected(ctx, paths))
	if len(rules) == 0 {
		l.Bus.Logf(engine.LevelInfo, "%s; no selected rule uses them", changed(paths, false))
		return nil, nil
	}
	l.Bus.Logf(engine.LevelInfo, "%s; running %s", changed(paths, false), strings.Join(rules, ", "))
	return rules, nil
}

// relisted reports whether the file at p (absolute path abs) appearing or
// vanishing changes the result of a glob that the last evaluation made.
func (l *Loop) relisted(p, abs string) bool {
	_, err := os.Lstat(abs)
	exists := err == nil
	for _, li := range l.ev.Result.Listings {
		if li.Changes(p, exists) {
			return true
		}
	}
	return false
}

// reload evaluates the workspace again and reports whether it worked. On an
// error it logs it and keeps the previous rules.
func (l *Loop) reload(ctx context.Context) bool {
	ev, err := l.Load(ctx)
	if err == nil {
		_, err = ev.Graph.Select(l.Names)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		l.Bus.Logf(engine.LevelError, "rules not reloaded, keeping the previous ones until the next save: %v", err)
		l.broken = true
		return false
	}
	l.noteSettings(ev)
	prev := l.ev.Graph
	l.ev, l.broken = ev, false
	l.e.Graph = ev.Graph
	l.loaded(ev.Graph)
	l.setFiles(ev.Result.Files, false)
	l.keepInputs(ctx)
	if l.Domain != nil {
		l.Domain.Loaded(ctx, prev, ev.Graph)
	}
	return true
}

// keepInputs has the source watch what the selected rules read, even
// where it is ignored.
func (l *Loop) keepInputs(ctx context.Context) {
	g := l.ev.Graph
	sel, err := g.Select(l.Names)
	if err != nil {
		return
	}
	if err := l.src.SetKeep(g.WatchRoots(ctx, sel)); err != nil {
		l.Bus.Logf(engine.LevelError, "%v", err)
	}
}

// dropOutputs removes the declared outputs of rules from paths: rules
// writing them is no reason to run anything.
func (l *Loop) dropOutputs(paths []string) []string {
	outs := l.perGraph().outs
	var keep []string
	for _, p := range paths {
		if !outs[p] {
			keep = append(keep, p)
		}
	}
	return keep
}

// affected returns the rules of the selection that a change to paths
// concerns, and those that depend on them, in selection order.
func (l *Loop) affected(ctx context.Context, paths []string) []string {
	rules, err := l.ev.Graph.Affected(ctx, l.selection(), paths)
	if err != nil {
		return nil
	}
	return rules
}

// selection returns the rules the loop runs by itself: those named, or
// every build rule, serve task and rule the Domain selects of the enabled
// profiles (so a rebuilt image replaces its services' containers); manual
// rules (trigger = "manual") wait to be triggered.
func (l *Loop) selection() []string { return l.perGraph().sel }

// selectRules works out selection from the last good evaluation's graph.
func (l *Loop) selectRules() []string {
	rules := l.Names
	if len(rules) == 0 {
		g := l.ev.Graph
		for _, n := range g.Names() {
			r := g.Rule(n)
			info := r.Info()
			if (info.Default || info.Serve || l.Domain != nil && l.Domain.Selects(r)) && g.ProfileEnabled(info) {
				rules = append(rules, n)
			}
		}
	}
	return l.dropManual(rules)
}

// dropManual removes manual rules from rules.
func (l *Loop) dropManual(rules []string) []string {
	var out []string
	for _, n := range rules {
		if !l.ev.Graph.Rule(n).Info().Manual {
			out = append(out, n)
		}
	}
	return out
}

// changed describes a batch for the log.
func changed(paths []string, rescan bool) string {
	if rescan {
		return "events were lost (kernel queue overflow): rescanning"
	}
	const show = 3
	list := strings.Join(paths[:min(len(paths), show)], ", ")
	if len(paths) > show {
		list += fmt.Sprintf(" and %d more", len(paths)-show)
	}
	word := "paths"
	if len(paths) == 1 {
		word = "path"
	}
	return fmt.Sprintf("%d %s changed (%s)", len(paths), word, list)
}
