package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// waitProbe writes probe.txt and waits for the probe rule to have run n
// times, and for the run to end: every change made before has been dealt
// with by then, since batches keep the order of the changes.
func waitProbe(t *testing.T, ws *testWorkspace, p *ferryProc, n int) {
	t.Helper()
	ws.write(t, "probe.txt", fmt.Sprintf("probe %d\n", n))
	eventually(t, fmt.Sprintf("the probe's run %d", n), func() bool { return ws.countLines("runs.log", "probe") == n })
	eventually(t, "the runs to end", func() bool {
		s := p.stderr.String()
		started := 1 + strings.Count(s, "; running ") + strings.Count(s, "; rules reloaded, running")
		return strings.Count(s, `"summary":true`) == started
	})
}

// A burst of 1,000 files, written as fast as `git checkout` writes them,
// comes in one batch: the first run after it sees every file. (Queueing
// alone, which merges the changes made during a run, would keep the runs
// at two, but the first would see only the first files.) The quiet window
// is wider than the default, since the other tests running beside this
// one can stall the writer longer than 30 ms: this checks that the watch
// batches a burst; engine/watch checks the default window on its own.
func TestWatchBurstRunsAtMostTwice(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "burst", cmd = "echo burst >> runs.log; find src -name '*.go' | wc -l >> seen.log", srcs = ["src"])
task(name = "probe", cmd = "echo probe >> runs.log", srcs = ["probe.txt"])
`,
		"src/keep":  "",
		"probe.txt": "",
	})
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch", "--debounce", "1s", "--max-batch-age", "10s")...)
	eventually(t, "the first run and the watch to start", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	for i := range 1000 {
		name := filepath.Join(ws.path("src"), fmt.Sprintf("pkg%d", i%20), fmt.Sprintf("f%d.go", i))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte("package p\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	waitProbe(t, ws, p, 2)
	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	if n := ws.countLines("runs.log", "burst") - 1; n < 1 || n > 2 {
		t.Errorf("the burst ran the rule %d times, want 1 or 2\n%s", n, r)
	}
	// The first run saw no file, the next the whole burst.
	if seen := strings.Fields(ws.read(t, "seen.log")); len(seen) < 2 || seen[1] != "1000" {
		t.Errorf("the runs saw %q .go files, want 0 then 1000: the burst was not one batch\n%s", seen, r)
	}
}

// A change to a gitignored file runs nothing and is not even reported,
// while a declared srcs file in a gitignored folder is watched.
func TestWatchGitignoreAndDeclaredSrcs(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		".gitignore": "build/\n*.log\n",
		"ferry.star": `
task(name = "app", cmd = "echo app >> runs.log", srcs = ["app"])
task(name = "gen", cmd = "echo gen >> runs.log", srcs = ["build/gen/api.txt"])
task(name = "probe", cmd = "echo probe >> runs.log", srcs = ["probe.txt"])
`,
		"app/main.go":       "",
		"build/gen/api.txt": "v1\n",
		"build/cache/blob":  "",
		"probe.txt":         "",
	})
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch")...)
	eventually(t, "the first run and the watch to start", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	ws.write(t, "build/cache/blob", "changed")
	ws.write(t, "build/cache/new/more", "new")
	ws.write(t, "debug.log", "noise")
	waitProbe(t, ws, p, 2)
	ws.write(t, "build/gen/api.txt", "v2\n")
	eventually(t, "gen to run again", func() bool { return ws.countLines("runs.log", "gen") == 2 })
	ws.write(t, "app/new.go", "package app\n")
	eventually(t, "app to run again", func() bool { return ws.countLines("runs.log", "app") == 2 })

	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	for _, ignored := range []string{"build/cache", "debug.log"} {
		if strings.Contains(r.stderr, ignored) {
			t.Errorf("the ignored %s was reported:\n%s", ignored, r)
		}
	}
	if got := []int{ws.countLines("runs.log", "app"), ws.countLines("runs.log", "gen"), ws.countLines("runs.log", "probe")}; !slices.Equal(got, []int{2, 2, 2}) {
		t.Errorf("runs of app, gen, probe: %v, want [2 2 2]\n%s", got, r)
	}
}

// An image rebuilds when a file is added to its context or removed from
// it, and not when a file its .dockerignore leaves out changes.
func TestWatchImageContext(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `task(name = "probe", cmd = "echo probe >> runs.log", srcs = ["probe.txt"])`+"\n")
	dw.write(t, "app/.dockerignore", "notes/\n")
	dw.write(t, "app/notes/todo.txt", "v1\n")
	dw.write(t, "app/old.txt", "old\n")
	dw.write(t, "probe.txt", "")
	p := dw.start(t, append(slices.Clone(jsonArgs), "--project", dw.project, "watch")...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ferry watch's log:\n%s", p.stderr.String())
		}
	})
	eventually(t, "the first run and the watch to start", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	builds := func() int {
		n := 0
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			if strings.Contains(line, `"rule":"app-image"`) && strings.Contains(line, `"message":"started`) {
				n++
			}
		}
		return n
	}
	if n := builds(); n != 1 {
		t.Fatalf("the first run built the image %d times\n%s", n, p.stderr.String())
	}
	dw.write(t, "app/notes/todo.txt", "v2\n")
	waitProbe(t, dw.testWorkspace, p, 2)
	if n := builds(); n != 1 {
		t.Errorf("a dockerignored change rebuilt the image\n%s", p.stderr.String())
	}
	dw.write(t, "app/extra.txt", "new\n")
	eventually(t, "the image to be rebuilt for a new context file", func() bool { return builds() == 2 })
	waitProbe(t, dw.testWorkspace, p, 3)
	// A context never built before: an image with its key cannot exist.
	if err := os.Remove(dw.path("app/old.txt")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the image to be rebuilt for a removed context file", func() bool { return builds() == 3 })
	waitProbe(t, dw.testWorkspace, p, 4)
	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	if len(r.failed()) > 0 {
		t.Errorf("failed: %q\n%s", r.failed(), r)
	}
}
