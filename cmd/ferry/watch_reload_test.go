package main

import (
	"fmt"
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

// A workspace folder deleted during a watch is reported; once it is made
// anew (a branch switch, a re-clone), the watch evaluates it again and goes
// on.
func TestWatchWorkspaceDeleted(t *testing.T) {
	t.Parallel()
	const star = `task(name = "copy", cmd = "cat a.txt > a.out", srcs = ["a.txt"], outs = ["a.out"])`
	ws := newWorkspace(t, map[string]string{"ferry.star": star, "a.txt": "v1\n"})
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch")...)
	eventually(t, "the first run and the watch to start", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	// The watch may be saving its state into .ferry meanwhile, as it
	// would while a user's rm -rf runs: remove until all is gone.
	eventually(t, "the workspace to be removed", func() bool { return os.RemoveAll(ws.dir) == nil })
	eventually(t, "the deletion to be reported", func() bool {
		return strings.Contains(p.stderr.String(), "is gone (deleted or moved away)")
	})
	ws.write(t, "a.txt", "v2\n")
	ws.write(t, "ferry.star", star)
	eventually(t, "the task to run in the new folder", func() bool {
		b, _ := os.ReadFile(ws.path("a.out"))
		return string(b) == "v2\n"
	})
	// The new folder is watched.
	ws.write(t, "a.txt", "v3\n")
	eventually(t, "a change in the new folder to run the task", func() bool {
		b, _ := os.ReadFile(ws.path("a.out"))
		return string(b) == "v3\n"
	})
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	p.wait(t).wantCode(t, 130)
}

// A service that a reload takes out of ferry.star is removed, as ferry up
// removes what is no longer declared; the others stay as they are.
func TestWatchRemovesDroppedService(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "web", image = "app-image")
service(name = "side", image = "app-image")
`)
	p := dw.start(t, append(slices.Clone(jsonArgs), "--project", dw.project, "watch")...)
	running := func(name string) bool {
		for _, c := range dw.containers(t) {
			if strings.HasPrefix(c, dw.project+"-"+name+"-") && strings.Contains(c, " running ") {
				return true
			}
		}
		return false
	}
	eventually(t, "both services to run", func() bool { return running("web") && running("side") })
	before := dw.containers(t)
	dw.setRules(t, `service(name = "web", image = "app-image")`+"\n")
	eventually(t, "side to be removed", func() bool { return !running("side") && len(dw.containers(t)) == 1 })
	if got := dw.containers(t); !slices.Contains(before, got[0]) {
		t.Errorf("web was replaced: before %q, after %q", before, got)
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	r.wantCode(t, 130)
	r.wantStderr(t, "removed "+dw.project+"-side")
}

// An edit to a service's autoscale policy applies at once in a watch: the
// autoscaler starts again with the new policy.
func TestWatchReloadsAutoscale(t *testing.T) {
	t.Parallel()
	rules := func(max int) string {
		return fmt.Sprintf(`service(name = "web", image = "app-image", ports = ["8080"],
    autoscale = autoscale(min = 1, max = %d, metric = "http_requests_total", target = 10, window = "3s", cooldown = "4s", port = 8080))
`, max)
	}
	dw := newDockerWorkspace(t, rules(2))
	p := dw.start(t, append(slices.Clone(jsonArgs), "--project", dw.project, "watch")...)
	eventually(t, "the autoscaler to start", func() bool {
		return strings.Contains(p.stderr.String(), "autoscaling web: autoscale(1-2 replicas")
	})
	dw.setRules(t, rules(3))
	eventually(t, "the autoscaler to start again with the new policy", func() bool {
		return strings.Contains(p.stderr.String(), "autoscaling web: autoscale(1-3 replicas")
	})
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	p.wait(t).wantCode(t, 130)
}
