package core

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

func TestServeTaskErrors(t *testing.T) {
	for src, want := range map[string]string{
		`task(name = "s", cmd = "x", serve = True, outs = ["o"])`:      "takes no outs",
		`task(name = "s", run = print, serve = True)`:                  "takes no run",
		`task(name = "s", cmd = "x", serve = True, timeout = "1s")`:    "takes no timeout",
		`task(name = "s", cmd = "x", serve = True, retries = 1)`:       "takes no retries",
		`task(name = "s", cmd = "x", serve = True, cache = False)`:     "remove cache = False",
		`task(name = "s", cmd = "x", grace = "1s")`:                    "grace applies only to a serve task",
		`task(name = "s", cmd = "x", serve = True, grace = "forever")`: "grace: got string, want duration",
	} {
		_, err := evalFiles(t, map[string]string{"ferry.star": src}, nil)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "ferry.star:1:") {
			t.Errorf("%s: got %v, want %q with a position", src, err, want)
		}
	}

	res, err := evalFiles(t, map[string]string{"ferry.star": `
task(name = "api", cmd = "x", serve = True)
task(name = "e2e", cmd = "x", deps = ["api"])
`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.NewGraph(res.Rules)
	if want := `ferry.star:3:5: task "e2e": dep "api" is a serve task (declared at ` + res.Rules[0].Info().Pos.String() + `)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a dep on a serve task: got %v, want %q", err, want)
	}
}

// A serve task is not a default rule; in a watch (with Servers) it is up to
// date while its process runs, and runs again once it does not.
func TestServeTaskUpToDateWhileRunning(t *testing.T) {
	res, err := evalFiles(t, map[string]string{
		"ferry.star": `
task(name = "build", cmd = "true")
task(name = "api", cmd = "echo $$ >> pids; exec sleep 100", srcs = ["main.txt"], serve = True, grace = "1s")
`,
		"main.txt": "v1\n",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(res.Files[0])
	ws := &engine.Workspace{Root: root, File: filepath.Join(root, engine.FileName)}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		t.Fatal(err)
	}
	if sel, _ := g.Select(nil); !slices.Equal(sel, []string{"build"}) {
		t.Errorf("default rules: %q, want only build", sel)
	}
	st, err := engine.LoadState(ws, false)
	if err != nil {
		t.Fatal(err)
	}
	e := engine.NewEngine(ws, g, st, engine.NewBus(redact.New()))
	e.Servers = engine.NewSupervisor(e.Events)
	t.Cleanup(e.Servers.Stop)
	run := func() *engine.Summary {
		t.Helper()
		sum, err := e.Run(context.Background(), []string{"api"}, engine.RunOptions{Jobs: 1})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	pids := func() []string {
		b, _ := os.ReadFile(filepath.Join(root, "pids"))
		return strings.Fields(string(b))
	}
	waitPIDs := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for len(pids()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %d pids: %q", n, pids())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	if sum := run(); !slices.Equal(sum.Ran, []string{"api"}) {
		t.Fatalf("first run: ran %q", sum.Ran)
	}
	waitPIDs(1)
	if sum := run(); !slices.Equal(sum.Cached, []string{"api"}) {
		t.Errorf("second run while it runs: cached %q, want api", sum.Cached)
	}
	if err := os.WriteFile(filepath.Join(root, "main.txt"), []byte("v2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if sum := run(); !slices.Equal(sum.Ran, []string{"api"}) {
		t.Errorf("run after a change: ran %q, want api", sum.Ran)
	}
	waitPIDs(2)
	e.Servers.Stop()
	// Stopped: not up to date any more, though its key is unchanged.
	plan, err := e.Plan(context.Background(), []string{"api"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !plan[0].Run || !slices.Equal(plan[0].Reasons, []string{"server not running"}) {
		t.Errorf("plan after Stop: %+v, want to run because the server is not running", plan[0])
	}
}
