package main

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker"
	"github.com/ferryhq/ferry/builtins/scale"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/exporter"
)

// autoscale runs, until ctx ends, the autoscaler of every service of l
// that declares autoscale: each decision and problem is logged on the bus
// and counted in ferry's metrics when they are served.
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
	loop := &scale.Loop{Scaler: sc, Hooks: exporterHooks{&a.exporter}, Log: func(level, service, text string) {
		a.bus.Emit(engine.Event{Kind: engine.EventLog, Level: level, Text: "autoscale " + service + ": " + text})
	}}
	for _, n := range names {
		a.bus.Logf(engine.LevelInfo, "autoscaling %s: %s", n, specs[n].Autoscale)
		go loop.Run(ctx, n, specs[n].Autoscale)
	}
	go func() {
		<-ctx.Done()
		sc.Close()
	}()
}

// exporterHooks passes the autoscaler's hooks to ferry's metrics, when a
// foreground loop serves them.
type exporterHooks struct {
	x *atomic.Pointer[exporter.Exporter]
}

func (h exporterHooks) Scaled(service string, from, to int) {
	if x := h.x.Load(); x != nil {
		x.Scaled(service, from, to)
	}
}

func (h exporterHooks) SetReplicas(service string, n int) {
	if x := h.x.Load(); x != nil {
		x.SetReplicas(service, n)
	}
}

// lineLogger logs what a target writes (one line a call, as Deploy
// writes) on the bus.
type lineLogger struct{ bus *engine.Bus }

func (w lineLogger) Write(p []byte) (int, error) {
	w.bus.Logf(engine.LevelInfo, "%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
