package main

import (
	"context"
	"strings"

	"github.com/ferryhq/ferry/engine"
)

// runAuto brings the selected rules up to date, leaving out manual ones
// (trigger = "manual"), which run only when triggered.
func (w *watcher) runAuto(ctx context.Context) error {
	g := w.l.graph
	sel, err := g.Select(w.names)
	if err != nil {
		return err
	}
	var auto []string
	for _, n := range sel {
		if !g.Rule(n).Info().Manual {
			auto = append(auto, n)
		}
	}
	if len(auto) == 0 {
		w.a.bus.Logf(engine.LevelInfo, "every selected rule is manual: nothing runs until `ferry trigger RULE`")
		return nil
	}
	return w.run(ctx, auto)
}

// dropManual removes manual rules from rules.
func (w *watcher) dropManual(rules []string) []string {
	var out []string
	for _, n := range rules {
		if !w.l.graph.Rule(n).Info().Manual {
			out = append(out, n)
		}
	}
	return out
}

// trigger runs rules that `ferry trigger` or the view asked for, even when
// they are up to date; their deps run only when out of date.
func (w *watcher) trigger(ctx context.Context, rules []string) error {
	w.a.bus.Logf(engine.LevelInfo, "triggered: running %s", strings.Join(rules, ", "))
	saved := w.o
	w.o.ForceRules = rules
	defer func() { w.o = saved }()
	return w.run(ctx, rules)
}
