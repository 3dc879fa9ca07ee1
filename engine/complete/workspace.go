package complete

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/mod"
)

// WorkspaceDoc returns what `ferry doc` documents in the workspace at
// root ("" outside one): builtins, the modules of std (the files of
// @std), those of the workspace, and those of the shared modules of its
// ferry.mod. The aliases come from parsing ferry.mod; modules, which
// resolves the shared modules, is called only to complete a label of one.
func WorkspaceDoc(builtins []*engine.Builtin, std fs.FS, root string, modules func() (*engine.Modules, error)) DocSource {
	d := DocSource{Builtins: builtins}
	if root != "" {
		if mf, err := mod.ReadModFile(filepath.Join(root, mod.ModFileName), mod.ModFileName); err == nil {
			for _, dep := range mf.Deps {
				d.Aliases = append(d.Aliases, dep.Alias)
			}
		}
	}
	d.Repo = func(name string) fs.FS {
		switch {
		case name == "std":
			return std
		case root == "":
			return nil
		case name == "":
			return os.DirFS(root)
		}
		mods, err := modules()
		if err != nil || mods == nil || mods.ByAlias[name] == nil {
			return nil
		}
		if src, ok := mods.ByAlias[name].Source.(engine.DirSource); ok {
			return os.DirFS(src.Tree.Path("."))
		}
		return nil
	}
	return d
}

// NoSpace reports whether the shell should add no space after the
// completions: when one is a repository's label (@std//), which goes on
// with a file's name.
func NoSpace(comps []string) bool {
	for _, c := range comps {
		if strings.HasSuffix(strings.SplitN(c, "\t", 2)[0], "//") {
			return true
		}
	}
	return false
}
