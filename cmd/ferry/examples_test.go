package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every example is a complete workspace: it runs from a fresh copy, and a
// second run finds everything up to date.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob("../../examples/*/ferry.star")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range dirs {
		src := filepath.Dir(f)
		t.Run(filepath.Base(src), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
			var logs strings.Builder
			if code := run(context.Background(), []string{"-C", dir, "run"}, io.Discard, &logs); code != 0 {
				t.Fatalf("ferry run exited %d:\n%s", code, logs.String())
			}
			st, err := os.ReadFile(filepath.Join(dir, ".ferry", "state"))
			if err != nil || len(st) == 0 {
				t.Fatalf("no state written: %v", err)
			}
			var plan strings.Builder
			if code := run(context.Background(), []string{"-C", dir, "plan"}, &plan, io.Discard); code != 0 {
				t.Fatalf("ferry plan exited %d", code)
			}
			if !strings.Contains(plan.String(), "\n0 of ") {
				t.Errorf("after a run, plan still has work:\n%s", plan.String())
			}
		})
	}
}
