package main

// Services in the dev loop: removing the services a watch brought up when
// it ends, and syncing the containers it deploys from a live-updated image.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

// stopTimeout bounds removing the watch's services when it ends.
const stopTimeout = time.Minute

// stopStarted removes the containers of the services that the watch
// deployed (started or replaced), unless keep is set. Services that were
// already running as declared, and were left alone, stay.
func (a *app) stopStarted(ctx context.Context, ws *engine.Workspace, keep bool) {
	if keep || a.target == nil {
		return
	}
	project, err := a.projectName(ws)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	defer engine.Cleaning(ctx)()
	removed, err := a.target.RemoveDeployed(ctx, project)
	for _, r := range removed {
		a.bus.Logf(engine.LevelInfo, "removed %s, which this watch started (--keep leaves services up)", r)
	}
	if err != nil {
		a.bus.Logf(engine.LevelError, "could not remove the services this watch started: %v; `ferry down` removes them", err)
	}
}

// removeDropped removes the services and jobs that a reload took out of
// ferry.star, as `ferry up` removes what is no longer declared. It calls the
// Engine only when the old rules had such a rule that the new ones lack.
func (w *watcher) removeDropped(ctx context.Context, old, cur *engine.Graph, project string) {
	var keep []string
	dropped := false
	for _, n := range old.Names() {
		if isDeploy(old.Rule(n)) && cur.Rule(n) == nil {
			dropped = true
		}
	}
	if !dropped || w.a.deployTo == nil {
		return
	}
	for _, n := range cur.Names() {
		if isDeploy(cur.Rule(n)) {
			keep = append(keep, n)
		}
	}
	removed, err := w.a.deployTo.RemoveExcept(ctx, project, keep)
	for _, r := range removed {
		w.a.bus.Logf(engine.LevelInfo, "removed %s: it is no longer in ferry.star", r)
	}
	if err != nil {
		w.a.bus.Logf(engine.LevelError, "could not remove what ferry.star no longer declares: %v; `ferry up` removes it", err)
	}
}

// resync runs again the image rules of the services that a run deployed:
// a container made from the image of the last build lacks the files that
// live updates synced since, and the image rule, out of date by those
// files, live-updates the new container too. An image with nothing synced
// is up to date, and costs a key check.
func (w *watcher) resync(ctx context.Context, sum *engine.Summary) {
	if sum == nil {
		return
	}
	g := w.l.graph
	var images []string
	for _, n := range sum.Ran {
		r := g.Rule(n)
		if r == nil || !isDeploy(r) {
			continue
		}
		for _, d := range r.Info().Deps {
			if dr := g.Rule(d); dr != nil && dr.Info().Kind == "image" && !slices.Contains(images, d) {
				images = append(images, d)
			}
		}
	}
	if len(images) == 0 {
		return
	}
	// Only those with something to sync: no run, no summary line, otherwise.
	plan, err := w.e.Plan(ctx, images, false)
	if err != nil {
		return
	}
	images = images[:0]
	for _, it := range plan {
		if it.Run && it.Kind == "image" {
			images = append(images, it.Rule)
		}
	}
	if len(images) == 0 {
		return
	}
	w.a.bus.Logf(engine.LevelInfo, "syncing the new containers of %s", strings.Join(images, ", "))
	if _, err := w.e.Run(ctx, images, w.o); err != nil && ctx.Err() == nil && !errors.Is(err, engine.ErrFailed) {
		w.a.bus.Logf(engine.LevelError, "%v", err)
	}
}

// rescale starts the autoscalers of the services that declare autoscale,
// and after a reload that changed a policy, stops them and starts them
// anew, so an edit to autoscale(...) applies at once.
func (w *watcher) rescale(ctx context.Context) {
	var policies []string
	for _, n := range w.l.graph.Names() {
		if r, ok := w.l.graph.Rule(n).(*deploy.Rule); ok && r.Info().Kind == "service" && r.Spec().Autoscale != nil {
			policies = append(policies, n+" "+r.Spec().Autoscale.String())
		}
	}
	desc := strings.Join(policies, "\n")
	if desc == w.scaled {
		return
	}
	if w.stopScale != nil {
		w.stopScale()
	}
	sctx, cancel := context.WithCancel(ctx)
	w.scaled, w.stopScale = desc, cancel
	w.a.autoscale(sctx, w.l)
}
