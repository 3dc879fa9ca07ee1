package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// countLines counts the lines of a workspace file equal to line (0 if the
// file is missing).
func (ws *testWorkspace) countLines(name, line string) int {
	b, err := os.ReadFile(ws.path(name))
	if err != nil {
		return 0
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if l == line {
			n++
		}
	}
	return n
}

// ranAndEnded reports whether the JSON logs in stderr hold the n-th
// success of rule and, after it, the summary of its run.
func ranAndEnded(stderr, rule string, n int) bool {
	r := &runResult{stderr: stderr}
	r.parseEvents()
	done := 0
	for _, e := range r.events {
		if e.isDone() && e.str("rule") == rule {
			done++
		}
		if b, _ := e["summary"].(bool); b && done >= n {
			return true
		}
	}
	return false
}

const watchStar = `
task(name = "one", cmd = "cat one.src > one.out; echo one >> runs.log", srcs = ["one.src"], outs = ["one.out"])
task(name = "two", cmd = "cat two.src > two.out; echo two >> runs.log", srcs = ["two.src"], outs = ["two.out"])
`

func TestWatch(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": watchStar,
		"one.src":    "one v1\n",
		"two.src":    "two v1\n",
	})
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch")...)
	eventually(t, "the first run and the watch to start", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	if ws.countLines("runs.log", "one") != 1 || ws.countLines("runs.log", "two") != 1 {
		t.Fatalf("first run: runs.log = %q\n%s", ws.read(t, "runs.log"), p.stderr.String())
	}

	// A changed source reruns its task only.
	ws.write(t, "one.src", "one v2\n")
	eventually(t, "one.out to be rebuilt", func() bool {
		b, _ := os.ReadFile(ws.path("one.out"))
		return string(b) == "one v2\n"
	})
	// The batch may also hold runs.log, which the first run wrote.
	eventually(t, "the batch to be logged", func() bool {
		return regexp.MustCompile(`\d paths? changed \([^)]*one\.src[^)]*\); running one"`).MatchString(p.stderr.String())
	})

	// A syntax error is reported with its position; the watch goes on.
	ws.write(t, "ferry.star", watchStar+"task(name = \"three\" cmd = \"true\")\n")
	eventually(t, "the syntax error to be logged", func() bool {
		return regexp.MustCompile(`ferry\.star:4:\d+: syntax error`).MatchString(p.stderr.String())
	})

	// Fixing it reloads the rules: the new rule runs, the others are up to
	// date.
	ws.write(t, "ferry.star", watchStar+`task(name = "three", cmd = "echo three >> runs.log")`+"\n")
	eventually(t, "the rule added by the fix to run", func() bool {
		return ws.countLines("runs.log", "three") == 1
	})

	// A later change still works, after the reload. The wait is for the
	// run to end, not for two.out: two's command writes runs.log after it,
	// and an interrupt in between, which a loaded machine makes likely
	// enough, would fail the count below and leave two to run again.
	ws.write(t, "two.src", "two v2\n")
	eventually(t, "two to run again and its run to end", func() bool { return ranAndEnded(p.stderr.String(), "two", 2) })
	if b, _ := os.ReadFile(ws.path("two.out")); string(b) != "two v2\n" {
		t.Errorf("two.out = %q after two ran again", b)
	}

	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	r.wantCode(t, 130)
	if got := []int{ws.countLines("runs.log", "one"), ws.countLines("runs.log", "two"), ws.countLines("runs.log", "three")}; !slices.Equal(got, []int{2, 2, 1}) {
		t.Errorf("runs of one, two, three: %v, want [2 2 1]\nruns.log:\n%s\n%s", got, ws.read(t, "runs.log"), r)
	}
	if len(r.failed()) > 0 {
		t.Errorf("failed: %q\n%s", r.failed(), r)
	}

	// The state was saved: a run afterwards has nothing to do.
	ws.ferryJSON(t, "run").wantRan(t, nil, []string{"one", "two", "three"})
}

// A failing rule does not end the watch, and a save without a change runs
// nothing.
func TestWatchFailingRuleAndNoOpSave(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `task(name = "check", cmd = "grep -q ok in.txt; r=$?; echo ran >> runs.log; exit $r", srcs = ["in.txt"])` + "\n",
		"in.txt":     "bad\n",
	})
	p := ws.start(t, append(slices.Clone(jsonArgs), "dev")...)
	eventually(t, "the first run and the watch to start", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	ws.write(t, "in.txt", "ok\n")
	eventually(t, "the fixed rule to run", func() bool { return ws.countLines("runs.log", "ran") == 2 })
	eventually(t, "the run to end", func() bool { return strings.Count(p.stderr.String(), `"summary":true`) == 2 })

	// Same contents: the batch is logged, the key check runs nothing.
	ws.write(t, "in.txt", "ok\n")
	eventually(t, "the second batch", func() bool { return strings.Count(p.stderr.String(), "running check") == 2 })
	eventually(t, "the run to end", func() bool { return strings.Count(p.stderr.String(), `"summary":true`) == 3 })
	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	if n := ws.countLines("runs.log", "ran"); n != 2 {
		t.Errorf("check ran %d times, want 2\n%s", n, r)
	}
}

// A ferry.star that does not evaluate when the watch starts is reported, and
// the watch waits for the save that fixes it.
func TestWatchStartsBroken(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": "task(name = \"one\" cmd = \"true\")\n",
	})
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch")...)
	eventually(t, "the error and the wait to be logged", func() bool {
		s := p.stderr.String()
		return strings.Contains(s, "ferry.star:1:") && strings.Contains(s, "waiting for a change that fixes it")
	})
	ws.write(t, "ferry.star", watchStar)
	ws.write(t, "one.src", "one\n")
	ws.write(t, "two.src", "two\n")
	eventually(t, "the fixed rules to run", func() bool {
		return ws.countLines("runs.log", "one") == 1 && ws.countLines("runs.log", "two") == 1
	})
	p.cmd.Process.Signal(os.Interrupt)
	p.wait(t).wantCode(t, 130)
}
