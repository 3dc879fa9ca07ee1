// Package stdlib holds ferry's standard Starlark modules, embedded in the
// binary and loaded as @std//name.star.
package stdlib

import "embed"

// FS holds the modules.
//
//go:embed *.star
var FS embed.FS
