package exporter_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/metrics"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/exporter"
	"github.com/ferryhq/ferry/engine/redact"
)

var kinds = map[string]string{"gen": "task", "api-image": "image", "api": "service", "lint": "task", "flaky": "task"}

// serve starts an Exporter on a free port, fed by the returned bus.
func serve(t *testing.T) (*exporter.Exporter, *exporter.Server, *engine.Bus) {
	t.Helper()
	x := exporter.New(func(rule string) string { return kinds[rule] })
	srv, err := x.Serve(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	if !strings.HasPrefix(srv.Addr, "127.0.0.1:") || strings.HasSuffix(srv.Addr, ":0") {
		t.Fatalf("Addr = %q, want a port on 127.0.0.1", srv.Addr)
	}
	return x, srv, engine.NewBus(redact.New(), x)
}

func scrape(t *testing.T, srv *exporter.Server) *metrics.Samples {
	t.Helper()
	s, err := metrics.Scrape(context.Background(), srv.URL(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func want(t *testing.T, s *metrics.Samples, name string, labels map[string]string, v float64) {
	t.Helper()
	got, err := s.Get(name, labels)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if got != v {
		t.Errorf("%s%v = %v, want %v", name, labels, got, v)
	}
}

func TestRunsThroughTheBus(t *testing.T) {
	_, srv, bus := serve(t)
	sec := time.Second
	// First run: everything is built, lint fails, flaky needs a retry.
	for _, e := range []engine.Event{
		{Kind: engine.EventRunStart},
		{Kind: engine.EventRuleStart, Rule: "gen", Attempt: 1},
		{Kind: engine.EventRuleDone, Rule: "gen", Duration: 30 * time.Millisecond},
		{Kind: engine.EventRuleStart, Rule: "api-image", Attempt: 1},
		{Kind: engine.EventRuleDone, Rule: "api-image", Duration: 2 * sec},
		{Kind: engine.EventRuleStart, Rule: "lint", Attempt: 1},
		{Kind: engine.EventRuleFail, Rule: "lint", Duration: 200 * time.Millisecond},
		{Kind: engine.EventSkipped, Rule: "api", Reason: "dep lint did not succeed"},
		{Kind: engine.EventRuleStart, Rule: "flaky", Attempt: 1},
		{Kind: engine.EventRetry, Rule: "flaky", Attempt: 1},
		{Kind: engine.EventRuleStart, Rule: "flaky", Attempt: 2},
		{Kind: engine.EventRuleDone, Rule: "flaky", Duration: 40 * time.Millisecond},
		{Kind: engine.EventRunDone, Duration: 3 * sec, Summary: &engine.Summary{Failed: []string{"lint"}}},
	} {
		bus.Emit(e)
	}
	s := scrape(t, srv)
	want(t, s, "ferry_rule_runs_total", map[string]string{"rule": "gen", "kind": "task", "outcome": "succeeded"}, 1)
	want(t, s, "ferry_rule_runs_total", map[string]string{"rule": "api-image", "kind": "image", "outcome": "succeeded"}, 1)
	want(t, s, "ferry_rule_runs_total", map[string]string{"rule": "lint", "outcome": "failed"}, 1)
	want(t, s, "ferry_rule_runs_total", map[string]string{"rule": "flaky", "outcome": "succeeded"}, 1)
	want(t, s, "ferry_rule_retries_total", map[string]string{"rule": "flaky"}, 1)
	want(t, s, "ferry_rule_skips_total", map[string]string{"rule": "api", "kind": "service"}, 1)
	want(t, s, "ferry_runs_total", map[string]string{"outcome": "failed"}, 1)
	want(t, s, "ferry_rule_duration_seconds_count", map[string]string{"kind": "task", "outcome": "succeeded"}, 2)
	want(t, s, "ferry_rule_duration_seconds_bucket", map[string]string{"kind": "task", "outcome": "succeeded", "le": "0.025"}, 0)
	want(t, s, "ferry_rule_duration_seconds_bucket", map[string]string{"kind": "task", "outcome": "succeeded", "le": "0.05"}, 2)
	want(t, s, "ferry_rule_duration_seconds_sum", map[string]string{"kind": "image", "outcome": "succeeded"}, 2)
	if slices.Contains(s.Names(), "ferry_rule_rebuilds_total") {
		t.Error("a first build counted as a rebuild")
	}

	// Second run: gen changed and is rebuilt, api-image is up to date, and
	// lint is interrupted part way.
	for _, e := range []engine.Event{
		{Kind: engine.EventRuleStart, Rule: "gen", Attempt: 1},
		{Kind: engine.EventRuleDone, Rule: "gen", Duration: 20 * time.Millisecond},
		{Kind: engine.EventCached, Rule: "api-image"},
		{Kind: engine.EventRuleStart, Rule: "web-image", Attempt: 1},
		{Kind: engine.EventLiveUpdated, Rule: "web-image", Duration: 80 * time.Millisecond},
		{Kind: engine.EventRuleStart, Rule: "lint", Attempt: 1},
		{Kind: engine.EventSkipped, Rule: "lint", Reason: "interrupted after 1s; it runs again next time"},
		{Kind: engine.EventRunDone, Duration: sec, Summary: &engine.Summary{Interrupted: true}},
	} {
		bus.Emit(e)
	}
	s = scrape(t, srv)
	want(t, s, "ferry_rule_runs_total", map[string]string{"rule": "gen", "outcome": "succeeded"}, 2)
	want(t, s, "ferry_rule_rebuilds_total", map[string]string{"rule": "gen", "kind": "task"}, 1)
	want(t, s, "ferry_rule_cache_hits_total", map[string]string{"rule": "api-image", "kind": "image"}, 1)
	want(t, s, "ferry_rule_runs_total", map[string]string{"rule": "lint", "outcome": "interrupted"}, 1)
	if n, _ := s.Sum("ferry_rule_skips_total", map[string]string{"rule": "lint"}); n != 0 {
		t.Errorf("an interrupted run of lint counted as a skip")
	}
	want(t, s, "ferry_runs_total", map[string]string{"outcome": "interrupted"}, 1)
	want(t, s, "ferry_run_duration_seconds_count", nil, 2)
	want(t, s, "ferry_live_updates_total", map[string]string{"rule": "web-image", "outcome": "succeeded"}, 1)
	want(t, s, "ferry_rule_runs_total", map[string]string{"rule": "web-image", "outcome": "succeeded"}, 1)
	if n, _ := s.Sum("ferry_rule_rebuilds_total", nil); n != 1 {
		t.Errorf("rebuilds = %v, want only gen's", n)
	}
}

// What the service events report: restarts and crash loops counted, the
// current health only, replicas, and the autoscaler's decisions, measure
// and target (also when it keeps the count).
func TestServiceEvents(t *testing.T) {
	x, srv, _ := serve(t)
	bus := engine.NewBus(redact.New(), x)
	svc := func(kind engine.EventKind, st engine.ServiceState) { bus.Emit(engine.Event{Kind: kind, Service: &st}) }
	value := func(v float64) *float64 { return &v }
	svc(engine.EventServiceRestart, engine.ServiceState{Name: "api", Replica: "api-1", Restarts: 1})
	svc(engine.EventServiceRestart, engine.ServiceState{Name: "api", Replica: "api-1", Restarts: 2})
	svc(engine.EventServiceCrashLoop, engine.ServiceState{Name: "api", Replica: "api-1", Restarts: 3, Exit: &engine.ExitState{Code: 3}})
	svc(engine.EventServiceHealth, engine.ServiceState{Name: "api", Health: "starting"})
	svc(engine.EventServiceHealth, engine.ServiceState{Name: "api", Health: "healthy"})
	svc(engine.EventServiceHealth, engine.ServiceState{Name: "db", Health: "unhealthy"})
	svc(engine.EventServiceReplicas, engine.ServiceState{Name: "api", Replicas: &engine.ReplicaCount{Ready: 3, Wanted: 4}})
	svc(engine.EventServiceScale, engine.ServiceState{Name: "api", Scale: &engine.ScaleDecision{Metric: "cpu", Target: 50, From: 1, To: 1}})
	svc(engine.EventServiceScale, engine.ServiceState{Name: "api", Scale: &engine.ScaleDecision{Metric: "cpu", Value: value(140), Target: 50, From: 1, To: 3}})
	svc(engine.EventServiceScale, engine.ServiceState{Name: "api", Scale: &engine.ScaleDecision{Metric: "cpu", Value: value(30), Target: 50, From: 3, To: 2}})
	svc(engine.EventServiceScale, engine.ServiceState{Name: "api", Scale: &engine.ScaleDecision{Metric: "cpu", Value: value(48), Target: 50, From: 2, To: 2}})
	bus.Emit(engine.Event{Kind: engine.EventLiveUpdated, Rule: "api-image"})
	s := scrape(t, srv)
	want(t, s, "ferry_container_restarts_total", map[string]string{"service": "api"}, 2)
	want(t, s, "ferry_service_crash_loops_total", map[string]string{"service": "api"}, 1)
	want(t, s, "ferry_service_health", map[string]string{"service": "api", "state": "healthy"}, 1)
	if all, _ := s.All("ferry_service_health", map[string]string{"service": "api"}); len(all) != 1 {
		t.Errorf("api has %d health series, want only the current state: %v", len(all), all)
	}
	want(t, s, "ferry_service_health", map[string]string{"service": "db"}, 1)
	want(t, s, "ferry_service_replicas", map[string]string{"service": "api"}, 3)
	want(t, s, "ferry_service_replicas_wanted", map[string]string{"service": "api"}, 4)
	want(t, s, "ferry_scaling_decisions_total", map[string]string{"direction": "up"}, 1)
	want(t, s, "ferry_scaling_decisions_total", map[string]string{"direction": "down"}, 1)
	want(t, s, "ferry_autoscale_value", map[string]string{"service": "api", "metric": "cpu"}, 48)
	want(t, s, "ferry_autoscale_target", map[string]string{"service": "api", "metric": "cpu"}, 50)
	want(t, s, "ferry_live_updates_total", map[string]string{"rule": "api-image", "outcome": "succeeded"}, 1)
}

func TestServeErrors(t *testing.T) {
	_, srv, _ := serve(t)
	_, port, _ := net.SplitHostPort(srv.Addr)
	n, _ := strconv.Atoi(port)
	x := exporter.New(nil)
	_, err := x.Serve(n)
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "--metrics-port") {
		t.Errorf("a port in use: got %v", err)
	}
	// Without kinds, the label is empty.
	engine.NewBus(redact.New(), x).Emit(engine.Event{Kind: engine.EventCached, Rule: "r"})
	hs := httptest.NewServer(x.Handler())
	defer hs.Close()
	s, err := metrics.Scrape(context.Background(), hs.URL, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want(t, s, "ferry_rule_cache_hits_total", map[string]string{"kind": "", "rule": "r"}, 1)

	resp, err := http.Get("http://" + srv.Addr + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /other: %s, want 404", resp.Status)
	}
}
