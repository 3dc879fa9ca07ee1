package engine

import (
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/starlark"
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
	// Hash is the hash of the module's file tree: it enters the key of
	// every rule declared while the module's code is on the call stack, so
	// that bumping a module reruns what it declared and nothing else.
	Hash string
	Deps map[string]bool // the aliases its own files may load
	// File names its ferry.mod (or "its repository" when it has none), for
	// messages.
	File string
}

// A ModuleStamp names a shared module whose code declared a rule, and the
// hash of its file tree.
type ModuleStamp struct {
	Alias string
	Hash  string
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
		out = append(out, ModuleStamp{Alias: alias, Hash: sm.Hash})
	}
	slices.SortFunc(out, func(a, b ModuleStamp) int { return strings.Compare(a.Alias, b.Alias) })
	return out
}
