package docker

import (
	"testing"

	"github.com/ferryhq/ferry/builtins/deploy"
)

func TestTargetsFor(t *testing.T) {
	t.Parallel()
	ts := NewTargets(nil, nil, func(string) {})
	owner := deploy.Owner{ID: "w1", Path: "/w"}
	ts.Own(owner)
	local, ok := ts.For(nil).(*Target)
	if !ok || local.owner != owner {
		t.Fatalf("For(nil) = %#v; want the local Target, owned by the workspace", ts.For(nil))
	}
	if again := ts.For(&deploy.Environment{Name: "dev", Target: deploy.TargetDocker}); again != deploy.Target(local) {
		t.Fatal("an environment of the local Engine has another target than the local one")
	}
	env := &deploy.Environment{Name: "prod", Target: deploy.TargetSwarm}
	swarm, ok := ts.For(env).(*SwarmTarget)
	if !ok || swarm.env != env || swarm.owner != owner || swarm.local.owner != owner {
		t.Fatalf("For(prod) = %#v; want a SwarmTarget of prod, owned by the workspace", ts.For(env))
	}
}
