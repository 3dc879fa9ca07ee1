// Package core provides ferry's core builtins: task, glob, read_file,
// os.env, config.flag, config.env and yaml, and runs task commands and run-time actions.
package core

import "github.com/ferryhq/ferry/engine"

// Plugin is the core domain.
type Plugin struct {
	// Env is the selected environment's name, as config.env shows it.
	Env string
}

// Builtins returns the core builtins.
func (p Plugin) Builtins() []*engine.Builtin {
	return []*engine.Builtin{taskBuiltin, globBuiltin, readFileBuiltin, envBuiltin, flagBuiltin, envConstant(p.Env), yamlEncode, yamlDecode, watchSettingsBuiltin}
}

// MethodDocs returns the run-time methods of `ctx`, for the reference.
func (Plugin) MethodDocs() []*engine.Builtin {
	return []*engine.Builtin{shBuiltin, readBuiltin}
}
