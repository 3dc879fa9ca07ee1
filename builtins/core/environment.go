package core

import (
	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

// envConstant is config.env: the environment selected with --env.
func envConstant(env string) *engine.Builtin {
	return &engine.Builtin{
		Name: "config.env",
		Doc: "The name of the environment selected with `ferry --env NAME` (or the FERRY_ENV variable), " +
			"`\"\"` when none is: then ferry deploys to the local Docker Engine. Use it for per-environment values, " +
			"as in `replicas = {\"prod\": 3}.get(config.env, 1)`; environments are declared with `environment()`.",
		Constant: starlark.String(env),
	}
}
