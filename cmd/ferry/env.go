package main

import (
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

// selectEnv finds the environment --env (or FERRY_ENV) names among those
// ferry.star declares, and makes its target the one services deploy to:
// the local Docker Engine when none is selected.
func (a *app) selectEnv(l *engine.Loaded) error {
	t, err := deploy.SelectTarget(engine.EvaluationState[*deploy.Environments](l.Result.Eval), a.env, l.Result.Rules, a.targets)
	if t != nil {
		a.deployTo = t
		a.deployPlugin.Target = t
	}
	return err
}

// deployer returns the Deployer of the project on the selected
// environment's target.
func (a *app) deployer(ws *engine.Workspace, project string) *deploy.Deployer {
	return &deploy.Deployer{Target: a.deployTo, Env: a.env, Project: project, Root: ws.Root, Bus: a.bus}
}
