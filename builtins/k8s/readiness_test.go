package k8s

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// `up --wait` reads the pods' readiness: a failing readiness probe is
// reported with the kubelet's reason, an image the node cannot pull at
// with the pull error as soon as the pull fails ("unhealthy", not "not
// healthy after" the wait's timeout).
func TestWaitReadsReadiness(t *testing.T) {
	ctx, ns, _, ref := onNode(t, 3*time.Minute)
	tg := targetIn(ns, ownerA)

	// The probe asks a port nothing listens on: the pod runs, never ready.
	d := service("notready", ref, 1)
	d.Spec.Health = &deploy.HealthCheck{Kind: "tcp", Port: 8081, Interval: time.Second, Timeout: time.Second, Retries: 2}
	tg.applyOnly = true
	if err := tg.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	tg.applyOnly = false
	waitPods(t, ctx, tg, d)
	err := deploy.WaitHealthy(ctx, tg, d, 20*time.Second, io.Discard)
	t.Logf("not ready: %v", err)
	if err == nil || !strings.Contains(err.Error(), "Readiness probe failed") || !strings.Contains(err.Error(), "8081") {
		t.Errorf("a pod whose readiness probe fails: %v", err)
	}

	// An image no registry serves: unhealthy as soon as the pull fails.
	bad := service("unpullable", "127.0.0.1:1/ferry/none:1", 1)
	tg.applyOnly = true
	if err := tg.Deploy(ctx, bad, io.Discard); err != nil {
		t.Fatal(err)
	}
	tg.applyOnly = false
	waitPods(t, ctx, tg, bad)
	err = deploy.WaitHealthy(ctx, tg, bad, 2*time.Minute, io.Discard)
	t.Logf("unpullable: %v", err)
	if err == nil || !strings.Contains(err.Error(), "cannot get its image") || !strings.Contains(err.Error(), "unhealthy") {
		t.Errorf("a pod whose image cannot be pulled: %v", err)
	}
}

// waitPods waits until the Deployment of d has made its pods, as the
// rollout wait of an up does before --wait.
func waitPods(t *testing.T, ctx context.Context, tg *Target, d *deploy.Deployment) {
	t.Helper()
	for {
		reps, err := tg.Replicas(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) > 0 {
			return
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			t.Fatalf("no pod of %s: %v", d.Spec.Name, err)
		}
	}
}
