package dev

import (
	"context"
	"fmt"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
	"github.com/ferryhq/ferry/engine/watch"
)

// BenchmarkBatch5000 times what the loop does for a one-file batch in a
// graph of 5,000 rules before it starts a run: drop outputs, find the
// affected rules, and the selection and serve tasks the run starts with.
func BenchmarkBatch5000(b *testing.B) {
	var rules []engine.Rule
	for i := range 5000 {
		r := rule(fmt.Sprintf("d%04d", i), fmt.Sprintf("d%04d", i))
		r.outs = []string{fmt.Sprintf("out/d%04d", i)}
		rules = append(rules, r)
	}
	g, err := engine.NewGraph(rules)
	if err != nil {
		b.Fatal(err)
	}
	l := &Loop{Bus: engine.NewBus(redact.New()), ev: &Evaluation{Workspace: &engine.Workspace{Root: b.TempDir()}, Graph: g, Result: &engine.Result{}}}
	l.e = &engine.Engine{Graph: g}
	ctx := context.Background()
	batch := watch.Batch{Paths: []string{"d2500/f03.txt"}}
	for b.Loop() {
		got, err := l.batch(ctx, batch)
		if err != nil || len(got) != 1 {
			b.Fatalf("batch: %v, %v", got, err)
		}
		sel, _ := l.e.Graph.Select(got)
		_ = sel
		_ = l.serveTasks()
	}
}
