package docker

// Live updates take turns with the other changes of a service (rollouts,
// scale steps) through its lock.

import (
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/docker/objects"
)

// A live update waits while another change of the service holds its
// lock: no file is synced until the lock is released.
func TestLiveUpdateWaitsForServiceLock(t *testing.T) {
	t.Parallel()
	w := newLiveWorkspace(t)
	wantOutcome(t, w.liveRun(true), "first run", []string{"img", "web"}, nil)
	_, addr := w.container()
	const file = "/file?p=/srv/static/index.html"
	unlock := objects.LockServices(w.Project, "web")
	w.Write("app/static/index.html", "v2")
	done := make(chan dockertest.RunResult, 1)
	go func() { done <- w.liveRun(true) }()
	// Longer than a sync takes.
	select {
	case r := <-done:
		unlock()
		t.Fatalf("the live update ended (%v) while a change of web held its lock\n%s", r.Err, r.Output("img"))
	case <-time.After(3 * time.Second):
	}
	if got := httpBody(t, addr+file); got != "0:0 v1" {
		t.Errorf("index.html is %q while a change of web held its lock, want the built v1", got)
	}
	unlock()
	wantOutcome(t, (<-done), "sync", nil, []string{"img"})
	if got := httpBody(t, addr+file); got != "1234:5678 v2" {
		t.Errorf("index.html is %q after the live update, want v2", got)
	}
}
