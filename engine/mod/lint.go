package mod

import (
	"errors"
	"os"
	"path"
	"path/filepath"

	"github.com/ferryhq/ferry/engine/starlint"
)

// LintDeps returns what the Starlark lint asks of a file (a path
// relative to root): the modules listed by the ferry.mod that governs it,
// the nearest one in its folder or above, up to root. A module vendored
// into ferry_modules/ALIAS also loads its own files as @ALIAS. A ferry.mod
// that does not parse leaves the file's loads of modules unchecked
// (evaluation reports it).
func LintDeps(root string) func(string) *starlint.Deps {
	cache := map[string]*starlint.Deps{}
	var lookup func(dir string) *starlint.Deps
	lookup = func(dir string) *starlint.Deps {
		if d, ok := cache[dir]; ok {
			return d
		}
		var d *starlint.Deps
		rel := path.Join(dir, ModFileName)
		vendored, alias := "", ""
		if parent, base := path.Split(dir); path.Clean(parent) == VendorDir {
			vendored, alias = dir, base
		}
		mf, err := ReadModFile(filepath.Join(root, filepath.FromSlash(rel)), rel)
		switch {
		case err == nil:
			d = &starlint.Deps{ModFile: rel, Aliases: map[string]bool{}}
			for _, dep := range mf.Deps {
				d.Aliases[dep.Alias] = true
			}
		case !errors.Is(err, os.ErrNotExist):
			// d stays nil: unchecked
		case vendored != "":
			d = &starlint.Deps{ModFile: rel, Aliases: map[string]bool{}}
		case dir == ".":
			d = &starlint.Deps{}
		default:
			d = lookup(path.Dir(dir))
		}
		if d != nil && alias != "" {
			d.Aliases[alias] = true
		}
		cache[dir] = d
		return d
	}
	return func(name string) *starlint.Deps { return lookup(path.Dir(name)) }
}
