package docker

// Restarts and live updates take turns with the other changes of a
// service (rollouts, scale steps) through its lock.

import (
	"context"
	"testing"
	"time"
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
	unlock := serviceLocks.lock(f.project, "web")
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

// A live update waits while another change of the service holds its
// lock: no file is synced until the lock is released.
func TestLiveUpdateWaitsForServiceLock(t *testing.T) {
	t.Parallel()
	w := newLiveWorkspace(t)
	w.liveRun(true).wantOutcome(t, "first run", []string{"img", "web"}, nil)
	_, addr := w.container()
	const file = "/file?p=/srv/static/index.html"
	unlock := serviceLocks.lock(w.project, "web")
	w.write("app/static/index.html", "v2")
	done := make(chan runResult, 1)
	go func() { done <- w.liveRun(true) }()
	// Longer than a sync takes.
	select {
	case r := <-done:
		unlock()
		t.Fatalf("the live update ended (%v) while a change of web held its lock\n%s", r.err, r.output("img"))
	case <-time.After(3 * time.Second):
	}
	if got := httpBody(t, addr+file); got != "0:0 v1" {
		t.Errorf("index.html is %q while a change of web held its lock, want the built v1", got)
	}
	unlock()
	(<-done).wantOutcome(t, "sync", nil, []string{"img"})
	if got := httpBody(t, addr+file); got != "1234:5678 v2" {
		t.Errorf("index.html is %q after the live update, want v2", got)
	}
}
