package docker

import (
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/local"
	"github.com/ferryhq/ferry/builtins/docker/swarm"
)

// TargetKinds returns the kinds of target of the Docker domain, which
// deploy through the Engine client c: deploy.TargetDocker, containers of
// the local Engine (local.Target, also the target of no environment), and
// deploy.TargetSwarm, services of the swarm the Engine manages
// (swarm.Target).
func TargetKinds(c *dockerapi.Client) []deploy.TargetKind {
	return []deploy.TargetKind{
		{Name: deploy.TargetDocker, New: func(s deploy.TargetSetup) deploy.TargetMaker { return local.NewTarget(c, s.Redactor) }},
		{Name: deploy.TargetSwarm, New: func(s deploy.TargetSetup) deploy.TargetMaker { return swarm.NewTargets(c, s.Redactor, s.Warn) }},
	}
}
