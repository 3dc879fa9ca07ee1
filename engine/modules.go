package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Modules are the shared modules that the workspace's ferry.mod brings
// in, resolved to one version each (see package engine/mod). Their files
// are loaded as @alias//path.star.
type Modules struct {
	File string          // the workspace's ferry.mod, for messages
	Deps map[string]bool // the aliases the workspace's own files may load
	// ByAlias holds every module of the graph, direct or not.
	ByAlias map[string]*SharedModule
	// Files are the absolute paths of the files the graph was resolved
	// from (ferry.mod, ferry.lock): evaluation records them as read, so a
	// watch evaluates again when they change.
	Files []string
}

// A SharedModule is one module of the graph.
type SharedModule struct {
	Alias  string
	Source ModuleSource
	// Version is the version selected (v1.2.0, or a commit); "" for an
	// override, whose files are whatever its folder holds.
	Version string
	// Hash is the hash of the module's file tree: it enters the key of
	// every rule declared while the module's code is on the call stack, so
	// that bumping a module reruns what it declared and nothing else.
	Hash string
	Deps map[string]bool // the aliases its own files may load
	// Perms are the permissions the module has: those its ferry.mod
	// declares, which the workspace granted. All: every permission (an
	// override, developed beside the workspace).
	Perms map[string]bool
	All   bool
	// Grant says where the workspace grants the module its permissions:
	// "ferry.mod:4:1", or "ferry.mod" when it grants none yet.
	Grant string
	// File names its ferry.mod (or "its repository" when it has none), for
	// messages.
	File string
}

// A ModuleStamp names a shared module whose code declared a rule, the
// hash of its file tree, and its version ("" for an override), which the
// reason for a rerun names.
type ModuleStamp struct {
	Alias   string
	Hash    string
	Version string
}

// visible checks that a file of from's repository may load a file of to's:
// its own files, the built-in repositories (@std), and the modules its
// ferry.mod lists.
func (ev *Evaluation) visible(from, to Label) error {
	if to.Repo == from.Repo || to.Repo == "" {
		return nil
	}
	if _, ok := ev.opts.Sources[to.Repo]; ok {
		return nil
	}
	m := ev.opts.Modules
	if m == nil {
		return nil // source() explains that the repository is unknown
	}
	deps, file := m.Deps, m.File
	if from.Repo != "" {
		if sm := m.ByAlias[from.Repo]; sm != nil {
			deps, file = sm.Deps, sm.File
		}
	}
	if deps[to.Repo] {
		return nil
	}
	if from.Repo == "" {
		return fmt.Errorf("@%s is not a dependency in %s: add it with `ferry mod add %s REPOSITORY@VERSION`", to.Repo, file, to.Repo)
	}
	return fmt.Errorf("@%s is not a dependency of @%s (in %s): a module loads only its own files and the modules its ferry.mod lists", to.Repo, from.Repo, file)
}

// Source returns the files of module alias of the graph, for tools that
// read a module without evaluating the workspace (ferry doc @alias//...);
// m may be nil (no ferry.mod, in file).
func (m *Modules) Source(alias, file string) (ModuleSource, error) {
	if m == nil {
		return nil, fmt.Errorf("@%s: the workspace has no %s; add the module with `ferry mod add %s REPOSITORY@VERSION`", alias, file, alias)
	}
	if sm := m.ByAlias[alias]; sm != nil {
		return sm.Source, nil
	}
	var known []string
	for a := range m.ByAlias {
		known = append(known, a)
	}
	slices.Sort(known)
	msg := fmt.Sprintf("@%s is not a module of %s", alias, m.File)
	if s := Suggest(alias, known); s != "" {
		msg += fmt.Sprintf(" (did you mean @%s?)", s)
	}
	return nil, fmt.Errorf("%s: add it with `ferry mod add %s REPOSITORY@VERSION`", msg, alias)
}

// moduleStamps returns the shared modules whose code is on the thread's
// call stack, sorted by alias.
func (ev *Evaluation) moduleStamps(thread *starlark.Thread) []ModuleStamp {
	m := ev.opts.Modules
	if m == nil || thread == nil {
		return nil
	}
	var out []ModuleStamp
	for _, fr := range thread.CallStack() {
		name := fr.Pos.Filename()
		if !strings.HasPrefix(name, "@") {
			continue
		}
		alias, _, _ := strings.Cut(name[1:], "//")
		sm := m.ByAlias[alias]
		if sm == nil || slices.ContainsFunc(out, func(s ModuleStamp) bool { return s.Alias == alias }) {
			continue
		}
		out = append(out, ModuleStamp{Alias: alias, Hash: sm.Hash, Version: sm.Version})
	}
	slices.SortFunc(out, func(a, b ModuleStamp) int { return strings.Compare(a.Alias, b.Alias) })
	return out
}

// Permissions are what a shared module may be allowed to do beyond
// declaring plain values and functions, with what each allows.
var Permissions = map[string]string{
	"commands": "run commands (task, ctx.sh), and choose which rules ferry ci runs (pipeline)",
	"docker":   "use Docker: build images, declare services, jobs, networks, volumes and environments, inspect containers",
	"files":    "read the workspace's files, outside the module's own tree (read_file, glob, ctx.read, dotenv, env_file, configs)",
	"env":      "read environment variables (os.env, dotenv)",
	"secrets":  "declare a secret, or pass one on",
	"network":  "use the network in run-time actions (metrics.scrape, health.wait)",
}

// Permit checks that every shared module whose code is on the thread's
// call stack has permission perm, for what (a builtin's name, and what in
// its call needs it): for builtins that need a permission only for some
// of their arguments, beside their Builtin.Permission.
func Permit(thread *starlark.Thread, perm, what string) error {
	ev := EvaluationOf(thread)
	if ev == nil || ev.opts.Modules == nil {
		return nil
	}
	for _, fr := range thread.CallStack() {
		name := fr.Pos.Filename()
		if !strings.HasPrefix(name, "@") {
			continue
		}
		alias, _, _ := strings.Cut(name[1:], "//")
		sm := ev.opts.Modules.ByAlias[alias]
		if sm == nil || sm.All || sm.Perms[perm] {
			continue
		}
		return fmt.Errorf("%s: module @%s (%s) has no permission %q, to %s; a module gets it when its own ferry.mod declares it, module(permissions = [%q]), and the workspace grants it in %s: grant(%q, permissions = [%q])",
			what, alias, fr.Pos, perm, Permissions[perm], perm, sm.Grant, alias, perm)
	}
	return nil
}

// sharedOnStack returns the first shared module (not an override) whose
// code is on the thread's call stack, and where; "" when none is.
func sharedOnStack(thread *starlark.Thread) (string, syntax.Position) {
	ev := EvaluationOf(thread)
	if ev == nil || ev.opts.Modules == nil {
		return "", syntax.Position{}
	}
	for _, fr := range thread.CallStack() {
		name := fr.Pos.Filename()
		if !strings.HasPrefix(name, "@") {
			continue
		}
		alias, _, _ := strings.Cut(name[1:], "//")
		if sm := ev.opts.Modules.ByAlias[alias]; sm != nil && !sm.All {
			return alias, fr.Pos
		}
	}
	return "", syntax.Position{}
}

// holdsSecret reports whether v is a secret or holds one.
func holdsSecret(v starlark.Value) bool {
	found := errors.New("found")
	return walkSecrets(v, 0, func(s Secret, _ string) error {
		if s != nil {
			return found
		}
		return nil
	}) == found
}
