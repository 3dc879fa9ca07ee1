// Package mod resolves the shared Starlark modules a workspace's ferry.mod
// lists: it fetches them from git into a user-level cache, selects one
// version of each (minimal version selection), pins them in ferry.lock and
// verifies them on every load. See docs/modules.md.
package mod

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/syntax"
	"golang.org/x/mod/semver"

	"github.com/ferryhq/ferry/engine"
)

// ModFileName and LockFileName are the files beside ferry.star that list
// and pin a workspace's modules.
const (
	ModFileName  = "ferry.mod"
	LockFileName = "ferry.lock"
)

// A ModFile is a parsed ferry.mod. Its syntax is a subset of Starlark (as
// Bazel's MODULE.bazel): top-level calls of module(), dep(), override()
// and grant() with literal arguments only, so that tools can read and
// edit it without running anything.
type ModFile struct {
	Path string // as shown in messages
	Name string // module(name = ...), "" when absent
	// Permissions are what the module needs when others use it:
	// module(permissions = [...]), sorted.
	Permissions []string
	PermPos     syntax.Position
	Deps        []*Dep
	Overrides   map[string]*Override // by alias
	Grants      map[string]*Grant    // by alias
	src         []byte
}

// A Grant is one grant() line: the permissions the workspace gives a
// module of its graph. Grants count only in the workspace's ferry.mod.
type Grant struct {
	Alias       string
	Permissions []string
	Pos         syntax.Position
}

// A Dep is one dep() line: a module loaded as @Alias//path.star.
type Dep struct {
	Alias   string
	Repo    string // a git URL: https://, ssh (git@host:path, ssh://), git:// or file://
	Version string // a semver tag (v1.2.3) or a full 40-hex commit
	Pos     syntax.Position
	verPos  syntax.Position // the version literal, for edits
	verRaw  string
}

// An Override replaces a dep with a folder on disk, for developing a module
// beside the workspace. Overrides count only in the workspace's ferry.mod.
type Override struct {
	Alias string
	Path  string // relative to the folder of the ferry.mod
	Pos   syntax.Position
}

var (
	aliasRE  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)
	shortRE  = regexp.MustCompile(`^[0-9a-f]{4,39}$`)
)

// IsCommit reports whether v names a commit rather than a tag.
func IsCommit(v string) bool { return commitRE.MatchString(v) }

// checkVersion explains what is wrong with version v, or returns "".
func checkVersion(v string) string {
	switch {
	case IsCommit(v):
		return ""
	case semver.IsValid(v) && strings.Count(strings.SplitN(v, "-", 2)[0], ".") == 2:
		return ""
	case shortRE.MatchString(v):
		return fmt.Sprintf("version %q: give the full 40-character commit (git rev-parse %s)", v, v)
	}
	return fmt.Sprintf("version %q: want a semver tag such as v1.2.3, or a full 40-character commit", v)
}

// repoSchemes are the URL schemes a repository address may have: the
// transports git runs no program of its own for.
var repoSchemes = []string{"https", "http", "ssh", "git", "git+ssh", "ssh+git", "file"}

// CheckRepo explains what is wrong with the repository address repo, or
// returns "". ferry hands it to git, so an address git would read as an
// option (--upload-pack=… runs a command) or as a transport helper
// (ext::…, fd::… run programs or read ferry's input) is refused, as is one
// with spaces or control characters, which ferry.lock could not hold on
// one line.
func CheckRepo(repo string) string {
	switch {
	case repo == "":
		return "repo is empty; give a git address such as https://git.example.com/team/rules.git"
	case strings.HasPrefix(repo, "-"):
		return fmt.Sprintf("repo %q starts with '-', and git would read it as an option; give a git address such as https://git.example.com/team/rules.git", repo)
	}
	if scheme, _, ok := strings.Cut(repo, "://"); ok {
		if !slices.Contains(repoSchemes, strings.ToLower(scheme)) {
			return fmt.Sprintf("repo %q: scheme %q is not a git transport ferry uses (%s)", repo, scheme, strings.Join(repoSchemes, ", "))
		}
	} else if strings.Contains(repo, "::") {
		return fmt.Sprintf("repo %q names a git transport helper (helper::address), which runs a program; give an https://, ssh:// or git@host:path address", repo)
	}
	if strings.ContainsFunc(repo, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Sprintf("repo %q has spaces or control characters; a git address has none (write a space as %%20)", repo)
	}
	return ""
}

// IsLocalRepo reports whether repo is on this machine: a file:// URL or a
// path rather than an scp-like git@host:path.
func IsLocalRepo(repo string) bool {
	if scheme, _, ok := strings.Cut(repo, "://"); ok {
		return strings.EqualFold(scheme, "file")
	}
	colon := strings.Index(repo, ":")
	return colon < 0 || strings.Contains(repo[:colon], "/")
}

// ReadModFile reads and parses the ferry.mod at path; display is the name
// shown in positions.
func ReadModFile(path, display string) (*ModFile, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseModFile(display, src)
}

// ParseModFile parses the text of a ferry.mod. Errors carry file:line:col.
func ParseModFile(display string, src []byte) (*ModFile, error) {
	f, err := (&syntax.FileOptions{}).Parse(display, src, 0)
	if err != nil {
		return nil, engine.PositionError(err)
	}
	mf := &ModFile{Path: display, Overrides: map[string]*Override{}, Grants: map[string]*Grant{}, src: src}
	seen := map[string]syntax.Position{}
	for _, stmt := range f.Stmts {
		var call *syntax.CallExpr
		if es, ok := stmt.(*syntax.ExprStmt); ok {
			call, _ = es.X.(*syntax.CallExpr)
		}
		if call == nil {
			start, _ := stmt.Span()
			return nil, engine.Errorf(start, "ferry.mod holds only calls of module(), dep(), override() and grant()")
		}
		fn, _ := call.Fn.(*syntax.Ident)
		if fn == nil {
			start, _ := call.Span()
			return nil, engine.Errorf(start, "ferry.mod holds only calls of module(), dep(), override() and grant()")
		}
		args, err := parseArgs(fn, call)
		if err != nil {
			return nil, err
		}
		switch fn.Name {
		case "module":
			if err := args.only("name", "permissions"); err != nil {
				return nil, err
			}
			mf.Name = args.str("name")
			if mf.Permissions, err = args.permissions(); err != nil {
				return nil, err
			}
			mf.PermPos = fn.NamePos
		case "grant":
			if err := args.only("alias", "permissions"); err != nil {
				return nil, err
			}
			g := &Grant{Alias: args.str("alias"), Pos: fn.NamePos}
			if err := checkAlias(args, g.Alias); err != nil {
				return nil, err
			}
			if prev := mf.Grants[g.Alias]; prev != nil {
				return nil, engine.Errorf(fn.NamePos, "grant %q is already given at %s; list every permission in one grant()", g.Alias, prev.Pos)
			}
			if g.Permissions, err = args.permissions(); err != nil {
				return nil, err
			}
			mf.Grants[g.Alias] = g
		case "dep":
			if err := args.only("alias", "repo", "version"); err != nil {
				return nil, err
			}
			d := &Dep{Alias: args.str("alias"), Repo: args.str("repo"), Version: args.str("version"), Pos: fn.NamePos}
			for _, k := range []string{"alias", "repo", "version"} {
				if !args.has(k) {
					return nil, engine.Errorf(fn.NamePos, "dep: missing %s; write dep(\"alias\", repo = \"https://...\", version = \"v1.0.0\")", k)
				}
			}
			if err := checkAlias(args, d.Alias); err != nil {
				return nil, err
			}
			if prev, ok := seen[d.Alias]; ok {
				return nil, engine.Errorf(fn.NamePos, "dep %q is already declared at %s", d.Alias, prev)
			}
			seen[d.Alias] = fn.NamePos
			if msg := checkVersion(d.Version); msg != "" {
				return nil, engine.Errorf(args.pos["version"], "dep %q: %s", d.Alias, msg)
			}
			if msg := CheckRepo(d.Repo); msg != "" {
				return nil, engine.Errorf(args.pos["repo"], "dep %q: %s", d.Alias, msg)
			}
			d.verPos, d.verRaw = args.pos["version"], args.raw["version"]
			mf.Deps = append(mf.Deps, d)
		case "override":
			if err := args.only("alias", "path"); err != nil {
				return nil, err
			}
			o := &Override{Alias: args.str("alias"), Path: args.str("path"), Pos: fn.NamePos}
			if !args.has("path") || o.Path == "" {
				return nil, engine.Errorf(fn.NamePos, "override: missing path; write override(\"alias\", path = \"../folder\")")
			}
			if err := checkAlias(args, o.Alias); err != nil {
				return nil, err
			}
			mf.Overrides[o.Alias] = o
		default:
			return nil, engine.Errorf(fn.NamePos, "unknown function %s: ferry.mod holds only calls of module(), dep(), override() and grant()", fn.Name)
		}
	}
	for alias, o := range mf.Overrides {
		if mf.Dep(alias) == nil {
			return nil, engine.Errorf(o.Pos, "override %q: no dep(%q, ...) in this file; an override replaces a dep", alias, alias)
		}
	}
	return mf, nil
}

func checkAlias(args *callArgs, alias string) error {
	switch {
	case !aliasRE.MatchString(alias):
		return engine.Errorf(args.pos["alias"], "alias %q: want lower-case letters, digits and _, starting with a letter (it is loaded as @alias//file.star)", alias)
	case alias == "std":
		return engine.Errorf(args.pos["alias"], "alias \"std\" is ferry's standard library; choose another")
	}
	return nil
}

// Dep returns the dep with the given alias, or nil.
func (mf *ModFile) Dep(alias string) *Dep {
	for _, d := range mf.Deps {
		if d.Alias == alias {
			return d
		}
	}
	return nil
}

// callArgs are the literal arguments of one call; the first positional
// argument is the alias.
type callArgs struct {
	fn    string
	vals  map[string]string
	lists map[string][]string
	pos   map[string]syntax.Position
	raw   map[string]string
}

func parseArgs(fn *syntax.Ident, call *syntax.CallExpr) (*callArgs, error) {
	a := &callArgs{fn: fn.Name, vals: map[string]string{}, lists: map[string][]string{}, pos: map[string]syntax.Position{}, raw: map[string]string{}}
	for i, arg := range call.Args {
		name, val := "", arg
		if b, ok := arg.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
			id, _ := b.X.(*syntax.Ident)
			if id == nil {
				start, _ := b.Span()
				return nil, engine.Errorf(start, "%s: want name = \"value\"", fn.Name)
			}
			name, val = id.Name, b.Y
		} else if i == 0 {
			name = "alias"
			if fn.Name == "module" {
				name = "name"
			}
		} else {
			start, _ := arg.Span()
			return nil, engine.Errorf(start, "%s: only the first argument may be positional; name the others (repo = ..., version = ...)", fn.Name)
		}
		if list, ok := val.(*syntax.ListExpr); ok {
			start, _ := list.Span()
			if _, dup := a.pos[name]; dup {
				return nil, engine.Errorf(start, "%s: %s given twice", fn.Name, name)
			}
			a.pos[name] = start
			a.lists[name] = []string{}
			for _, e := range list.List {
				lit, _ := e.(*syntax.Literal)
				s, ok := "", false
				if lit != nil {
					s, ok = lit.Value.(string)
				}
				if !ok {
					p, _ := e.Span()
					return nil, engine.Errorf(p, "%s: %s must be a list of string literals", fn.Name, name)
				}
				a.lists[name] = append(a.lists[name], s)
			}
			continue
		}
		lit, ok := val.(*syntax.Literal)
		s, ok2 := "", false
		if ok {
			s, ok2 = lit.Value.(string)
		}
		if !ok2 {
			start, _ := val.Span()
			return nil, engine.Errorf(start, "%s: %s must be a string literal (ferry.mod is read without running it)", fn.Name, name)
		}
		if _, dup := a.vals[name]; dup {
			return nil, engine.Errorf(lit.TokenPos, "%s: %s given twice", fn.Name, name)
		}
		a.vals[name], a.pos[name], a.raw[name] = s, lit.TokenPos, lit.Raw
	}
	return a, nil
}

func (a *callArgs) str(k string) string { return a.vals[k] }
func (a *callArgs) has(k string) bool   { _, ok := a.vals[k]; return ok }

// permissions returns the permissions argument, checked and sorted.
func (a *callArgs) permissions() ([]string, error) {
	if _, ok := a.vals["permissions"]; ok {
		return nil, engine.Errorf(a.pos["permissions"], "%s: permissions must be a list, such as [\"commands\", \"docker\"]", a.fn)
	}
	list := slices.Clone(a.lists["permissions"])
	for _, p := range list {
		if _, ok := engine.Permissions[p]; !ok {
			return nil, engine.Errorf(a.pos["permissions"], "%s: unknown permission %q (there are %s)", a.fn, p, strings.Join(slices.Sorted(maps.Keys(engine.Permissions)), ", "))
		}
	}
	slices.Sort(list)
	return slices.Compact(list), nil
}

func (a *callArgs) only(names ...string) error {
	for k := range a.pos {
		if !slices.Contains(names, k) {
			return engine.Errorf(a.pos[k], "%s: unknown argument %s (it takes %s)", a.fn, k, strings.Join(names, ", "))
		}
	}
	return nil
}

// offset returns the byte offset of pos in src.
func offset(src []byte, pos syntax.Position) int {
	line, off := int32(1), 0
	for off < len(src) && line < pos.Line {
		if src[off] == '\n' {
			line++
		}
		off++
	}
	for col := int32(1); col < pos.Col && off < len(src); col++ {
		_, n := utf8.DecodeRune(src[off:])
		off += n
	}
	return off
}

// SetVersion returns the text of the file with dep alias at version v,
// adding a dep() line when there is none (repo is then required).
func (mf *ModFile) SetVersion(alias, repo, v string) []byte {
	d := mf.Dep(alias)
	if d == nil {
		out := slices.Clone(mf.src)
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		return append(out, fmt.Sprintf("dep(%s, repo = %s, version = %s)\n", strconv.Quote(alias), strconv.Quote(repo), strconv.Quote(v))...)
	}
	off := offset(mf.src, d.verPos)
	var out []byte
	out = append(out, mf.src[:off]...)
	out = append(out, strconv.Quote(v)...)
	return append(out, mf.src[off+len(d.verRaw):]...)
}
