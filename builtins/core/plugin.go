// Package core provides ferry's core builtins: task, glob, read_file,
// os.env, config.flag and yaml, and runs task commands and run-time actions.
package core

import "github.com/ferryhq/ferry/engine"

// Plugin is the core domain.
type Plugin struct{}

// Builtins returns the core builtins.
func (Plugin) Builtins() []*engine.Builtin {
	return []*engine.Builtin{taskBuiltin, globBuiltin, readFileBuiltin, envBuiltin, flagBuiltin, yamlEncode, yamlDecode, watchSettingsBuiltin}
}

// MethodDocs returns the run-time methods of `ctx`, for the reference.
func (Plugin) MethodDocs() []*engine.Builtin {
	return []*engine.Builtin{shBuiltin, readBuiltin}
}
