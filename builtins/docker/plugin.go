// Package docker is ferry's Docker domain as the CLI sees it: its
// Starlark plugin (the image builtins of package image, and
// docker.inspect), the kinds of target it registers with deploy
// (TargetKinds: the local Engine's containers, package local, and Swarm
// services, package swarm), and Images, which carries out ferry prune,
// push and down --rmi. What those packages share about the Engine objects
// ferry makes is in package objects; every Engine call goes through
// package dockerapi, the Engine client.
package docker

import (
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/image"
	"github.com/ferryhq/ferry/engine"
)

// Plugin is the Docker domain.
type Plugin struct {
	// Client is the Docker Engine client the rules use. When nil, one
	// configured from the environment (DOCKER_HOST…) is made for each
	// evaluation; it connects when a rule first needs the Engine, so a
	// workspace without Docker rules never touches it.
	Client image.Client
	// Project labels the images built (ferry.project), as the containers
	// of the same workspace are; the workspace folder's name when empty.
	Project string
	// Secrets recognises secret values among what docker.inspect reads
	// back from the Engine, and in the files of a build context; without
	// it, docker.inspect fails and build contexts are not scanned.
	Secrets image.SecretFinder
	// Deploy, when set, is the deploy domain's plugin, whose Target
	// (the selected environment's, once selected) live updates reach
	// the running replicas through when it is a deploy.LiveUpdater.
	Deploy *deploy.Plugin
}

// Builtins returns the Docker builtins. Each call returns fresh builtins
// whose rules share one Engine client and know each other (an image may be
// the base of another), so call it once per evaluation, as engine.Evaluate
// does.
func (p Plugin) Builtins() []*engine.Builtin {
	eng := p.Client
	if eng == nil {
		eng = dockerapi.New()
	}
	var target func() deploy.Target
	if p.Deploy != nil {
		target = func() deploy.Target { return p.Deploy.Target }
	}
	return append(image.Builtins(eng, p.Project, p.Secrets, target), p.inspectBuiltin())
}
