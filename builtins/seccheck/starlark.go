package seccheck

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/starlint"
)

// lintStarlark runs the Starlark lint on every .star file under root (as
// engine.FindFiles finds them), with builtins and the modules each file
// may load (deps, nil: unchecked), leaving out the findings a
// "ferry:ignore" comment names.
func lintStarlark(root string, builtins []*engine.Builtin, deps func(string) *starlint.Deps) ([]Finding, error) {
	files, err := engine.FindFiles(root, nil, func(base string) bool { return strings.HasSuffix(base, ".star") }, "Starlark files (*.star)")
	if err != nil {
		return nil, err
	}
	c := starlint.New(builtins)
	c.Deps = deps
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
