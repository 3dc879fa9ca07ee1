package main

// Limits on what an untrusted ferry.star can make ferry do: memory, time
// after a signal, output size and traceback length.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopLimit bounds how long ferry may take to end after SIGINT or SIGTERM.
// It is generous: the test asserts that ferry ends, not how fast (see
// BenchmarkSignalExit for that).
const stopLimit = 10 * time.Second

// waitStopped waits for p to exit, at most stopLimit after why (a signal,
// or what else should stop it) happened.
func (p *ferryProc) waitStopped(t *testing.T, why any) *runResult {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(stopLimit):
		t.Fatalf("ferry %s still runs %s after %v\nstderr:\n%s", strings.Join(p.args, " "), stopLimit, why, p.stderr.String())
	}
	return p.wait(t)
}

// A ferry.star that allocates without bound is stopped by the memory cap
// with its position and a hint, whether it allocates in many steps or in
// one builtin call that never returns before the cap.
func TestEvalMemoryCap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, star, pos string }{
		{"one builtin call", "x = \"a\" * (16 << 20)\ny = \"\".join([x] * 100000)\n", "ferry.star:2:"},
		{"many steps", "l = []\nfor i in range(1 << 40):\n    l.append(\"%d\" % i * 1000)\n", "ferry.star:3:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws := newWorkspace(t, map[string]string{"ferry.star": tc.star})
			r := ws.ferryProcess(t, "--eval-memory", "200Mi", "plan")
			r.wantCode(t, exitConfig)
			r.wantStderr(t, tc.pos, "more than 200.0 MiB", "--eval-memory", "FERRY_EVAL_MEMORY")
		})
	}
	t.Run("environment", func(t *testing.T) {
		t.Parallel()
		ws := newWorkspace(t, map[string]string{"ferry.star": "x = \"a\" * (16 << 20)\ny = \"\".join([x] * 100000)\n"})
		cmd := exec.Command(ferryBin, "plan")
		cmd.Dir = ws.dir
		cmd.Env = append(os.Environ(), "NO_COLOR=1", "FERRY_EVAL_MEMORY=100Mi")
		r := startCmd(t, cmd).wait(t)
		r.wantCode(t, exitConfig)
		r.wantStderr(t, "ferry.star:2:", "more than 100.0 MiB")
	})
	t.Run("bad value", func(t *testing.T) {
		t.Parallel()
		ws := newWorkspace(t, map[string]string{"ferry.star": ""})
		r := ws.ferry(t, "--eval-memory", "lots", "plan")
		r.wantCode(t, exitConfig)
		r.wantStderr(t, "--eval-memory", `"lots"`)
	})
}

// A watch whose ferry.star is changed into one that passes the memory cap
// inside one builtin call ends: the call goes on allocating.
func TestWatchEndsAtMemoryCapInBuiltin(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": `task(name = "a", cmd = "true")` + "\n"})
	cmd := exec.Command(ferryBin, "watch")
	cmd.Dir = ws.dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "FERRY_EVAL_MEMORY=100Mi")
	p := startCmd(t, cmd)
	eventually(t, "the watch to start", func() bool { return strings.Contains(p.stderr.String(), "watching ") })
	ws.write(t, "ferry.star", "x = \"a\" * (16 << 20)\ny = \"\".join([x] * 100000)\n")
	r := p.waitStopped(t, "the change")
	r.wantCode(t, exitConfig)
	r.wantStderr(t, "ferry.star:2:", "more than 100.0 MiB")
}

// SIGINT and SIGTERM end ferry while evaluation is inside one long builtin
// call, which checks for no cancellation.
func TestSignalDuringLongBuiltin(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			ws := newWorkspace(t, map[string]string{
				"ferry.star": "print(\"evaluating\")\nall(range(1, 1 << 62))\n",
			})
			p := ws.start(t, "plan")
			eventually(t, "evaluation to start", func() bool { return strings.Contains(p.stderr.String(), "evaluating") })
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			r := p.waitStopped(t, sig)
			r.wantCode(t, 128+int(sig))
		})
	}
}

// SIGTERM ends ferry run while a server that ignores SIGTERM and has a long
// grace runs, and the server does not outlive ferry.
func TestSignalDuringStubbornServer(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `task(name = "stubborn", cmd = "trap '' TERM; echo $$ > stubborn.pid; while :; do sleep 1; done", serve = True, grace = "120s")` + "\n",
	})
	p := ws.start(t, append(slices.Clone(jsonArgs), "run", "stubborn")...)
	pid := ws.readPID(t, "stubborn.pid")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := p.waitStopped(t, syscall.SIGTERM)
	r.wantCode(t, 143)
	wantDead(t, pid, "the server that ignores SIGTERM, after ferry exited")
}

// ferry graph writes output linear in the size of the graph, however deep
// the graph and however many paths lead to a rule.
func TestGraphOutputIsLinear(t *testing.T) {
	t.Parallel()
	const n = 10_000
	for _, tc := range []struct{ name, deps string }{
		{"chain", `["r%d" % (i - 1)] if i > 0 else []`},
		{"diamond", `["r%d" % (i - 1), "r%d" % (i - 2)] if i > 1 else []`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws := newWorkspace(t, map[string]string{
				"ferry.star": fmt.Sprintf("for i in range(%d):\n    task(name = \"r%%d\" %% i, cmd = \"true\", deps = %s)\n", n, tc.deps),
			})
			for _, format := range []string{"text", "dot"} {
				r := ws.ferry(t, "graph", "--format", format)
				r.wantCode(t, 0)
				if size := len(r.stdout); size > 200*n {
					t.Errorf("graph --format %s of %d rules wrote %d bytes, want at most %d", format, n, size, 200*n)
				}
				for _, name := range []string{"r0", "r4999", fmt.Sprintf("r%d", n-1)} {
					if !strings.Contains(r.stdout, name+" (task)") && !strings.Contains(r.stdout, `"`+name+`"`) {
						t.Errorf("graph --format %s lacks %s", format, name)
					}
				}
			}
		})
	}
}

// A Starlark stack overflow prints the first and last frames, not 100,000.
func TestStackOverflowTracebackIsBounded(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": "def f(n):\n    return f(n + 1)\n\nf(0)\n",
	})
	r := ws.ferry(t, "plan")
	r.wantCode(t, exitConfig)
	r.wantStderr(t, "Starlark stack overflow", "ferry.star:2:13", "ferry.star:4:2", "frames omitted")
	if lines := strings.Count(r.stderr, "\n"); lines > 50 {
		t.Errorf("the traceback has %d lines, want at most 50\n%.2000s", lines, r.stderr)
	}
}

// Ctrl-C during ferry up ends ferry only after the container it started is
// removed, although the container ignores SIGTERM and takes the whole stop
// grace to go: a second Ctrl-C is what cuts that short.
func TestUpInterruptedWaitsForCleanup(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `job(name = "slow", image = "app-image", command = ["migrate"], env = {"SLEEP": "60", "IGNORE_TERM": "1"})`)
	p := dw.start(t, "--project", dw.project, "up")
	eventually(t, "the job to start", func() bool { return strings.Contains(p.stderr.String(), "sleeping") })
	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	if left := dw.containers(t); len(left) != 0 {
		t.Errorf("containers left after Ctrl-C: %v\n%s", left, r)
	}
}

// BenchmarkSignalExit measures how long ferry takes to end after SIGTERM
// (ms/stop), while evaluation is inside one long builtin call (which
// Evaluate abandons) and while a server that ignores SIGTERM runs (which
// the forced exit kills): each should be about a second at most.
func BenchmarkSignalExit(b *testing.B) {
	for _, bc := range []struct {
		name, star, ready string
		args              []string
	}{
		{"builtin", "print(\"evaluating\")\nall(range(1, 1 << 62))\n", "evaluating", []string{"plan"}},
		{"server", `task(name = "stubborn", cmd = "trap '' TERM; echo listening; while :; do sleep 1; done", serve = True, grace = "120s")` + "\n", "listening", []string{"run", "stubborn"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "ferry.star"), []byte(bc.star), 0o644); err != nil {
				b.Fatal(err)
			}
			var total time.Duration
			for i := 0; i < b.N; i++ {
				cmd := exec.Command(ferryBin, bc.args...)
				cmd.Dir = dir
				var stderr syncBuffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				for !strings.Contains(stderr.String(), bc.ready) {
					time.Sleep(5 * time.Millisecond)
				}
				start := time.Now()
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/stop")
		})
	}
}
