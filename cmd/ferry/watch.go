package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/watch"
)

func (a *app) watchCommand() *cobra.Command {
	var wo watch.Options
	cmd := &cobra.Command{
		Use:     "watch [RULE...] [-- --flag=value...]",
		Aliases: []string{"dev"},
		Short:   "Run rules, then rerun them as their inputs change, until Ctrl-C",
		Long: `Run the named rules (every build rule when none is named) as ferry run does,
then watch the workspace. After each batch of changes, rerun the selected rules
whose inputs changed and the selected rules that depend on them; when
ferry.star, a loaded module or a file read while evaluating changes,
evaluate again (on an error, keep the previous rules and wait for the next
save). A failing rule does not stop the watch. See docs/watch.md.`,
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
			return a.watch(cmd.Context(), ws, names, flags, wo)
		},
	}
	cmd.Flags().DurationVar(&wo.Debounce, "debounce", watch.DefaultDebounce, "run once no file has changed for `DURATION`")
	cmd.Flags().DurationVar(&wo.MaxBatchAge, "max-batch-age", watch.DefaultMaxBatchAge, "while files keep changing, run at least every `DURATION`")
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
}

// watch runs the selected rules once and then after every batch of
// changes, holding the workspace lock, until ctx ends.
func (a *app) watch(ctx context.Context, ws *engine.Workspace, names []string, flags map[string]string, wo watch.Options) error {
	// Watch before anything runs, so a change made meanwhile is not missed.
	fw, err := watch.New(ws.Root, wo)
	if err != nil {
		return err
	}
	defer fw.Close()
	l, err := a.firstLoad(ctx, fw, names, flags)
	if err != nil {
		return err
	}
	st, release, err := a.openState(ctx, l.ws, true)
	if err != nil {
		return err
	}
	defer release()
	w := &watcher{a: a, names: names, flags: flags, l: l, e: engine.NewEngine(l.ws, l.graph, st, a.bus),
		o: engine.RunOptions{Jobs: a.jobs, KeepGoing: true}}
	w.setFiles(l.res.Files, false)
	stopMetrics, err := a.serveMetrics(l.ws, w.kind)
	if err != nil {
		return err
	}
	defer stopMetrics()

	if err := w.run(ctx, names); err != nil {
		return err
	}
	a.bus.Logf(engine.LevelInfo, "watching %s for changes (Ctrl-C to stop)", l.ws.Root)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-fw.Errors():
			a.bus.Logf(engine.LevelError, "%v", err)
		case b, ok := <-fw.Batches():
			if !ok {
				return nil
			}
			if err := w.batch(ctx, b); err != nil {
				return err
			}
		}
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

// run brings rules up to date and saves the state. Only an interruption
// ends the watch: failed rules were reported, and the next change may fix
// them.
func (w *watcher) run(ctx context.Context, rules []string) error {
	_, err := w.e.Run(ctx, rules, w.o)
	if serr := w.e.Save(); serr != nil {
		w.a.bus.Logf(engine.LevelError, "could not save state: %v", serr)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil && !errors.Is(err, engine.ErrFailed) {
		w.a.bus.Logf(engine.LevelError, "%v", err)
	}
	return nil
}

// batch reacts to one batch of changes.
func (w *watcher) batch(ctx context.Context, b watch.Batch) error {
	paths := w.dropOutputs(b.Paths)
	if len(paths) == 0 && !b.Rescan {
		w.a.bus.Logf(engine.LevelDebug, "%d paths changed, all outputs of rules: nothing to do", len(b.Paths))
		return nil
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
		return w.run(ctx, w.names)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if b.Rescan {
		w.a.bus.Logf(engine.LevelInfo, "%s; running what is out of date", changed(paths, true))
		return w.run(ctx, w.names)
	}
	rules := w.affected(ctx, paths)
	if len(rules) == 0 {
		w.a.bus.Logf(engine.LevelInfo, "%s; no selected rule uses them", changed(paths, false))
		return nil
	}
	w.a.bus.Logf(engine.LevelInfo, "%s; running %s", changed(paths, false), strings.Join(rules, ", "))
	return w.run(ctx, rules)
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
	w.l, w.broken = l, false
	w.e.Graph = l.graph
	w.setFiles(l.res.Files, false)
	return true
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
	sel, err := g.Select(w.names)
	if err != nil {
		return nil
	}
	hit := map[string]bool{}
	for _, n := range sel {
		ins, err := g.Rule(n).Inputs(ctx)
		if err != nil {
			// Let the run report it, with the rule's name.
			hit[n] = true
			continue
		}
		for _, in := range ins {
			if slices.ContainsFunc(paths, func(p string) bool { return within(p, in) || within(in, p) }) {
				hit[n] = true
				break
			}
		}
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
