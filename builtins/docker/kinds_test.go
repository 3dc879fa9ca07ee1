package docker

import (
	"testing"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/local"
	"github.com/ferryhq/ferry/builtins/docker/swarm"
)

// The local Engine's target is made once, and is that of no environment
// and of every environment of the local Engine; a swarm environment gets
// a Swarm target.
func TestTargetKinds(t *testing.T) {
	t.Parallel()
	ts := deploy.NewTargetMakers(deploy.TargetSetup{Warn: func(string) {}}, TargetKinds(nil)...)
	l, ok := ts.For(nil).(*local.Target)
	if !ok {
		t.Fatalf("For(nil) = %#v; want the local Target", ts.For(nil))
	}
	if again := ts.For(&deploy.Environment{Name: "dev", Target: deploy.TargetDocker}); again != deploy.Target(l) {
		t.Fatal("an environment of the local Engine has another target than the local one")
	}
	if s, ok := ts.For(&deploy.Environment{Name: "prod", Target: deploy.TargetSwarm}).(*swarm.Target); !ok {
		t.Fatalf("For(prod) = %#v; want a Swarm Target", s)
	}
}
