package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/watch"
)

func (a *app) watchCommand() *cobra.Command {
	var wo watch.Options
	var keep bool
	var noView bool
	cmd := &cobra.Command{
		Use:     "watch [RULE...] [-- --flag=value...]",
		Aliases: []string{"dev"},
		Short:   "Run rules, then rerun them as their inputs change, until Ctrl-C",
		Long: `Run the named rules (every build rule, serve task, service and job when
none is named) as ferry run and ferry up do, then watch the workspace. After
each batch of changes, rerun the selected rules whose inputs changed and the
selected rules that depend on them; when ferry.star, a loaded module or a file
read while evaluating changes, evaluate again (on an error, keep the previous
rules and wait for the next save). A change to a rule the run in progress is
running interrupts that run and starts it again. Serve tasks (dev
servers) are restarted when their key changes, and stopped when the watch
ends. Images with live_update steps update their running containers in place
when only synced files changed; on exit, the services the watch started are
removed, unless --keep. A failing rule does not stop the watch. Rules declared
with trigger = "manual" run only when asked (ferry trigger RULE, or t in the
view). On a terminal, a status view shows each rule's state above the log
(--no-view for plain lines). See docs/watch.md and docs/live-update.md.`,
		Example: `  ferry watch
  ferry dev api --debounce 100ms`,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, flags, err := splitDash(cmd, args)
			if err != nil {
				return err
			}
			ws, err := engine.FindWorkspace(a.dir, a.file)
			if err != nil {
				return err
			}
			// Evaluate again by absolute paths: the current folder may be
			// deleted and made anew (say by a branch switch) during a watch.
			a.dir, a.file = ws.Root, ws.File
			defer a.stopStarted(cmd.Context(), ws, keep)
			ctx, closeView := a.startView(cmd.Context(), noView, ws)
			err = a.watch(ctx, ws, names, flags, wo)
			if closeView() {
				return nil // q in the view
			}
			return err
		},
	}
	cmd.Flags().DurationVar(&wo.Debounce, "debounce", 0, "run once no file has changed for `DURATION` (default: watch_settings() in ferry.star, or "+watch.DefaultDebounce.String()+")")
	cmd.Flags().BoolVar(&keep, "keep", false, "on exit, leave the services this watch started running")
	cmd.Flags().BoolVar(&noView, "no-view", false, "log lines instead of the status view on a terminal")
	cmd.Flags().DurationVar(&wo.MaxBatchAge, "max-batch-age", 0, "while files keep changing, run at least every `DURATION` (default: watch_settings(), or "+watch.DefaultMaxBatchAge.String()+")")
	a.addMetricsFlag(cmd)
	return cmd
}

// watcher is the state of one `ferry watch`.
type watcher struct {
	a      *app
	names  []string
	flags  map[string]string
	l      *loaded
	e      *engine.Engine
	o      engine.RunOptions
	files  map[string]bool // absolute paths read by the last evaluations
	broken bool            // the last evaluation failed: l is the one before
	trig   *triggers       // requests from ferry trigger and the view
	fw     *watch.Watcher  // told what the rules read, to watch it even where ignored
	wo     watch.Options   // fw's options, to watch the workspace anew
	// scaled describes the autoscale policies the running autoscalers
	// follow; stopScale stops them.
	scaled    string
	stopScale context.CancelFunc
	saves     sync.WaitGroup // state saves in the background
}

// watch runs the selected rules once and then after every batch of
// changes, holding the workspace lock, until ctx ends.
func (a *app) watch(ctx context.Context, ws *engine.Workspace, names []string, flags map[string]string, wo watch.Options) error {
	limitMemory()
	// ferry's own output, redirected to a file in the workspace, is no change.
	wo.Own = watch.OwnFiles(os.Stdout, os.Stderr, a.eventsFile)
	// Watch before anything runs, so a change made meanwhile is not missed.
	fw, err := watch.New(ws.Root, wo)
	if err != nil {
		return err
	}
	defer func() { fw.Close() }()
	l, err := a.firstLoad(ctx, fw, names, flags)
	if err != nil {
		return err
	}
	if fw, err = a.applySettings(fw, ws.Root, wo, l); err != nil {
		return err
	}
	wo = withSettings(wo, l.res.Eval.WatchSettings())
	st, release, err := a.openState(ctx, l.ws, true)
	if err != nil {
		return err
	}
	defer release()
	w := &watcher{a: a, names: names, flags: flags, l: l, e: engine.NewEngine(l.ws, l.graph, st, a.bus),
		o: engine.RunOptions{Jobs: a.jobs, KeepGoing: true, LiveUpdate: true}, fw: fw, wo: wo}
	defer func() { w.fw.Close() }() // a new one if the workspace folder came back
	defer w.saves.Wait()            // before the lock is released
	w.setFiles(l.res.Files, false)
	stopMetrics, err := a.serveMetrics(l.ws, w.kind)
	if err != nil {
		return err
	}
	defer stopMetrics()
	// Followed once the metrics are served: their first report is in them.
	a.followServices(ctx, l)
	w.keepInputs(ctx)
	w.rescale(ctx)
	if w.trig, err = listenTriggers(l.ws, l.graph); err != nil {
		return err
	}
	defer w.trig.Close()
	a.viewRules(l.graph, names, w.trig)
	return w.loop(ctx)
}

// watchMemoryLimit is the soft limit on the Go heap of a watch, unless
// GOMEMLIMIT sets one. A watch lives for hours, and each run leaves garbage
// the size of the state file (14 MB at 100,000 files) behind: without a
// limit the heap grows to twice its peak before a collection, while the live
// heap of a 100,000-file watch is under 50 MB. The limit is soft: a
// workspace that needs more gets it, with more frequent collections.
const watchMemoryLimit = 100 << 20

// limitMemory sets watchMemoryLimit unless the user set GOMEMLIMIT.
func limitMemory() {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(watchMemoryLimit)
	}
}

// firstLoad evaluates the workspace; while that fails, it reports why and
// tries again after each batch of changes, as a later failure would. A rule
// name that a good ferry.star does not declare ends the watch.
func (a *app) firstLoad(ctx context.Context, fw *watch.Watcher, names []string, flags map[string]string) (*loaded, error) {
	for {
		l, err := a.load(ctx, flags)
		if err == nil {
			_, err := l.graph.Select(names)
			return l, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		a.bus.Logf(engine.LevelError, "%v", err)
		a.bus.Logf(engine.LevelInfo, "waiting for a change that fixes it (Ctrl-C to stop)")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-fw.Batches():
		}
	}
}

// setFiles records the files an evaluation read; keep adds them to those
// recorded, for an evaluation that failed part way.
func (w *watcher) setFiles(files []string, keep bool) {
	if !keep || w.files == nil {
		w.files = map[string]bool{}
	}
	for _, f := range files {
		w.files[f] = true
	}
}

// batch reacts to one batch of changes: it evaluates again if the batch
// calls for it, and returns the rules to run.
func (w *watcher) batch(ctx context.Context, b watch.Batch) ([]string, error) {
	paths := w.dropOutputs(b.Paths)
	if len(paths) == 0 && !b.Rescan {
		w.a.bus.Logf(engine.LevelDebug, "%d paths changed, all outputs of rules: nothing to do", len(b.Paths))
		return nil, nil
	}
	reload := b.Rescan
	for _, p := range paths {
		abs := w.l.ws.Path(p)
		if w.files[abs] || w.broken && strings.HasSuffix(p, ".star") || w.relisted(p, abs) {
			reload = true
		}
	}
	if reload && w.reload(ctx) {
		// The rules may have changed in any way: the key check finds what
		// really has to run.
		w.a.bus.Logf(engine.LevelInfo, "%s; rules reloaded, running what is out of date", changed(paths, b.Rescan))
		return w.selection(), nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if b.Rescan {
		w.a.bus.Logf(engine.LevelInfo, "%s; running what is out of date", changed(paths, true))
		return w.selection(), nil
	}
	rules := w.dropManual(w.affected(ctx, paths))
	if len(rules) == 0 {
		w.a.bus.Logf(engine.LevelInfo, "%s; no selected rule uses them", changed(paths, false))
		return nil, nil
	}
	w.a.bus.Logf(engine.LevelInfo, "%s; running %s", changed(paths, false), strings.Join(rules, ", "))
	return rules, nil
}

// relisted reports whether the file at p (absolute path abs) appearing or
// vanishing changes the result of a glob that the last evaluation made.
func (w *watcher) relisted(p, abs string) bool {
	_, err := os.Lstat(abs)
	exists := err == nil
	for _, l := range w.l.res.Listings {
		if l.Changes(p, exists) {
			return true
		}
	}
	return false
}

// reload evaluates the workspace again and reports whether it worked. On an
// error it logs it and keeps the previous rules.
func (w *watcher) reload(ctx context.Context) bool {
	l, err := w.a.load(ctx, w.flags)
	if err == nil {
		_, err = l.graph.Select(w.names)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		w.a.bus.Logf(engine.LevelError, "rules not reloaded, keeping the previous ones until the next save: %v", err)
		w.broken = true
		return false
	}
	w.noteSettings(l)
	w.removeDropped(ctx, w.l.graph, l.graph, l.project)
	w.l, w.broken = l, false
	w.e.Graph = l.graph
	w.trig.SetGraph(l.graph)
	w.a.viewRules(l.graph, w.names, w.trig)
	w.setFiles(l.res.Files, false)
	w.keepInputs(ctx)
	w.rescale(ctx)
	return true
}

// keepInputs has the watcher watch what the selected rules read, even
// where it is ignored.
func (w *watcher) keepInputs(ctx context.Context) {
	sel, err := w.l.graph.Select(w.names)
	if err != nil {
		return
	}
	if err := w.fw.SetKeep(watchRoots(ctx, w.l.graph, sel)); err != nil {
		w.a.bus.Logf(engine.LevelError, "%v", err)
	}
}

// dropOutputs removes the declared outputs of rules from paths: rules
// writing them is no reason to run anything.
func (w *watcher) dropOutputs(paths []string) []string {
	outs := map[string]bool{}
	for _, n := range w.l.graph.Names() {
		for _, o := range w.l.graph.Rule(n).Outputs() {
			outs[o] = true
		}
	}
	var keep []string
	for _, p := range paths {
		if !outs[p] {
			keep = append(keep, p)
		}
	}
	return keep
}

// affected returns the selected rules with an input among paths, and the
// selected rules that depend on them, in selection order.
func (w *watcher) affected(ctx context.Context, paths []string) []string {
	g := w.l.graph
	sel, err := g.Select(w.selection())
	if err != nil {
		return nil
	}
	hit := map[string]bool{}
	for _, n := range sel {
		hit[n] = concerns(ctx, g.Rule(n), paths)
	}
	// Add dependents: sel lists deps first, so one pass reaches the
	// dependents of dependents.
	deps := g.Dependents()
	for _, n := range sel {
		if !hit[n] {
			continue
		}
		for _, d := range deps[n] {
			hit[d] = true
		}
	}
	var out []string
	for _, n := range sel {
		if hit[n] {
			out = append(out, n)
		}
	}
	return out
}

// within reports whether the slash path p is dir or below it.
func within(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
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
