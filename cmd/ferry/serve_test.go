package main

import (
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// serveStar builds app.txt from main.src, and serves it: the server writes
// its pid and the pid of a child it forks, then waits.
const serveStar = `
task(name = "build", cmd = "cat main.src > app.txt", srcs = ["main.src"], outs = ["app.txt"])
task(
    name = "api",
    cmd = "sleep 1000 & echo $! > child.pid; echo $$ > api.pid; echo serving $(cat app.txt); wait",
    deps = ["build"],
    serve = True,
    grace = "2s",
)
`

// outputLines returns the output lines of rule in a JSON log.
func outputLines(stderr, rule string) []string {
	r := &runResult{stderr: stderr}
	r.parseEvents()
	return r.output(rule)
}

// A serve task starts after its deps, is restarted (old group gone, new one
// up) when a dep's key changes, and is stopped with its children when ferry
// is interrupted.
func TestWatchServe(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": serveStar, "main.src": "v1\n"})
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch")...)
	eventually(t, "the server to start", func() bool {
		return slices.Contains(outputLines(p.stderr.String(), "api"), "serving v1")
	})
	pid1, child1 := ws.readPID(t, "api.pid"), ws.readPID(t, "child.pid")
	if !processAlive(pid1) || !processAlive(child1) {
		t.Fatalf("server %d or its child %d is not running\n%s", pid1, child1, p.stderr.String())
	}

	ws.write(t, "main.src", "v2\n")
	eventually(t, "the restarted server to serve v2", func() bool {
		return slices.Contains(outputLines(p.stderr.String(), "api"), "serving v2")
	})
	pid2, child2 := ws.readPID(t, "api.pid"), ws.readPID(t, "child.pid")
	if pid2 == pid1 {
		t.Fatalf("api.pid still holds %d after the restart", pid1)
	}
	wantDead(t, pid1, "the first server")
	wantDead(t, child1, "the first server's child")

	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	r.wantCode(t, 130)
	// ferry waited for them: they are gone when it exits.
	for _, pid := range []int{pid2, child2} {
		if processAlive(pid) {
			t.Errorf("pid %d of the server is alive after ferry exited\n%s", pid, r)
		}
	}
	if n := len(outputLines(r.stderr, "api")); n != 2 {
		t.Errorf("server output lines: %d, want 2 (one per start)\n%s", n, r)
	}
	r.wantStderr(t, "api: server started", "api: server stopped")
	if f := r.failed(); len(f) > 0 {
		t.Errorf("failed: %q\n%s", f, r)
	}
}

// A server that ignores SIGTERM is killed after its grace when ferry gets
// SIGTERM; a server that exits on its own is reported and started again at
// the next change, not before.
func TestWatchServeExitAndSIGTERM(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "stubborn", cmd = "trap '' TERM; echo $$ > stubborn.pid; while :; do sleep 1; done", serve = True, grace = "300ms")
task(name = "crashy", cmd = "echo start >> crashy.log; echo 'listen: address in use' >&2; exit 3", srcs = ["crashy.src"], serve = True)
`,
		"crashy.src": "1\n",
	})
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch")...)
	eventually(t, "the crash to be reported", func() bool {
		return strings.Contains(p.stderr.String(), "crashy: server exited on its own (exit code 3)")
	})
	if !strings.Contains(p.stderr.String(), "listen: address in use") {
		t.Errorf("the report lacks the server's last line\n%s", p.stderr.String())
	}
	eventually(t, "the watch to start", func() bool { return strings.Contains(p.stderr.String(), "watching ") })
	if n := ws.countLines("crashy.log", "start"); n != 1 {
		t.Fatalf("crashy started %d times before any change, want 1", n)
	}
	ws.write(t, "crashy.src", "2\n")
	eventually(t, "crashy to start again after the change", func() bool { return ws.countLines("crashy.log", "start") == 2 })

	pid := ws.readPID(t, "stubborn.pid")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	r.wantCode(t, 143)
	if processAlive(pid) {
		t.Errorf("the server that ignores SIGTERM (pid %d) is alive after ferry exited\n%s", pid, r)
	}
}

// ferry run NAME runs a serve task in the foreground until Ctrl-C; ferry run
// with no names leaves it out.
func TestRunServeForeground(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": serveStar, "main.src": "v1\n"})
	r := ws.ferryJSON(t, "run")
	r.wantRan(t, []string{"build"}, nil)

	p := ws.start(t, append(slices.Clone(jsonArgs), "run", "api")...)
	eventually(t, "the server to start", func() bool {
		return slices.Contains(outputLines(p.stderr.String(), "api"), "serving v1")
	})
	pid, child := ws.readPID(t, "api.pid"), ws.readPID(t, "child.pid")
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r = p.wait(t)
	r.wantCode(t, 130)
	wantDead(t, pid, "the server")
	wantDead(t, child, "the server's child")
}

// A rule that depends on a serve task is an error that says where.
func TestServeDepError(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": serveStar + `task(name = "e2e", cmd = "true", deps = ["api"])` + "\n"})
	r := ws.ferry(t, "run")
	r.wantCode(t, 2)
	r.wantStderr(t, `ferry.star:10:5: task "e2e": dep "api" is a serve task (declared at `, "remove it from deps")
}

// A change to the input of a rule that is running interrupts the run and
// starts it again; the command never runs twice at once. A change to a rule
// the run is done with waits for the run to end.
func TestWatchRestartsInterruptedBuild(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "quick", cmd = "echo quick >> quick.log", srcs = ["quick.src"])
task(
    name = "slow",
    cmd = "trap 'echo killed >> runs.log; exit 1' TERM; echo start >> runs.log; n=3; if grep -q v2 slow.src; then n=60; fi; sleep $n & wait $!; cat slow.src > slow.out; echo end >> runs.log",
    srcs = ["slow.src"],
    outs = ["slow.out"],
)
`,
		"slow.src":  "v1\n",
		"quick.src": "v1\n",
	})
	runs := func() string {
		b, _ := os.ReadFile(ws.path("runs.log"))
		return strings.Join(strings.Fields(string(b)), " ")
	}
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch", "-j", "2")...)
	// quick writes quick.log before it is done: wait for its done event.
	eventually(t, "quick to be done and slow to start", func() bool {
		return runs() == "start" && slices.ContainsFunc(strings.Split(p.stderr.String(), "\n"), func(l string) bool {
			return strings.Contains(l, `"rule":"quick"`) && strings.Contains(l, `"message":"done in `)
		})
	})
	// The run is done with quick: a change to it waits for slow to end.
	ws.save(t, "quick.src", "v2\n")
	eventually(t, "quick to run again", func() bool { return ws.countLines("quick.log", "quick") == 2 })
	if got := runs(); got != "start end" {
		t.Fatalf("runs.log: %q when quick ran again, want slow to have ended first: start end\n%s", got, p.stderr.String())
	}

	// slow is running: a change to it interrupts it. At v2 it runs for a
	// minute, so that the change comes while it runs however slow the
	// machine; 3s were short enough for a loaded one to see it end first.
	ws.save(t, "slow.src", "v2\n")
	eventually(t, "slow to run again", func() bool { return runs() == "start end start" })
	ws.save(t, "slow.src", "v3\n")
	// slow writes slow.out before its end line: wait for both.
	eventually(t, "slow to end with slow.out holding v3", func() bool {
		b, _ := os.ReadFile(ws.path("slow.out"))
		return string(b) == "v3\n" && strings.HasSuffix(runs(), "start end")
	})
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	r.wantCode(t, 130)
	if got := runs(); got != "start end start killed start end" {
		t.Errorf("runs.log: %q, want the interrupted slow to end before the next starts: start end start killed start end\n%s", got, r)
	}
	r.wantStderr(t, "a change touches slow, which is running with older inputs")
	if !slices.Contains(r.skipped(), "slow") {
		t.Errorf("the interrupted slow was not reported as skipped\n%s", r)
	}
	if slices.Contains(r.skipped(), "quick") {
		t.Errorf("quick was interrupted, though the run was done with it\n%s", r)
	}
}

// A reload that removes a serve task stops its server.
func TestWatchServeRemoved(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": serveStar, "main.src": "v1\n"})
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch")...)
	pid := ws.readPID(t, "api.pid")
	ws.write(t, "ferry.star", strings.Split(serveStar, "task(\n")[0])
	wantDead(t, pid, "the server of the removed serve task")
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	r.wantCode(t, 130)
	r.wantStderr(t, "api: server stopped")
}
