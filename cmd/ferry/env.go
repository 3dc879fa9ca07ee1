package main

import (
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker"
	"github.com/ferryhq/ferry/engine"
)

// selectEnv finds the environment --env (or FERRY_ENV) names among those
// ferry.star declares, and makes its target the one services deploy to:
// the local Docker Engine when none is selected.
func (a *app) selectEnv(l *loaded) error {
	env, err := l.environments().Select(a.env)
	if err != nil {
		return err
	}
	a.deployTo = a.target
	if env != nil && env.Target == deploy.TargetSwarm {
		swarm := docker.NewSwarmTarget(a.docker, a.redactor, env, func(msg string) { a.bus.Logf(engine.LevelWarn, "%s", msg) })
		swarm.Own(a.owner)
		a.deployTo = swarm
	}
	a.deployPlugin.Target = a.deployTo
	if env == nil {
		return nil
	}
	return deploy.CheckRules(l.res.Rules, a.deployTo, env)
}

// localTarget is what ferry needs of the local Docker Engine's target: it
// labels what it creates with the workspace, and a watch removes the
// services it started when it ends.
type localTarget interface {
	deploy.Target
	deploy.Owned
	deploy.DeployedRemover
}

// deployer returns the Deployer of the project on the selected
// environment's target.
func (a *app) deployer(ws *engine.Workspace, project string) *deploy.Deployer {
	return &deploy.Deployer{Target: a.deployTo, Env: a.env, Project: project, Root: ws.Root, Bus: a.bus}
}
