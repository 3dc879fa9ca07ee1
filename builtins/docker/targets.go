package docker

import (
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine/redact"
)

// Targets makes the deploy targets of one Docker Engine client, by
// environment (a deploy.TargetMaker): the local Engine's Target, made once
// and kept, since it remembers what it deployed (deploy.DeployedRemover);
// and a SwarmTarget for an environment that deploys to a swarm.
type Targets struct {
	c     *dockerapi.Client
	red   *redact.Redactor
	warn  func(string)
	owner deploy.Owner
	local *Target
}

var _ deploy.TargetMaker = (*Targets)(nil)

// NewTargets returns the Targets of c, whose targets remove red's values
// from the output they show (nothing when red is nil); warn receives what
// a SwarmTarget says the user should know (see NewSwarmTarget).
func NewTargets(c *dockerapi.Client, red *redact.Redactor, warn func(string)) *Targets {
	return &Targets{c: c, red: red, warn: warn, local: NewTarget(c, red)}
}

// Own makes the targets label what they create as the workspace o's (see
// Target.Own): the local one now, those made later when made.
func (t *Targets) Own(o deploy.Owner) {
	t.owner = o
	t.local.Own(o)
}

// For returns the target that services deploy to in env: the local
// Engine's when env is nil or deploys to it, else a new SwarmTarget.
func (t *Targets) For(env *deploy.Environment) deploy.Target {
	if env == nil || env.Target != deploy.TargetSwarm {
		return t.local
	}
	s := NewSwarmTarget(t.c, t.red, env, t.warn)
	s.Own(t.owner)
	return s
}
