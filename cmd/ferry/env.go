package main

import (
	"fmt"

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

// localProject is workspaceProject for the commands that work on the local
// Docker target's containers only (exec, restart).
func (a *app) localProject(command string) (*engine.Workspace, string, error) {
	ws, project, err := a.workspaceProject()
	if err != nil {
		return nil, "", err
	}
	if _, ok := a.deployTo.(*docker.SwarmTarget); ok {
		return nil, "", fmt.Errorf("ferry %s works on the containers of the local Docker Engine, and environment %s deploys to Docker Swarm; use `docker service` there, or drop --env (and FERRY_ENV)", command, a.env)
	}
	return ws, project, nil
}
