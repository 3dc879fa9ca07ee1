package main

import (
	"context"
	"strings"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker"
	"github.com/ferryhq/ferry/builtins/scale"
	"github.com/ferryhq/ferry/engine"
)

// autoscale runs, until ctx ends, the autoscaler of every service of l
// that declares autoscale: each decision, the replicas it counts and each
// problem are reported on the bus.
func (a *app) autoscale(ctx context.Context, l *loaded) {
	specs := map[string]*deploy.ServiceSpec{}
	var names []string
	for _, n := range l.graph.Names() {
		if r, ok := l.graph.Rule(n).(*deploy.Rule); ok && r.Info().Kind == "service" && r.Spec().Autoscale != nil {
			specs[n] = r.Spec()
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return
	}
	var sc interface {
		scale.Scaler
		Close()
	}
	switch t := a.deployTo.(type) {
	case *docker.Target:
		sc = t.NewScaler(l.project, l.ws.Root, specs, lineLogger{a.bus})
	case *docker.SwarmTarget:
		sc = t.NewScaler(l.project)
	default:
		a.bus.Logf(engine.LevelWarn, "autoscale of %s: environment %s has no autoscaler in ferry yet; the replicas stay at min", strings.Join(names, ", "), a.env)
		return
	}
	loop := &scale.Loop{Scaler: sc, Bus: a.bus}
	for _, n := range names {
		a.bus.Logf(engine.LevelInfo, "autoscaling %s: %s", n, specs[n].Autoscale)
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
