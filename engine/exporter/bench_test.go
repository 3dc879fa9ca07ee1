package exporter_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/metrics"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/exporter"
	"github.com/ferryhq/ferry/engine/redact"
)

// benchRules is the number of rules the benchmarked exporter has seen run.
const benchRules = 1000

// busyExporter serves the metrics of a workspace of benchRules tasks that
// all ran once and were then all found up to date: 1,000 rule runs, 1,000
// cache hits, a series for each.
func busyExporter(b *testing.B) *exporter.Server {
	b.Helper()
	x := exporter.New(func(string) string { return "task" })
	bus := engine.NewBus(redact.New(), x)
	for run := range 2 {
		for i := range benchRules {
			rule := fmt.Sprintf("chain%02d/task%02d", i/20, i%20)
			if run == 0 {
				bus.Emit(engine.Event{Kind: engine.EventRuleStart, Rule: rule, Attempt: 1})
				bus.Emit(engine.Event{Kind: engine.EventRuleDone, Rule: rule, Duration: time.Duration(i) * time.Millisecond})
			} else {
				bus.Emit(engine.Event{Kind: engine.EventCached, Rule: rule})
			}
		}
		bus.Emit(engine.Event{Kind: engine.EventRunDone, Duration: time.Second, Summary: &engine.Summary{}})
	}
	srv, err := x.Serve(0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return srv
}

// reportPercentiles adds the p50 and p90 of the timings to the results.
func reportPercentiles(b *testing.B, took []time.Duration) {
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*9/10].Microseconds())/1000, "p90-ms")
}

// BenchmarkGetMetrics times what a Prometheus server pays to scrape ferry:
// one GET of /metrics, body read.
func BenchmarkGetMetrics(b *testing.B) {
	srv := busyExporter(b)
	took := make([]time.Duration, 0, b.N)
	size := 0
	for b.Loop() {
		start := time.Now()
		resp, err := http.Get(srv.URL())
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("GET: %v %s", err, resp.Status)
		}
		took = append(took, time.Since(start))
		size = len(body)
	}
	b.ReportMetric(float64(size), "body-bytes")
	reportPercentiles(b, took)
}

// BenchmarkScrapeMetrics times metrics.scrape of ferry's own metrics: the
// GET and the parsing into queryable samples.
func BenchmarkScrapeMetrics(b *testing.B) {
	srv := busyExporter(b)
	took := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		s, err := metrics.Scrape(context.Background(), srv.URL(), 5*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
		if n, err := s.Sum("ferry_rule_runs_total", nil); err != nil || n != benchRules {
			b.Fatalf("scraped %v rule runs (%v), want %d", n, err, benchRules)
		}
	}
	reportPercentiles(b, took)
}
