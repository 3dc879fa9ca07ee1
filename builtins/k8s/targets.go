package k8s

import (
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine/redact"
)

// Targets makes the Target of each Kubernetes environment (a
// deploy.TargetMaker, registered for deploy.TargetKubernetes), labelling
// what they create as the workspace's.
type Targets struct {
	owner deploy.Owner
	// Redactor removes secret values from the pods' output that the
	// targets show (logs, the last lines of a failed pod).
	Redactor *redact.Redactor
	// Images pushes the images that image() rules build to each
	// environment's registry.
	Images ImagePusher
	// Warn receives what the targets say the user should know but is no
	// error (an environment without a registry for built images).
	Warn func(string)
}

var _ deploy.TargetMaker = (*Targets)(nil)

// Own makes the targets made later label what they create as o's.
func (t *Targets) Own(o deploy.Owner) { t.owner = o }

// For returns a new Target for env, which must be a Kubernetes one.
func (t *Targets) For(env *deploy.Environment) deploy.Target {
	k := NewTarget(env, t.Redactor)
	k.Own(t.owner)
	k.PushWith(t.Images)
	k.warn = t.Warn
	return k
}
