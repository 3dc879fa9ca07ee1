package local

// Restarts take turns with the other changes of a service (rollouts,
// scale steps) through its lock.

import (
	"context"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/docker/objects"
)

// A restart waits while another change of the service holds its lock:
// the replica is not restarted until the lock is released.
func TestRestartWaitsForServiceLock(t *testing.T) {
	t.Parallel()
	f := newRolloutFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var log syncBuilder
	if err := f.target.Deploy(ctx, f.deployment(1, 1, map[string]string{"VERSION": "v1"}), &log); err != nil {
		t.Fatalf("deploy: %v\n%s", err, log.String())
	}
	started := func() time.Time {
		t.Helper()
		st, err := f.target.c.InspectContainer(ctx, f.project+"-web-1")
		if err != nil {
			t.Fatal(err)
		}
		return st.StartedAt
	}
	before := started()
	unlock := objects.LockServices(f.project, "web")
	done := make(chan error, 1)
	go func() { done <- f.target.Restart(ctx, f.project, []string{"web"}, nil, &log) }()
	// Longer than a restart takes: the server ignores SIGTERM, so the
	// Engine kills it after its stop grace (5 s), and starts it again.
	select {
	case err := <-done:
		unlock()
		t.Fatalf("Restart returned (%v) while a change of web held its lock\n%s", err, log.String())
	case <-time.After(8 * time.Second):
	}
	if now := started(); !now.Equal(before) {
		t.Errorf("web-1 was restarted (started %s, was %s) while a change of web held its lock", now, before)
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatalf("restart: %v\n%s", err, log.String())
	}
	if now := started(); !now.After(before) {
		t.Errorf("web-1 started %s, want after %s: not restarted", now, before)
	}
}
