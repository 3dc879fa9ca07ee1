package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/metrics"
)

// metricsStar has a run-time action that asserts on ferry's own metrics,
// as docs/metrics.md shows.
const metricsStar = `
task(name = "build", cmd = "cat in.txt > out.txt", srcs = ["in.txt"], outs = ["out.txt"])

def _check(ctx):
    addr = ctx.read(".ferry/metrics.addr").strip()
    m = metrics.scrape("http://%s/metrics" % addr)
    runs = m.get("ferry_rule_runs_total", labels = {"rule": "build", "outcome": "succeeded"})
    print("build ran %d times" % runs)

task(name = "check", run = _check, deps = ["build"])
`

// ferry watch serves its own metrics while it runs, at the address written
// to .ferry/metrics.addr, and removes the file when it stops.
func TestWatchServesMetrics(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": metricsStar, "in.txt": "v1\n"})
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch")...)
	eventually(t, "the first run and the watch to start", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	if !strings.Contains(p.stderr.String(), "build ran 1 times") {
		t.Fatalf("the action did not read ferry's metrics:\n%s", p.stderr.String())
	}
	addr := strings.TrimSpace(ws.read(t, ".ferry/metrics.addr"))
	if !strings.Contains(p.stderr.String(), "serving ferry's metrics on http://"+addr+"/metrics") {
		t.Errorf("the address %s is not logged:\n%s", addr, p.stderr.String())
	}
	scrape := func() *metrics.Samples {
		t.Helper()
		s, err := metrics.Scrape(context.Background(), "http://"+addr+"/metrics", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := scrape()
	for _, rule := range []string{"build", "check"} {
		if n, err := s.Get("ferry_rule_runs_total", map[string]string{"rule": rule, "kind": "task", "outcome": "succeeded"}); err != nil || n != 1 {
			t.Errorf("runs of %s: %v, %v; want 1", rule, n, err)
		}
	}
	if n, err := s.Get("ferry_runs_total", map[string]string{"outcome": "succeeded"}); err != nil || n != 1 {
		t.Errorf("runs: %v, %v; want 1", n, err)
	}

	// A change rebuilds build, and check, which depends on it.
	ws.write(t, "in.txt", "v2\n")
	eventually(t, "the change to run build and check", func() bool {
		return strings.Contains(p.stderr.String(), "build ran 2 times")
	})
	s = scrape()
	if n, err := s.Get("ferry_rule_rebuilds_total", map[string]string{"rule": "build"}); err != nil || n != 1 {
		t.Errorf("rebuilds of build: %v, %v; want 1", n, err)
	}

	p.cmd.Process.Signal(os.Interrupt)
	p.wait(t).wantCode(t, 130)
	if ws.exists(".ferry/metrics.addr") {
		t.Error(".ferry/metrics.addr is left after the watch stopped")
	}
}

// --metrics-port -1 serves no metrics.
func TestWatchWithoutMetrics(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": `task(name = "t", cmd = "true")` + "\n"})
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch", "--metrics-port", "-1")...)
	eventually(t, "the watch to start", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	if ws.exists(".ferry/metrics.addr") || strings.Contains(p.stderr.String(), "serving ferry's metrics") {
		t.Errorf("metrics served with --metrics-port -1:\n%s", p.stderr.String())
	}
	p.cmd.Process.Signal(os.Interrupt)
	p.wait(t).wantCode(t, 130)
}

// ferry up --follow serves the metrics of its run while it follows: the
// image and the service it brought up are counted, by kind, and with
// --wait the health it waited for.
func TestUpFollowServesMetrics(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "web", image = "app-image", health = health.tcp(8080, interval = "200ms", start_period = "1m"))`)
	p := dw.start(t, append(slices.Clone(jsonArgs), "--project", dw.project, "up", "--wait", "--follow")...)
	eventually(t, "the project to be up and followed", func() bool {
		return strings.Contains(p.stderr.String(), "following project "+dw.project)
	})
	addr := strings.TrimSpace(dw.read(t, ".ferry/metrics.addr"))
	s, err := metrics.Scrape(context.Background(), "http://"+addr+"/metrics", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for rule, kind := range map[string]string{"app-bin": "task", "app-image": "image", "web": "service"} {
		if n, err := s.Get("ferry_rule_runs_total", map[string]string{"rule": rule, "kind": kind, "outcome": "succeeded"}); err != nil || n != 1 {
			t.Errorf("runs of %s: %v, %v; want 1", rule, n, err)
		}
	}
	if n, err := s.Get("ferry_service_health", map[string]string{"service": "web", "state": "healthy"}); err != nil || n != 1 {
		t.Errorf("health of web: %v, %v; want healthy", n, err)
	}
	// The follower samples the replicas of every service, autoscaled or not.
	eventually(t, "the replicas of web in the metrics", func() bool {
		s, err := metrics.Scrape(context.Background(), "http://"+addr+"/metrics", 5*time.Second)
		if err != nil {
			return false
		}
		n, err := s.Get("ferry_service_replicas", map[string]string{"service": "web"})
		return err == nil && n == 1
	})
	p.cmd.Process.Signal(os.Interrupt)
	p.wait(t).wantCode(t, 130)
	if dw.exists(".ferry/metrics.addr") {
		t.Error(".ferry/metrics.addr is left after ferry up --follow stopped")
	}
}
