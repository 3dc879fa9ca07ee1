package scale

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
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

// record returns a bus that records each event it gets as a line.
func record(lines *[]string) *engine.Bus {
	return engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) {
		line := fmt.Sprintf("%s %s", e.Kind, e.Level)
		if st := e.Service; st != nil {
			line += " " + st.Name
			if r := st.Replicas; r != nil {
				line += fmt.Sprintf(" %d/%d", r.Ready, r.Wanted)
			}
			if d := st.Scale; d != nil {
				v := "none"
				if d.Value != nil {
					v = fmt.Sprint(*d.Value)
				}
				line += fmt.Sprintf(" %s %s/%g %d→%d", d.Metric, v, d.Target, d.From, d.To)
			}
		}
		if e.Text != "" {
			line += ": " + e.Text
		}
		*lines = append(*lines, line)
	}))
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
	var events []string
	l := &Loop{Scaler: f, Bus: record(&events)}
	c := NewController("api", &Policy{Min: 1, Max: 5, Metric: "queue_depth", Target: 10, Path: "/metrics", Window: 1})
	var counted engine.ReplicaCount
	if err := l.step(context.Background(), c, &counted); err != nil {
		t.Fatal(err)
	}
	// One replica answers 35 (its label sets summed); two run: ceil(2 × 3.5) = 7, max 5.
	if len(f.scaled) != 1 || f.scaled[0] != 5 {
		t.Fatalf("scaled %v, want [5]", f.scaled)
	}
	want := []string{
		"service.replicas  api 2/5",
		"service.scale info api queue_depth 35/10 2→5: 2 → 5 replicas: queue_depth 35 per replica over 1ns, target queue_depth 10",
		"service.replicas  api 5/5",
	}
	if !slices.Equal(events, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(events, "\n"), strings.Join(want, "\n"))
	}

	// Within the tolerance, it keeps the count, and says so for the record.
	f.replicas = f.replicas[:1]
	f.replicas[0] = serve(t, "# TYPE queue_depth gauge\nqueue_depth 10.5\n")
	c = NewController("api", c.Policy)
	events, counted = nil, engine.ReplicaCount{}
	if err := l.step(context.Background(), c, &counted); err != nil {
		t.Fatal(err)
	}
	want = []string{"service.replicas  api 1/1", "service.scale  api queue_depth 10.5/10 1→1"}
	if !slices.Equal(events, want) || len(f.scaled) != 1 {
		t.Errorf("events:\n%s\nwant:\n%s\nscaled %v", strings.Join(events, "\n"), strings.Join(want, "\n"), f.scaled)
	}
}

func TestLoopMissingMetric(t *testing.T) {
	f := &fakeScaler{replicas: []Replica{serve(t, "# TYPE http_requests_total counter\nhttp_requests_total 3\ngo_goroutines 7\n")}}
	l := &Loop{Scaler: f}
	c := NewController("api", &Policy{Min: 1, Max: 5, Metric: "http_request_total", Target: 10, Path: "/metrics", Window: 1})
	err := l.step(context.Background(), c, &engine.ReplicaCount{})
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
	l := &Loop{Scaler: f}
	c := NewController("api", &Policy{Min: 2, Max: 5, Metric: "x_total", Target: 10, Path: "/metrics", Window: 1})
	err := l.step(context.Background(), c, &engine.ReplicaCount{})
	if err == nil || !strings.Contains(err.Error(), "no replica of api runs, so there is nothing to scale") || len(f.scaled) != 0 {
		t.Errorf("got %v and scaled %v, want an error and no scaling", err, f.scaled)
	}
}

// elsewhere is a Scaler of a service that something else scales.
type elsewhere struct{ fakeScaler }

func (elsewhere) CPU(context.Context, string) (int, map[string]float64, error) {
	return 0, nil, fmt.Errorf("a HorizontalPodAutoscaler scales it: %w", ErrScaledElsewhere)
}

// A service that something else scales (a Kubernetes HPA) is left to
// it: the loop says so once, at info level, scales nothing, and ends.
func TestLoopEndsWhenScaledElsewhere(t *testing.T) {
	var events []string
	f := &elsewhere{}
	l := &Loop{Scaler: f, Bus: record(&events)}
	done := make(chan error, 1)
	go func() {
		done <- l.Run(t.Context(), "api", &Policy{Min: 1, Max: 5, Metric: CPU, Target: 50, Window: time.Second})
	}()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if len(f.scaled) != 0 {
		t.Errorf("scaled to %v", f.scaled)
	}
	want := []string{"log info: autoscale api: a HorizontalPodAutoscaler scales it: scaled elsewhere"}
	if !slices.Equal(events, want) {
		t.Errorf("events %q, want %q", events, want)
	}
}
