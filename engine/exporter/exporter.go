// Package exporter serves ferry's own metrics in the Prometheus format while
// a foreground loop (ferry watch) runs, all read from the engine's event
// stream: rule runs and their durations, cache hits, rebuilds, retries and
// live updates, and what the service events report (container restarts,
// crash loops, health, replicas, the autoscaler's measures and decisions).
// docs/metrics.md lists every metric.
package exporter

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferryhq/ferry/engine"
)

// Outcomes of a rule run (label outcome of ferry_rule_runs_total and
// ferry_rule_duration_seconds) and of a whole run (ferry_runs_total).
const (
	OutcomeSucceeded   = "succeeded"
	OutcomeFailed      = "failed"
	OutcomeInterrupted = "interrupted"
)

// An Exporter keeps ferry's metrics in its own registry. It is an
// engine.Sink: add it to the bus and it counts what the engine reports.
type Exporter struct {
	reg  *prometheus.Registry
	kind func(rule string) string

	ruleRuns     *prometheus.CounterVec
	ruleDuration *prometheus.HistogramVec
	cacheHits    *prometheus.CounterVec
	rebuilds     *prometheus.CounterVec
	retries      *prometheus.CounterVec
	skips        *prometheus.CounterVec
	runs         *prometheus.CounterVec
	runDuration  prometheus.Histogram

	liveUpdates *prometheus.CounterVec
	restarts    *prometheus.CounterVec
	crashLoops  *prometheus.CounterVec
	health      *prometheus.GaugeVec
	replicas    *prometheus.GaugeVec
	wanted      *prometheus.GaugeVec
	scaling     *prometheus.CounterVec
	scaleValue  *prometheus.GaugeVec
	scaleTarget *prometheus.GaugeVec

	// Touched only by Handle, which the bus calls one event at a time.
	built       map[string]bool   // rules that succeeded or were up to date
	started     map[string]bool   // rules running now
	healthState map[string]string // service → its state in ferry_service_health
}

// New returns an Exporter. kind gives the kind of a rule ("task", "image",
// "service"…) for the kind label; the Exporter calls it while handling the
// events of a run, from the goroutine that emits them. With a nil kind the
// label is empty.
func New(kind func(rule string) string) *Exporter {
	if kind == nil {
		kind = func(string) string { return "" }
	}
	x := &Exporter{
		reg:  prometheus.NewRegistry(),
		kind: kind,
		ruleRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_rule_runs_total",
			Help: "Rules run because they were out of date, by outcome (succeeded, failed, interrupted); retries are one run.",
		}, []string{"kind", "rule", "outcome"}),
		ruleDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ferry_rule_duration_seconds",
			Help:    "How long rules ran, retries included, by kind and outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind", "outcome"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_rule_cache_hits_total",
			Help: "Rules found up to date (their key unchanged), so not run.",
		}, []string{"kind", "rule"}),
		rebuilds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_rule_rebuilds_total",
			Help: "Rules run again after they had succeeded or been up to date earlier in this ferry process.",
		}, []string{"kind", "rule"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_rule_retries_total",
			Help: "Failed attempts of rules that were tried again (retries =).",
		}, []string{"kind", "rule"}),
		skips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_rule_skips_total",
			Help: "Rules not run because a dep failed or the run stopped before them.",
		}, []string{"kind", "rule"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_runs_total",
			Help: "Runs of the engine (each brings the selected rules up to date), by outcome (succeeded, failed, interrupted).",
		}, []string{"outcome"}),
		runDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ferry_run_duration_seconds",
			Help:    "How long runs of the engine took.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		liveUpdates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_live_updates_total",
			Help: "Live updates of running containers instead of a rebuild, by outcome.",
		}, []string{"rule", "outcome"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_container_restarts_total",
			Help: "Containers of a service that exited and were restarted.",
		}, []string{"service"}),
		crashLoops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_service_crash_loops_total",
			Help: "Crash loops reported of a service's replicas (a replica restarted again and again), each at most once every 30s while it lasts.",
		}, []string{"service"}),
		health: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_service_health",
			Help: "1 for the current health state of each service (starting, healthy, unhealthy…).",
		}, []string{"service", "state"}),
		replicas: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_service_replicas",
			Help: "Replicas of each service running, as last observed.",
		}, []string{"service"}),
		wanted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_service_replicas_wanted",
			Help: "Replicas each service should run (declared, or chosen by its autoscaler), as last observed.",
		}, []string{"service"}),
		scaling: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_scaling_decisions_total",
			Help: "Decisions of the autoscaler to change a service's replicas, by direction (up, down).",
		}, []string{"service", "direction"}),
		scaleValue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_autoscale_value",
			Help: "The per-replica value of its metric that the autoscaler last measured for each service.",
		}, []string{"service", "metric"}),
		scaleTarget: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_autoscale_target",
			Help: "The per-replica value of its metric that the autoscaler of each service aims at.",
		}, []string{"service", "metric"}),
		built:       map[string]bool{},
		started:     map[string]bool{},
		healthState: map[string]string{},
	}
	x.reg.MustRegister(x.ruleRuns, x.ruleDuration, x.cacheHits, x.rebuilds, x.retries, x.skips, x.runs, x.runDuration,
		x.liveUpdates, x.restarts, x.crashLoops, x.health, x.replicas, x.wanted, x.scaling, x.scaleValue, x.scaleTarget)
	return x
}

// Handle counts one engine event.
func (x *Exporter) Handle(e engine.Event) {
	switch e.Kind {
	case engine.EventRuleStart:
		if e.Attempt <= 1 {
			x.started[e.Rule] = true
			if x.built[e.Rule] {
				x.rebuilds.WithLabelValues(x.kind(e.Rule), e.Rule).Inc()
			}
		}
	case engine.EventRuleDone:
		x.built[e.Rule] = true
		x.ran(e, OutcomeSucceeded)
	case engine.EventRuleFail:
		x.ran(e, OutcomeFailed)
	case engine.EventLiveUpdated:
		x.ran(e, OutcomeSucceeded)
		x.liveUpdates.WithLabelValues(e.Rule, OutcomeSucceeded).Inc()
	case engine.EventCached:
		x.built[e.Rule] = true
		x.cacheHits.WithLabelValues(x.kind(e.Rule), e.Rule).Inc()
	case engine.EventRetry:
		x.retries.WithLabelValues(x.kind(e.Rule), e.Rule).Inc()
	case engine.EventSkipped:
		if x.started[e.Rule] {
			x.ran(e, OutcomeInterrupted)
		} else {
			x.skips.WithLabelValues(x.kind(e.Rule), e.Rule).Inc()
		}
	case engine.EventRunDone:
		outcome := OutcomeSucceeded
		switch {
		case e.Summary == nil:
		case e.Summary.Interrupted:
			outcome = OutcomeInterrupted
		case len(e.Summary.Failed) > 0:
			outcome = OutcomeFailed
		}
		x.runs.WithLabelValues(outcome).Inc()
		x.runDuration.Observe(e.Duration.Seconds())
	default:
		if e.Service != nil {
			x.service(e.Kind, e.Service)
		}
	}
}

// service records what a service event reports.
func (x *Exporter) service(kind engine.EventKind, st *engine.ServiceState) {
	switch kind {
	case engine.EventServiceRestart:
		x.restarts.WithLabelValues(st.Name).Inc()
	case engine.EventServiceCrashLoop:
		x.crashLoops.WithLabelValues(st.Name).Inc()
	case engine.EventServiceHealth:
		x.setHealth(st.Name, st.Health)
	case engine.EventServiceReplicas:
		if r := st.Replicas; r != nil {
			x.replicas.WithLabelValues(st.Name).Set(float64(r.Ready))
			x.wanted.WithLabelValues(st.Name).Set(float64(r.Wanted))
		}
	case engine.EventServiceScale:
		d := st.Scale
		if d == nil {
			return
		}
		switch {
		case d.To > d.From:
			x.scaling.WithLabelValues(st.Name, "up").Inc()
		case d.To < d.From:
			x.scaling.WithLabelValues(st.Name, "down").Inc()
		}
		if d.Value != nil {
			x.scaleValue.WithLabelValues(st.Name, d.Metric).Set(*d.Value)
		}
		x.scaleTarget.WithLabelValues(st.Name, d.Metric).Set(d.Target)
	}
}

// ran counts a rule that ran (or failed to work out its key) and ended.
func (x *Exporter) ran(e engine.Event, outcome string) {
	started := x.started[e.Rule]
	delete(x.started, e.Rule)
	kind := x.kind(e.Rule)
	x.ruleRuns.WithLabelValues(kind, e.Rule, outcome).Inc()
	if started {
		x.ruleDuration.WithLabelValues(kind, outcome).Observe(e.Duration.Seconds())
	}
}

// setHealth records the health state of service ("starting", "healthy",
// "unhealthy"…): its series with that state is 1, and the series of its
// previous state goes away.
func (x *Exporter) setHealth(service, state string) {
	if state == "" {
		return
	}
	if old, ok := x.healthState[service]; ok && old != state {
		x.health.DeleteLabelValues(service, old)
	}
	x.healthState[service] = state
	x.health.WithLabelValues(service, state).Set(1)
}

// Handler serves the metrics in the Prometheus exposition formats,
// uncompressed: it is served on loopback, where compressing costs time and
// saves nothing.
func (x *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(x.reg, promhttp.HandlerOpts{DisableCompression: true})
}
