package main

import (
	"context"
	"fmt"

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
// selected environment's target, and samples their replicas and health,
// as service events on the bus, until ctx ends.
func (a *app) followEvents(ctx context.Context, project string) error {
	f, ok := a.deployTo.(deploy.Follower)
	if !ok {
		return fmt.Errorf("environment %s's target cannot report what happens to its services; drop --follow, and use `ferry --env %s status` and `ferry --env %s logs`", a.env, a.env, a.env)
	}
	a.bus.Logf(engine.LevelInfo, "following project %s: crashes, restarts and health changes are reported here until Ctrl-C", project)
	go deploy.SampleStatus(ctx, a.deployTo, project, a.bus, deploy.StatusEvery)
	return f.Follow(ctx, project, a.bus)
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
