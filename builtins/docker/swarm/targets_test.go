package swarm

import (
	"testing"

	"github.com/ferryhq/ferry/builtins/deploy"
)

func TestTargetsFor(t *testing.T) {
	t.Parallel()
	ts := NewTargets(nil, nil, func(string) {})
	owner := deploy.Owner{ID: "w1", Path: "/w"}
	ts.Own(owner)
	env := &deploy.Environment{Name: "prod", Target: deploy.TargetSwarm}
	s, ok := ts.For(env).(*Target)
	if !ok || s.env != env || s.owner != owner {
		t.Fatalf("For(prod) = %#v; want a Target of prod, owned by the workspace", ts.For(env))
	}
}
