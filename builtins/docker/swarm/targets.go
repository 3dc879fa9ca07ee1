package swarm

import (
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine/redact"
)

// Targets makes the Target of each environment that deploys to a swarm
// (a deploy.TargetMaker, registered for deploy.TargetSwarm), labelling
// what they create as the workspace's.
type Targets struct {
	c     *dockerapi.Client
	red   *redact.Redactor
	warn  func(string)
	owner deploy.Owner
}

var _ deploy.TargetMaker = (*Targets)(nil)

// NewTargets returns the Targets of c, whose targets remove red's values
// from the output they show (nothing when red is nil); warn receives what
// a Target says the user should know (see NewTarget).
func NewTargets(c *dockerapi.Client, red *redact.Redactor, warn func(string)) *Targets {
	return &Targets{c: c, red: red, warn: warn}
}

// Own makes the targets made later label what they create as o's (see
// Target.Own).
func (t *Targets) Own(o deploy.Owner) { t.owner = o }

// For returns a new Target for env, which deploys to a swarm.
func (t *Targets) For(env *deploy.Environment) deploy.Target {
	s := NewTarget(t.c, t.red, env, t.warn)
	s.Own(t.owner)
	return s
}
