// Package complete computes the shell completions of ferry's commands:
// the names of a workspace's rules, and what `ferry doc` documents. It
// reads what it is given and never fails: what it cannot read, it leaves
// out (see docs/completion.md).
package complete

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/stardoc"
)

// Rules returns the completions of a rule name that starts with prefix:
// the rules of g whose kind is one of kinds (any kind when there are
// none), leaving out those already given, each as "name\tdescription"
// (its kind, and the first line of its doc).
func Rules(g *engine.Graph, kinds, given []string, prefix string) []string {
	var out []string
	for _, n := range g.Names() {
		info := g.Rule(n).Info()
		if !strings.HasPrefix(n, prefix) || slices.Contains(given, n) || len(kinds) > 0 && !slices.Contains(kinds, info.Kind) {
			continue
		}
		out = append(out, n+"\t"+describe(info.Kind, info.Doc))
	}
	slices.Sort(out)
	return out
}

// describe is the description of a completion: what it is, and the first
// line of its doc.
func describe(what, doc string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(doc), "\n")
	if i := strings.Index(first, ". "); i >= 0 {
		first = first[:i+1]
	}
	if first == "" {
		return what
	}
	return what + ": " + first
}

// A DocSource is what `ferry doc` can document.
type DocSource struct {
	Builtins []*engine.Builtin // the documented builtins
	// Aliases are the shared modules of the workspace's ferry.mod, offered
	// as @alias//.
	Aliases []string
	// Repo returns the files of a module repository: "std", an alias of
	// Aliases, or "" for the workspace; nil when it cannot be read. It is
	// called only for the repository of the label being completed.
	Repo func(name string) fs.FS
}

// Doc returns the completions of the argument of `ferry doc` that follows
// args and starts with prefix: a builtin, a group of builtins (health),
// @std, a module of @std or of an alias of ferry.mod (@alias// first);
// after a module's label, one of its exported functions.
func Doc(d DocSource, args []string, prefix string) []string {
	switch len(args) {
	case 0:
	case 1:
		return funcs(d, args[0], prefix)
	default:
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(name, desc string) {
		if strings.HasPrefix(name, prefix) && !seen[name] {
			seen[name] = true
			out = append(out, name+"\t"+desc)
		}
	}
	if repo, _, ok := strings.Cut(prefix, "//"); ok && (repo == "" || strings.HasPrefix(repo, "@")) {
		// The files of one repository: the workspace's (//) or a module's.
		what := "module of " + repo
		if repo == "" {
			what = "module of the workspace"
		}
		if fsys := d.repo(strings.TrimPrefix(repo, "@")); fsys != nil {
			_ = fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
				switch {
				case err != nil:
					return nil
				case e.IsDir() && p != "." && (strings.HasPrefix(e.Name(), ".") || e.Name() == "testdata" || e.Name() == "node_modules"):
					return fs.SkipDir
				case !e.IsDir() && strings.HasSuffix(p, ".star") && !strings.HasSuffix(p, "_test.star"):
					add(repo+"//"+p, what)
				}
				return nil
			})
		}
		slices.Sort(out)
		return out
	}
	for _, b := range d.Builtins {
		add(b.Name, describe("builtin", b.Doc))
		if group, _, ok := strings.Cut(b.Name, "."); ok {
			add(group, "builtins "+group+".*")
		}
	}
	add("@std", "the standard library")
	add("@std//", "modules of the standard library")
	for _, a := range d.Aliases {
		add("@"+a+"//", "modules of ferry.mod's @"+a)
	}
	slices.Sort(out)
	return out
}

func (d DocSource) repo(name string) fs.FS {
	if d.Repo == nil || name != "std" && name != "" && !slices.Contains(d.Aliases, name) {
		return nil
	}
	return d.Repo(name)
}

// Tests returns the completions of `ferry test -run` that start with
// prefix: the test functions (top-level def test_*) of the *_test.star
// files under root, or of paths (files and folders; see
// engine.FindFiles), each with its file's path relative to root.
func Tests(root string, paths []string, prefix string) []string {
	files, err := engine.FindFiles(root, paths, func(base string) bool { return strings.HasSuffix(base, "_test.star") }, "test files")
	if err != nil {
		return nil
	}
	var out []string
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		f, err := engine.FileOptions.Parse(file, src, 0)
		if err != nil {
			continue
		}
		rel, _ := filepath.Rel(root, file)
		for _, s := range f.Stmts {
			if def, ok := s.(*syntax.DefStmt); ok && strings.HasPrefix(def.Name.Name, "test_") && strings.HasPrefix(def.Name.Name, prefix) {
				out = append(out, def.Name.Name+"\t"+filepath.ToSlash(rel))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// funcs completes the exported functions of the module label names.
func funcs(d DocSource, label, prefix string) []string {
	if !strings.HasPrefix(label, "@") && !strings.HasPrefix(label, "//") {
		return nil
	}
	l, err := engine.ResolveLabel(engine.Label{}, label)
	if err != nil {
		return nil
	}
	fsys := d.repo(l.Repo)
	if fsys == nil {
		return nil
	}
	src, err := fs.ReadFile(fsys, l.Path)
	if err != nil {
		return nil
	}
	m, err := stardoc.Parse(l.String(), label, src)
	if err != nil {
		return nil
	}
	var out []string
	for _, f := range m.Funcs {
		if strings.HasPrefix(f.Name, prefix) {
			out = append(out, f.Name+"\t"+describe(path.Base(l.Path), f.Doc))
		}
	}
	return out
}
