package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// A file that appears or vanishes under a glob changes what ferry.star
// declares: the watch evaluates again, and the task sees the new list.
func TestWatchGlobNewFile(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `task(name = "cat", cmd = "cat src/*.txt > all.out", srcs = glob(["src/**/*.txt"]), outs = ["all.out"])`,
		"src/a.txt":  "a\n",
	})
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch")...)
	eventually(t, "the first run and the watch to start", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	ws.write(t, "src/b.txt", "b\n")
	eventually(t, "the new file to be picked up", func() bool {
		b, _ := os.ReadFile(ws.path("all.out"))
		return string(b) == "a\nb\n"
	})
	if !strings.Contains(p.stderr.String(), "rules reloaded") {
		t.Errorf("a new file matching a glob should reload the rules:\n%s", p.stderr.String())
	}
	if err := os.Remove(ws.path("src/a.txt")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the removed file to be dropped", func() bool {
		b, _ := os.ReadFile(ws.path("all.out"))
		return string(b) == "b\n"
	})
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	p.wait(t).wantCode(t, 130)
}
