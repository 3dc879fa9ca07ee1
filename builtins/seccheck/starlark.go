package seccheck

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/mod"
	"github.com/ferryhq/ferry/engine/starlint"
)

// lintStarlark runs the Starlark lint on every .star file under root (as
// engine.FindFiles finds them), with builtins, leaving out the findings a
// "ferry:ignore" comment names.
func lintStarlark(root string, builtins []*engine.Builtin) ([]Finding, error) {
	files, err := engine.FindFiles(root, nil, func(base string) bool { return strings.HasSuffix(base, ".star") }, "Starlark files (*.star)")
	if err != nil {
		return nil, err
	}
	c := starlint.New(builtins)
	c.Deps = moduleDeps(root)
	var out []Finding
	for _, abs := range files {
		src, err := os.ReadFile(abs)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil {
			return nil, err
		}
		rel = filepath.ToSlash(rel)
		lines := strings.Split(string(src), "\n")
		for _, f := range c.File(rel, src, strings.HasSuffix(rel, "_test.star")) {
			if ignoredAt(lines, int(f.Pos.Line), f.Rule) {
				continue
			}
			fd := finding(f.Rule, rel, int(f.Pos.Line), f.Message)
			fd.Col = int(f.Pos.Col)
			out = append(out, fd)
		}
	}
	return out, nil
}

// moduleDeps returns what the Starlark lint asks of a file (a path
// relative to root): the modules listed by the ferry.mod that governs it,
// the nearest one in its folder or above, up to root. A module vendored
// into ferry_modules/ALIAS also loads its own files as @ALIAS. A ferry.mod
// that does not parse leaves the file's loads of modules unchecked
// (evaluation reports it).
func moduleDeps(root string) func(string) *starlint.Deps {
	cache := map[string]*starlint.Deps{}
	var lookup func(dir string) *starlint.Deps
	lookup = func(dir string) *starlint.Deps {
		if d, ok := cache[dir]; ok {
			return d
		}
		var d *starlint.Deps
		rel := path.Join(dir, mod.ModFileName)
		vendored, alias := "", ""
		if parent, base := path.Split(dir); path.Clean(parent) == mod.VendorDir {
			vendored, alias = dir, base
		}
		mf, err := mod.ReadModFile(filepath.Join(root, filepath.FromSlash(rel)), rel)
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
