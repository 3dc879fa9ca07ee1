package main

import (
	"context"
	"slices"

	"github.com/ferryhq/ferry/engine"
)

// concerns reports whether a change to paths may change the result of r: a
// Watchable rule decides itself; for the others, a path must be one of the
// rule's inputs, lie below one, or be a folder holding one. When that cannot
// be known, it does, so that the run reports the error with the rule's name.
func concerns(ctx context.Context, r engine.Rule, paths []string) bool {
	if wr, ok := r.(engine.Watchable); ok {
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

// watchRoots lists the paths the rules named read from, which the watcher
// watches even where .gitignore or .ferryignore exclude them.
func watchRoots(ctx context.Context, g *engine.Graph, names []string) []string {
	var out []string
	for _, n := range names {
		r := g.Rule(n)
		if wr, ok := r.(engine.Watchable); ok {
			out = append(out, wr.WatchRoots()...)
		} else if ins, err := r.Inputs(ctx); err == nil {
			out = append(out, ins...)
		}
	}
	return out
}
