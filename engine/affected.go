package engine

import (
	"context"
	"slices"
	"strings"
)

// Affected returns the rules among names and their deps (as Select picks
// them) that a change to paths may concern, and the rules of that selection
// that depend on them, in selection order: what a watch runs after a batch
// of changes. It costs one Inputs or Concerns call per selected rule.
func (g *Graph) Affected(ctx context.Context, names, paths []string) ([]string, error) {
	sel, err := g.Select(names)
	if err != nil {
		return nil, err
	}
	hit := map[string]bool{}
	for _, n := range sel {
		hit[n] = concerns(ctx, g.Rule(n), paths)
	}
	// Add dependents: sel lists deps first, so one pass reaches the
	// dependents of dependents.
	deps := g.Dependents()
	for _, n := range sel {
		if !hit[n] {
			continue
		}
		for _, d := range deps[n] {
			hit[d] = true
		}
	}
	var out []string
	for _, n := range sel {
		if hit[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// WatchRoots lists the workspace-relative paths that the rules named read
// from, which a watch watches even where .gitignore or .ferryignore exclude
// them: a Watchable rule's WatchRoots, another rule's Inputs.
func (g *Graph) WatchRoots(ctx context.Context, names []string) []string {
	var out []string
	for _, n := range names {
		r := g.Rule(n)
		if r == nil {
			continue
		}
		if wr, ok := r.(Watchable); ok {
			out = append(out, wr.WatchRoots()...)
		} else if ins, err := r.Inputs(ctx); err == nil {
			out = append(out, ins...)
		}
	}
	return out
}

// concerns reports whether a change to paths may change the result of r: a
// Watchable rule decides itself; for the others, a path must be one of the
// rule's inputs, lie below one, or be a folder holding one. When that cannot
// be known, it does, so that the run reports the error with the rule's name.
func concerns(ctx context.Context, r Rule, paths []string) bool {
	if wr, ok := r.(Watchable); ok {
		hit, err := wr.Concerns(ctx, paths)
		return hit || err != nil
	}
	ins, err := r.Inputs(ctx)
	if err != nil {
		return true
	}
	for _, in := range ins {
		if slices.ContainsFunc(paths, func(p string) bool { return within(p, in) || within(in, p) }) {
			return true
		}
	}
	return false
}

// within reports whether the slash path p is dir or below it.
func within(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}
