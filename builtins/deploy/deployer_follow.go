package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferryhq/ferry/builtins/scale"
	"github.com/ferryhq/ferry/engine"
)

// Follow reports, on the bus, what happens to the project's services
// (replicas that die, the target restarting them, crash loops, failing
// health checks) and runs the autoscalers of g's services until ctx ends,
// and returns ctx's error: `ferry up --follow` ends with Ctrl-C.
func (d *Deployer) Follow(ctx context.Context, g *engine.Graph) error {
	d.Autoscale(ctx, g)
	return d.FollowEvents(ctx)
}

// FollowServices follows the project's services in the background while
// ctx lasts, when g declares any, for ferry watch, which (re)starts their
// autoscalers itself as reloads change them.
func (d *Deployer) FollowServices(ctx context.Context, g *engine.Graph) {
	for _, n := range g.Names() {
		if IsService(g.Rule(n)) {
			go d.FollowEvents(ctx)
			return
		}
	}
}

// FollowEvents reports what happens to the project's services on the
// target, and samples their replicas and health, as service events on
// the bus, until ctx ends.
func (d *Deployer) FollowEvents(ctx context.Context) error {
	f, ok := d.Target.(Follower)
	if !ok {
		return fmt.Errorf("environment %s's target cannot report what happens to its services; drop --follow, and use `ferry --env %s status` and `ferry --env %s logs`", d.Env, d.Env, d.Env)
	}
	d.Bus.Logf(engine.LevelInfo, "following project %s: crashes, restarts and health changes are reported here until Ctrl-C", d.Project)
	go SampleStatus(ctx, d.Target, d.Project, d.Bus, StatusEvery)
	return f.Follow(ctx, d.Project, d.Bus)
}

// Autoscale runs, until ctx ends, the autoscaler of every service of g
// that declares autoscale, on a target that can scale (see Scaling): each
// decision, the replicas it counts and each problem are reported on
// the bus.
func (d *Deployer) Autoscale(ctx context.Context, g *engine.Graph) {
	specs := map[string]*ServiceSpec{}
	var names []string
	for _, n := range g.Names() {
		if r, ok := g.Rule(n).(*Rule); ok && !r.job && r.spec.Autoscale != nil {
			specs[n] = r.spec
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return
	}
	t, ok := d.Target.(Scaling)
	if !ok {
		d.Bus.Logf(engine.LevelWarn, "autoscale of %s: environment %s has no autoscaler in ferry yet; the replicas stay at min", strings.Join(names, ", "), d.Env)
		return
	}
	sc := t.NewScaler(d.Project, d.Root, specs, lineLogger{d.Bus})
	loop := &scale.Loop{Scaler: sc, Bus: d.Bus}
	for _, n := range names {
		d.Bus.Logf(engine.LevelInfo, "autoscaling %s: %s", n, specs[n].Autoscale)
		go loop.Run(ctx, n, specs[n].Autoscale)
	}
	go func() {
		<-ctx.Done()
		sc.Close()
	}()
}

// lineLogger logs what a target writes (one line a call, as Deploy
// writes) on the bus.
type lineLogger struct{ bus *engine.Bus }

func (w lineLogger) Write(p []byte) (int, error) {
	w.bus.Logf(engine.LevelInfo, "%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
