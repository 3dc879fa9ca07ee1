package swarm

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/metrics"
	"github.com/ferryhq/ferry/builtins/scale"
	"github.com/ferryhq/ferry/engine"
)

// On a real single-node swarm, the autoscaler's Scaler sets the swarm
// service's replica count, reads its tasks' CPU from the streaming stats,
// and ferry up keeps the count it chose within min and max.
func TestSwarmScaler(t *testing.T) {
	t.Parallel()
	target, project, image := swarmProject(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := &deploy.Deployment{Project: project, Image: image, Key: engine.Digest{1}, Spec: &deploy.ServiceSpec{
		Name: "api", Replicas: 1, Restart: "unless-stopped", Ports: []deploy.Port{{Container: 8080, Protocol: "tcp"}},
		Autoscale: &scale.Policy{Min: 1, Max: 3, Metric: scale.CPU, Target: 50, Window: time.Second},
	}}
	if err := target.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	sc := target.NewScaler(project, "", nil, nil)
	defer sc.Close()
	if err := sc.Scale(ctx, "api", 3); err != nil {
		t.Fatal(err)
	}
	// Every task's CPU, once its stats stream has had two frames.
	deadline := time.Now().Add(time.Minute)
	for {
		n, cpu, err := sc.CPU(ctx, "api")
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 && time.Now().After(deadline) {
			t.Fatalf("%d tasks run, want 3", n)
		}
		if len(cpu) == 3 {
			for name, pct := range cpu {
				if pct < 0 || pct > 200 {
					t.Errorf("%s: CPU %.1f%%, want 0-200 on this 2-core machine", name, pct)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CPU of %d tasks after a minute, want 3: %v", len(cpu), cpu)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Each task's metrics, through its own published host port.
	reps, err := sc.Replicas(ctx, "api", 8080)
	if err != nil || len(reps) != 3 {
		t.Fatalf("replicas %+v, %v; want 3", reps, err)
	}
	seen := map[string]bool{}
	for _, r := range reps {
		if r.AddrErr != nil || seen[r.Addr] {
			t.Fatalf("replica %s: address %q (%v), want a host port of its own", r.Name, r.Addr, r.AddrErr)
		}
		seen[r.Addr] = true
		m, err := metrics.Scrape(ctx, "http://"+r.Addr+"/metrics", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Get("http_requests_total", nil); err != nil {
			t.Errorf("replica %s: %v", r.Name, err)
		}
	}
	if ok, why, err := target.Current(ctx, d); err != nil || !ok {
		t.Errorf("with 3 replicas within 1-3, Current says %v (%s, %v)", ok, why, err)
	}
	// ferry up again keeps the 3 replicas.
	if err := target.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	if sv, err := target.service(ctx, project, "api"); err != nil || sv == nil || sv.Replicas != 3 {
		t.Fatalf("after ferry up, the swarm service is %+v (%v), want 3 replicas", sv, err)
	}
	if err := sc.Scale(ctx, "api", 1); err != nil {
		t.Fatal(err)
	}
	if sv, err := target.service(ctx, project, "api"); err != nil || sv == nil || sv.Replicas != 1 {
		t.Fatalf("after scaling to 1, the swarm service is %+v (%v)", sv, err)
	}
}
