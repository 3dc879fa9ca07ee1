package main

import (
	"maps"
	"slices"
	"syscall"
	"testing"
	"time"
)

// These tests SIGKILL a real ferry in the middle of a run.

// goneWait bounds the wait for a dead ferry's processes to disappear; it is
// not a timing assertion.
const goneWait = 20 * time.Second

// pidOf reads a PID from a workspace file (see readPID) and makes sure the
// process is killed when the test ends, whatever ferry did.
func (ws *testWorkspace) pidOf(t *testing.T, name string) int {
	t.Helper()
	pid := ws.readPID(t, name)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// sigkill kills ferry with SIGKILL and waits until it has exited.
func (p *ferryProc) sigkill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// A task's whole tree dies with ferry, even when ferry gets SIGKILL: the
// command, a background job, and a daemon that left the session with setsid
// after a double fork.
func TestSIGKILLOfFerryKillsTaskDescendants(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `task("spawn", cmd = """
sleep 300 & echo $! > bg.pid
setsid sh -c 'sleep 300 & echo $! > daemon.pid' </dev/null >/dev/null 2>&1 &
echo $$ > main.pid
sleep 300
""")
`,
	})
	p := ws.start(t, "run", "spawn")
	pids := map[string]int{}
	for _, name := range []string{"main.pid", "bg.pid", "daemon.pid"} {
		pids[name] = ws.pidOf(t, name)
	}
	p.sigkill(t)
	deadline := time.Now().Add(goneWait)
	for _, name := range slices.Sorted(maps.Keys(pids)) {
		for processAlive(pids[name]) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if processAlive(pids[name]) {
			t.Errorf("the process of %s (pid %d) is alive %s after ferry was killed with SIGKILL", name, pids[name], goneWait)
		}
	}
}

// A rule that finished is recorded at once: a SIGKILL of ferry while
// another rule still runs does not make it run again.
func TestSIGKILLOfFerryKeepsFinishedRules(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `task("fast", cmd = "echo fast >> fast.log")
task("slow", cmd = "echo $$ > slow.pid; sleep 300")
`,
	})
	p := ws.start(t, append(slices.Clone(jsonArgs), "run", "-j", "2", "fast", "slow")...)
	ws.pidOf(t, "slow.pid")
	eventually(t, "fast to finish", func() bool {
		r := &runResult{stderr: p.stderr.String()}
		r.parseEvents()
		return slices.Contains(r.done(), "fast")
	})
	p.sigkill(t)
	r := ws.ferryJSON(t, "run", "fast")
	r.wantCode(t, 0)
	r.wantRan(t, nil, []string{"fast"})
	if got := ws.read(t, "fast.log"); got != "fast\n" {
		t.Errorf("fast.log: %q, want one line: fast ran again after the SIGKILL", got)
	}
}

// A task whose command exits 0 succeeds even when a background process it
// started still holds its output open; that process is killed with the
// task, and what it wrote before is kept.
func TestTaskBackgroundHoldingOutputSucceeds(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `task("bg", cmd = """
(echo from-bg; touch ready; exec sleep 300) &
echo $! > bg.pid
while [ ! -f ready ]; do sleep 0.01; done
echo main-done
""")
`,
	})
	r := ws.ferryJSON(t, "run", "bg")
	r.wantCode(t, 0)
	out := r.output("bg")
	for _, want := range []string{"from-bg", "main-done"} {
		if !slices.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	pid := ws.pidOf(t, "bg.pid")
	if processAlive(pid) {
		t.Errorf("the background process (pid %d) outlived its task", pid)
	}
}
