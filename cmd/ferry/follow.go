package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

// follow reports, on the bus, what happens to the project's services
// (replicas that die, Docker restarting them, crash loops, failing exec
// checks) and runs their autoscalers until ctx ends, and returns ctx's
// error: `ferry up --follow` ends with Ctrl-C.
func (a *app) follow(ctx context.Context, l *loaded) error {
	a.autoscale(ctx, l)
	return a.followEvents(ctx, l.project)
}

// followEvents reports what happens to the project's services on the
// selected environment's target, and samples their status for ferry's
// metrics, until ctx ends.
func (a *app) followEvents(ctx context.Context, project string) error {
	f, ok := a.deployTo.(deploy.Follower)
	if !ok {
		return fmt.Errorf("environment %s's target cannot report what happens to its services; drop --follow, and use `ferry --env %s status` and `ferry --env %s logs`", a.env, a.env, a.env)
	}
	a.bus.Logf(engine.LevelInfo, "following project %s: crashes, restarts and health changes are reported here until Ctrl-C", project)
	go a.sampleStatus(ctx, project)
	return f.Follow(ctx, project, func(r deploy.Report) {
		if x := a.exporter.Load(); x != nil && r.Restarted {
			x.ContainerRestarted(r.Service)
		}
		if r.Text == "" {
			return
		}
		text := r.Text
		if r.Service != "" {
			text = r.Service + ": " + text
		}
		a.bus.Emit(engine.Event{Kind: engine.EventLog, Level: r.Level, Text: text})
	})
}

// followServices follows the project's services in the background while
// ctx lasts, when l declares any, for ferry watch; the watch (re)starts
// their autoscalers itself (watcher.rescale), as reloads change them.
func (a *app) followServices(ctx context.Context, l *loaded) {
	for _, n := range l.graph.Names() {
		if l.graph.Rule(n).Info().Kind == "service" {
			go a.followEvents(ctx, l.project)
			return
		}
	}
}

// statusEvery is how often a follower samples the services' replicas and
// health for ferry's metrics.
const statusEvery = 5 * time.Second

// sampleStatus sets the replicas and health of the project's services in
// ferry's metrics, from the target's status, until ctx ends. It does
// nothing while no metrics are served.
func (a *app) sampleStatus(ctx context.Context, project string) {
	tick := time.NewTicker(statusEvery)
	defer tick.Stop()
	for {
		if x := a.exporter.Load(); x != nil {
			list, err := a.deployTo.Status(ctx, project)
			if err != nil && ctx.Err() == nil {
				a.bus.Logf(engine.LevelDebug, "sampling the services' status for the metrics: %v", err)
			}
			for _, st := range list {
				x.SetReplicas(st.Name, st.Replicas)
				if st.Health != "" {
					x.SetHealth(st.Name, st.Health)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
