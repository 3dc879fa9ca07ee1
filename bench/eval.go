package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/stdlib"
)

// evaluate evaluates the workspace's main file (file, relative to root) in
// process, as cmd/ferry does before every command, n times, and returns the
// time engine.Evaluate took each time. It checks that every evaluation
// declared wantRules rules.
func evaluate(root, file string, n, wantRules int) ([]time.Duration, error) {
	ws, err := engine.FindWorkspace(root, file)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", file, err)
	}
	opts := engine.Options{
		Workspace: ws,
		Plugins:   []engine.Plugin{core.Plugin{}},
		Sources:   map[string]engine.ModuleSource{"std": engine.FSSource{Repo: "std", FS: stdlib.FS}},
	}
	var ds []time.Duration
	for i := 0; i < n; i++ {
		// Start each evaluation from a collected heap, as a fresh process does.
		runtime.GC()
		start := time.Now()
		res, err := engine.Evaluate(context.Background(), opts)
		d := time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("evaluate %s: %w", file, err)
		}
		if len(res.Rules) != wantRules {
			return nil, fmt.Errorf("evaluate %s: %d rules declared, want %d", file, len(res.Rules), wantRules)
		}
		ds = append(ds, d)
	}
	return ds, nil
}
