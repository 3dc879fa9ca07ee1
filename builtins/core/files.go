package core

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

var globBuiltin = &engine.Builtin{
	Name:       "glob",
	Permission: "files",
	Reusable:   true,
	Doc: "Lists the files under the calling file's folder that match any `include` pattern and no `exclude` pattern. " +
		"Patterns use `*`, `?`, `[...]`, `{a,b}` and `**` (any number of folders). `.git` and `.ferry` are never listed. " +
		"A symbolic link is listed as itself and a linked folder is never entered; a folder named in a pattern may be a link that stays inside the workspace. " +
		"Globs are expanded when ferry.star is read, so they do not see files that rules generate later.",
	Params: []engine.Param{
		{Name: "include", Type: engine.StringList, Required: true, Positional: true, Doc: "Patterns of files to list."},
		{Name: "exclude", Type: engine.StringList, Positional: true, Default: "[]", Doc: "Patterns of files to leave out."},
	},
	Returns: "a sorted list of paths relative to the calling file's folder.",
	Impl:    doGlob,
}

func doGlob(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
	ev := engine.EvaluationOf(thread)
	dir := engine.ModuleDir(thread)
	for _, p := range append(c.Strings("include"), c.Strings("exclude")...) {
		if !doublestar.ValidatePattern(p) {
			return nil, c.Errorf("bad pattern %q", p)
		}
		if path.IsAbs(p) || p == ".." || len(p) > 2 && p[:3] == "../" {
			return nil, c.Errorf("pattern %q must stay inside the calling file's folder", p)
		}
	}
	// Through the workspace's Tree, not following links while matching: a
	// link is listed as itself, a linked folder is not entered, and a folder
	// written in a pattern that links out of the workspace is refused.
	ws := ev.Workspace()
	var fsys fs.FS = lookupFS{ws.Tree().FS(), func(rel string) { ev.RecordLookup(ws.Path(rel)) }}
	if dir != "" {
		sub, err := fs.Sub(fsys, dir)
		if err != nil {
			return nil, c.Errorf("%v", err)
		}
		fsys = sub
	}
	seen := map[string]bool{}
	for _, pat := range c.Strings("include") {
		err := doublestar.GlobWalk(fsys, pat, func(p string, d fs.DirEntry) error {
			if d.IsDir() {
				return nil
			}
			seen[p] = true
			return nil
		}, doublestar.WithFilesOnly(), doublestar.WithNoFollow(), doublestar.WithFailOnIOErrors())
		if err != nil {
			return nil, c.Errorf("%v", err)
		}
	}
	var out []string
	for p := range seen {
		if hidden(p) || matchesAny(p, c.Strings("exclude")) {
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	ev.RecordListing(&globListing{dir: dir, include: c.Strings("include"), exclude: c.Strings("exclude"), matched: seen})
	return stringList(out), nil
}

// lookupFS is the workspace's file system as a glob sees it, noting every
// path the glob looks at (a folder it lists, a path it finds missing), so a
// run can tell that the glob's answer still holds (see
// engine.Evaluation.RecordLookup).
type lookupFS struct {
	fsys   fs.FS // the Tree's: with ReadDir, Stat, Lstat, ReadFile and ReadLink
	lookup func(rel string)
}

func (f lookupFS) Open(rel string) (fs.File, error) {
	f.lookup(rel)
	return f.fsys.Open(rel)
}

func (f lookupFS) ReadDir(rel string) ([]fs.DirEntry, error) {
	f.lookup(rel)
	return fs.ReadDir(f.fsys, rel)
}

func (f lookupFS) Stat(rel string) (fs.FileInfo, error) {
	f.lookup(rel)
	return fs.Stat(f.fsys, rel)
}

func (f lookupFS) Lstat(rel string) (fs.FileInfo, error) {
	f.lookup(rel)
	return fs.Lstat(f.fsys, rel)
}

func (f lookupFS) ReadFile(rel string) ([]byte, error) {
	f.lookup(rel)
	return fs.ReadFile(f.fsys, rel)
}

func (f lookupFS) ReadLink(rel string) (string, error) {
	f.lookup(rel)
	return fs.ReadLink(f.fsys, rel)
}

// globListing is one glob call, kept so a watch can tell when a file that
// appears or vanishes changes its result.
type globListing struct {
	dir              string // workspace-relative folder the patterns apply in, "" for the root
	include, exclude []string
	matched          map[string]bool // paths relative to dir, before exclusion
}

func (g *globListing) Changes(rel string, exists bool) bool {
	if g.dir != "" {
		if !strings.HasPrefix(rel, g.dir+"/") {
			return false
		}
		rel = rel[len(g.dir)+1:]
	}
	if hidden(rel) {
		return false
	}
	if exists {
		return !g.matched[rel] && matchesAny(rel, g.include) && !matchesAny(rel, g.exclude)
	}
	if g.matched[rel] {
		return true
	}
	for m := range g.matched {
		if strings.HasPrefix(m, rel+"/") {
			return true
		}
	}
	return false
}

// hidden reports whether p lies in a folder that globs never enter.
func hidden(p string) bool {
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if b := path.Base(d); b == ".git" || b == engine.StateDir {
			return true
		}
	}
	return false
}

// matchesAny reports whether p matches one of patterns.
func matchesAny(p string, patterns []string) bool {
	for _, pat := range patterns {
		if ok, _ := doublestar.Match(pat, p); ok {
			return true
		}
	}
	return false
}

var readFileBuiltin = &engine.Builtin{
	Name:       "read_file",
	Permission: "files",
	Reusable:   true,
	Doc: "Reads a file while ferry.star is evaluated; the file is recorded as an input of the evaluation, so watch mode re-reads ferry.star when it changes. " +
		"Links on the way are followed only when they are relative and stay inside the workspace.",
	Params:  []engine.Param{{Name: "path", Type: engine.String, Required: true, Positional: true, Doc: "Path relative to the calling file's folder."}},
	Returns: "the contents as a string.",
	Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
		ev := engine.EvaluationOf(thread)
		p, err := engine.JoinPath(engine.ModuleDir(thread), c.String("path"))
		if err != nil {
			return nil, c.Errorf("%v", err)
		}
		b, err := ev.Workspace().Tree().ReadFile(p)
		if err != nil {
			return nil, c.Errorf("%v", readError(p, err))
		}
		ev.RecordFile(ev.Workspace().Path(p))
		return starlark.String(b), nil
	},
}

// readError says why the workspace file p could not be read: a link's
// refusal says it all.
func readError(p string, err error) error {
	var le *engine.LinkError
	if errors.As(err, &le) {
		return err
	}
	if pe, ok := err.(*fs.PathError); ok {
		err = pe.Err
	}
	return fmt.Errorf("cannot read %s: %w", p, err)
}

var envBuiltin = &engine.Builtin{
	Name:       "os.env",
	Permission: "env",
	Reusable:   true,
	Doc: "Reads an environment variable while ferry.star is evaluated; the name and value are recorded as inputs of the evaluation. " +
		"A variable that a `secret(env = ...)` declared before it is read from gives that secret, never the value; " +
		"reading a variable before a `secret()` declares it a source is an error at the `secret()`. See [secrets](secrets.md#environment-variables).",
	Params: []engine.Param{
		{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "Variable name."},
		{Name: "default", Type: engine.AnyValue, Positional: true, Doc: "Returned when the variable is not set."},
	},
	Returns: "the value as a string (a `secret` for a secret's variable), or `default` (None when not given) when the variable is not set.",
	Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
		v, ok := engine.EvaluationOf(thread).Getenv(c.String("name"), c.Pos)
		if !ok {
			if d := c.Raw("default"); d != nil {
				return d, nil
			}
			return starlark.None, nil
		}
		return v, nil
	},
}

var flagBuiltin = &engine.Builtin{
	Name:     "config.flag",
	Reusable: true,
	Doc: "Declares a command-line flag, set with `ferry run -- --name=value`. The value takes the type of `default` " +
		"(string, int or bool; a bare `--name` sets a bool to True). A flag given on the command line that no `config.flag` declares is an error.",
	Params: []engine.Param{
		{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "Flag name, without dashes."},
		{Name: "default", Type: engine.AnyValue, Positional: true, Default: `""`, Doc: "Value when the flag is not given; its type is the flag's type."},
	},
	Returns: "the flag's value.",
	Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
		def := c.Raw("default")
		if def == nil {
			def = starlark.String("")
		}
		v, ok := engine.EvaluationOf(thread).Flag(c.String("name"))
		if !ok {
			return def, nil
		}
		switch def.(type) {
		case starlark.String:
			return starlark.String(v), nil
		case starlark.Bool:
			switch v {
			case "", "true", "1", "yes":
				return starlark.True, nil
			case "false", "0", "no":
				return starlark.False, nil
			}
		case starlark.Int:
			var n int64
			if _, err := fmt.Sscan(v, &n); err == nil {
				return starlark.MakeInt64(n), nil
			}
		default:
			return nil, c.Errorf("default: got %s, want string, int or bool", def.Type())
		}
		return nil, fmt.Errorf("config.flag %q: --%s=%s is not a valid %s", c.String("name"), c.String("name"), v, def.Type())
	},
}
