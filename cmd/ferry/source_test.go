package main

import "testing"

// A NUL byte once ended ferry.star silently, so `up` removed the services
// declared after it: every command refuses the file instead.
func TestNULInFerryStarRefused(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": "task(name = \"a\", cmd = \"true\")\n\x00\ntask(name = \"b\", cmd = \"true\")\n",
	})
	for _, cmd := range []string{"plan", "run", "up"} {
		r := ws.ferry(t, cmd)
		r.wantCode(t, exitConfig)
		r.wantStderr(t, "ferry.star:2:1: the file holds a NUL byte")
	}
}
