package deploy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/dev"
)

// Dev is the deploy domain's part of the dev loop (engine/dev, ferry
// watch). The loop runs the services and jobs by itself. The first
// evaluation starts following the services; each evaluation removes the
// services and jobs that ferry.star no longer declares, and restarts the
// autoscalers when a policy changed. After each run, the images of the
// services it deployed are run again, so that new containers get the files
// that live updates synced since the image was built. When the loop ends,
// the services it deployed are removed, unless Keep.
type Dev struct {
	// Bus receives what Dev does.
	Bus *engine.Bus
	// Keep leaves the services the loop deployed running when it ends.
	Keep bool
	// Follow, when set, reports what happens to the project's services
	// until ctx ends.
	Follow func(ctx context.Context)
	// Autoscale, when set, runs the autoscalers of the services of g that
	// declare autoscale until ctx ends.
	Autoscale func(ctx context.Context, g *engine.Graph)

	// target and project are those of the services and jobs of the latest
	// evaluation that declared any.
	target  Target
	project string
	// scaled describes the autoscale policies the running autoscalers
	// follow; stopScale stops them.
	scaled    string
	stopScale context.CancelFunc
}

var _ dev.Domain = (*Dev)(nil)

// A StartedRemover is a Target that removes the containers of the services
// of a project that it deployed (started or replaced) itself, and returns
// their names.
type StartedRemover interface {
	RemoveDeployed(ctx context.Context, project string) ([]string, error)
}

// stopTimeout bounds removing the loop's services when it ends.
const stopTimeout = time.Minute

// Selects reports whether r is a service or a job: a watch runs them, so a
// rebuilt image replaces its services' containers.
func (d *Dev) Selects(r engine.Rule) bool {
	_, ok := r.(*Rule)
	return ok
}

// Loaded follows the services of the first evaluation, removes the
// services and jobs of prev that cur no longer declares, and (re)starts
// the autoscalers of cur.
func (d *Dev) Loaded(ctx context.Context, prev, cur *engine.Graph) {
	d.note(cur)
	if prev == nil {
		if d.Follow != nil && slices.ContainsFunc(cur.Names(), func(n string) bool { return isService(cur.Rule(n)) }) {
			go d.Follow(ctx)
		}
	} else {
		d.removeDropped(ctx, prev, cur)
	}
	d.rescale(ctx, cur)
}

// note records the target and project of the services and jobs of g.
func (d *Dev) note(g *engine.Graph) {
	for _, n := range g.Names() {
		if r, ok := g.Rule(n).(*Rule); ok && r.Target() != nil {
			d.target, d.project = r.Target(), r.Project()
			return
		}
	}
}

// isService reports whether r is a service (not a job).
func isService(r engine.Rule) bool {
	dr, ok := r.(*Rule)
	return ok && !dr.job
}

// removeDropped removes the services and jobs that a reload took out of
// ferry.star, as `ferry up` removes what is no longer declared. It calls the
// target only when prev had such a rule that cur lacks.
func (d *Dev) removeDropped(ctx context.Context, prev, cur *engine.Graph) {
	var t Target
	var project string
	for _, n := range prev.Names() {
		if r, ok := prev.Rule(n).(*Rule); ok && cur.Rule(n) == nil {
			t, project = r.Target(), r.Project()
		}
	}
	if t == nil {
		return
	}
	var keep []string
	for _, n := range cur.Names() {
		if d.Selects(cur.Rule(n)) {
			keep = append(keep, n)
		}
	}
	removed, err := t.RemoveExcept(ctx, project, keep)
	for _, r := range removed {
		d.Bus.Logf(engine.LevelInfo, "removed %s: it is no longer in ferry.star", r)
	}
	if err != nil {
		d.Bus.Logf(engine.LevelError, "could not remove what ferry.star no longer declares: %v; `ferry up` removes it", err)
	}
}

// rescale starts the autoscalers of the services of g that declare
// autoscale, and after a reload that changed a policy, stops them and
// starts them anew, so an edit to autoscale(...) applies at once.
func (d *Dev) rescale(ctx context.Context, g *engine.Graph) {
	if d.Autoscale == nil {
		return
	}
	var policies []string
	for _, n := range g.Names() {
		if r, ok := g.Rule(n).(*Rule); ok && !r.job && r.Spec().Autoscale != nil {
			policies = append(policies, n+" "+r.Spec().Autoscale.String())
		}
	}
	desc := strings.Join(policies, "\n")
	if desc == d.scaled {
		return
	}
	if d.stopScale != nil {
		d.stopScale()
	}
	sctx, cancel := context.WithCancel(ctx)
	d.scaled, d.stopScale = desc, cancel
	d.Autoscale(sctx, g)
}

// Ran runs again the image rules of the services that a run deployed: a
// container made from the image of the last build lacks the files that
// live updates synced since, and the image rule, out of date by those
// files, live-updates the new container too. An image with nothing synced
// is up to date, and costs a key check.
func (d *Dev) Ran(ctx context.Context, e *engine.Engine, o engine.RunOptions, sum *engine.Summary) {
	if sum == nil {
		return
	}
	var images []string
	for _, n := range sum.Ran {
		if r, ok := e.Graph.Rule(n).(*Rule); ok && r.image != nil && !slices.Contains(images, r.spec.Image) {
			images = append(images, r.spec.Image)
		}
	}
	if len(images) == 0 {
		return
	}
	// Only those with something to sync: no run, no summary line, otherwise.
	plan, err := e.Plan(ctx, images, false)
	if err != nil {
		return
	}
	var stale []string
	for _, it := range plan {
		if it.Run && slices.Contains(images, it.Rule) {
			stale = append(stale, it.Rule)
		}
	}
	if len(stale) == 0 {
		return
	}
	d.Bus.Logf(engine.LevelInfo, "syncing the new containers of %s", strings.Join(stale, ", "))
	if _, err := e.Run(ctx, stale, o); err != nil && ctx.Err() == nil && !errors.Is(err, engine.ErrFailed) {
		d.Bus.Logf(engine.LevelError, "%v", err)
	}
}

// Close removes the containers of the services that the loop deployed
// (started or replaced), unless Keep is set. Services that were already
// running as declared, and were left alone, stay.
func (d *Dev) Close(ctx context.Context) {
	if d.Keep {
		return
	}
	t, ok := d.target.(StartedRemover)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	defer engine.Cleaning(ctx)()
	removed, err := t.RemoveDeployed(ctx, d.project)
	for _, r := range removed {
		d.Bus.Logf(engine.LevelInfo, "removed %s, which this watch started (--keep leaves services up)", r)
	}
	if err != nil {
		d.Bus.Logf(engine.LevelError, "could not remove the services this watch started: %v; `ferry down` removes them", err)
	}
}
