// Package core provides ferry's core builtins: task, glob, read_file,
// dotenv, os.env, config.flag, config.env and yaml, and runs task commands and run-time actions.
package core

import (
	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

// Plugin is the core domain.
type Plugin struct {
	// Env is the selected environment's name, as config.env shows it.
	Env string
	// Secrets recognises secret values in what ctx.sh and ctx.read hand
	// to run-time actions; without it, they return plain strings.
	Secrets engine.SecretFinder
}

// Builtins returns the core builtins.
func (p Plugin) Builtins() []*engine.Builtin {
	task := *taskBuiltin
	task.Impl = func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
		return declareTask(thread, c, p.Secrets)
	}
	return []*engine.Builtin{&task, globBuiltin, readFileBuiltin, dotenvBuiltin, envBuiltin, flagBuiltin, envConstant(p.Env), yamlEncode, yamlDecode, watchSettingsBuiltin}
}

// MethodDocs returns the run-time methods of `ctx`, for the reference.
func (Plugin) MethodDocs() []*engine.Builtin {
	return []*engine.Builtin{shBuiltin, readBuiltin}
}
