package scale

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeScaler serves the replicas of one service from httptest servers and
// records what the loop asks.
type fakeScaler struct {
	replicas []Replica
	scaled   []int
}

func (f *fakeScaler) Replicas(context.Context, string, int) ([]Replica, error) {
	return f.replicas, nil
}
func (f *fakeScaler) CPU(context.Context, string) (int, map[string]float64, error) {
	return 0, nil, errors.New("not used")
}
func (f *fakeScaler) Scale(_ context.Context, _ string, n int) error {
	f.scaled = append(f.scaled, n)
	return nil
}

// hooks records the exporter hooks.
type hooks struct{ calls []string }

func (h *hooks) Scaled(s string, from, to int) {
	h.calls = append(h.calls, fmt.Sprintf("scaled %s %d→%d", s, from, to))
}
func (h *hooks) SetReplicas(s string, n int) {
	h.calls = append(h.calls, fmt.Sprintf("replicas %s %d", s, n))
}

// serve starts a replica that serves body as its metrics.
func serve(t *testing.T, body string) Replica {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return Replica{Name: srv.Listener.Addr().String(), Addr: srv.Listener.Addr().String()}
}

func TestLoopScrapesDecidesAndCounts(t *testing.T) {
	f := &fakeScaler{replicas: []Replica{
		serve(t, "# TYPE queue_depth gauge\nqueue_depth{queue=\"a\"} 20\nqueue_depth{queue=\"b\"} 15\n"),
		{Name: "starting", AddrErr: errors.New("not reachable yet")},
	}}
	var h hooks
	var logged []string
	l := &Loop{Scaler: f, Hooks: &h, Log: func(level, s, text string) { logged = append(logged, level+" "+s+": "+text) }}
	c := NewController("api", &Policy{Min: 1, Max: 5, Metric: "queue_depth", Target: 10, Path: "/metrics", Window: 1})
	if err := l.step(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	// One replica answers 35 (its label sets summed); two run: ceil(2 × 3.5) = 7, max 5.
	if len(f.scaled) != 1 || f.scaled[0] != 5 {
		t.Fatalf("scaled %v, want [5]", f.scaled)
	}
	if want := "info api: 2 → 5 replicas: queue_depth 35 per replica over 1ns, target queue_depth 10"; len(logged) != 1 || logged[0] != want {
		t.Errorf("logged %q, want %q", logged, want)
	}
	if got := strings.Join(h.calls, ", "); got != "replicas api 2, scaled api 2→5, replicas api 5" {
		t.Errorf("hooks: %s", got)
	}
}

func TestLoopMissingMetric(t *testing.T) {
	f := &fakeScaler{replicas: []Replica{serve(t, "# TYPE http_requests_total counter\nhttp_requests_total 3\ngo_goroutines 7\n")}}
	l := &Loop{Scaler: f, Log: func(string, string, string) {}}
	c := NewController("api", &Policy{Min: 1, Max: 5, Metric: "http_request_total", Target: 10, Path: "/metrics", Window: 1})
	err := l.step(context.Background(), c)
	for _, want := range []string{
		"cannot read http_request_total from any replica",
		"no metric named http_request_total",
		"did you mean http_requests_total?",
		"it has go_goroutines, http_requests_total",
		`autoscale(metric = "http_request_total") names a metric the service does not serve`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to say %q", err, want)
		}
	}
	if len(f.scaled) != 0 {
		t.Errorf("scaled %v without a metric", f.scaled)
	}
}

// The loop scales what runs; it never starts a service none of whose
// replicas runs (ferry up and the restart policy do).
func TestLoopDoesNotStartAStoppedService(t *testing.T) {
	f := &fakeScaler{}
	l := &Loop{Scaler: f, Log: func(string, string, string) {}}
	c := NewController("api", &Policy{Min: 2, Max: 5, Metric: "x_total", Target: 10, Path: "/metrics", Window: 1})
	err := l.step(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "no replica of api runs, so there is nothing to scale") || len(f.scaled) != 0 {
		t.Errorf("got %v and scaled %v, want an error and no scaling", err, f.scaled)
	}
}
