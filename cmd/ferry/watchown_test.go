package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// `ferry watch > w.log 2>&1` inside the workspace does not feed on its own
// output: the writes to w.log are no change, though a rule's srcs hold it
// (the rule's key still reads it when the rule runs for another change).
func TestWatchIgnoresItsOwnOutputFile(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `task(name = "all", cmd = "echo all: $(cat probe.txt)", srcs = ["."])` + "\n",
		"probe.txt":  "1\n",
	})
	out, err := os.OpenFile(ws.path("w.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(ferryBin, append(slices.Clone(jsonArgs), "watch")...)
	cmd.Dir = ws.dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	log := func() *runResult {
		r := &runResult{stderr: ws.read(t, "w.log")}
		r.parseEvents()
		return r
	}
	eventually(t, "the first run and the watch to start", func() bool { return strings.Contains(log().stderr, "watching ") })
	// Batches keep the order of changes: had the watch seen its own writes
	// of the first run, "all" would run for them no later than for this.
	ws.write(t, "probe.txt", "2\n")
	eventually(t, "the run for probe.txt", func() bool {
		return slices.Contains(log().output("all"), "all: 2")
	})
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	r := log()
	starts := 0
	for _, e := range r.events {
		if e.isStart() && e.str("rule") == "all" {
			starts++
		}
		// "1 path changed (probe.txt); running all"
		if msg := e.str("message"); !e.isOutput() && strings.Contains(msg, "changed (") && strings.Contains(msg, "w.log") {
			t.Errorf("the watch saw its own writes to w.log as a change: %q\n%s", msg, r.stderr)
		}
	}
	if starts != 2 {
		t.Errorf("all started %d times, want 2 (the first run, then probe.txt)\n%s", starts, r.stderr)
	}
}
