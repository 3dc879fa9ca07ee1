//go:build unix

package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// noopStar reads one of each kind of input an evaluation can have: its own
// text, a loaded module, a glob's folder, a read_file, an environment
// variable and a config flag.
const noopStar = `load("//lib.star", "CMD")
MSG = read_file("msg.txt").strip()
MODE = os.env("FERRY_NOOP_TEST_MODE", "plain")
LEVEL = config.flag("level", "1")
task(
    name = "a",
    cmd = CMD + " " + MSG + " " + MODE + " " + LEVEL + " > out.txt",
    srcs = glob(["src/*.txt"]),
    outs = ["out.txt"],
)
`

// noopWorkspace writes a workspace of one task whose evaluation reads
// every kind of input, and returns its folder.
func noopWorkspace(t *testing.T, star string) string {
	t.Helper()
	dir := t.TempDir()
	for p, s := range map[string]string{
		"ferry.star": star,
		"lib.star":   `CMD = "echo"` + "\n",
		"msg.txt":    "hello\n",
		"src/a.txt":  "a\n",
		"src/b.txt":  "b\n",
	} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// settle waits until what was just written is old enough for ferry to
// trust its times (engine.racyWindow is 50 ms).
func settle() { time.Sleep(80 * time.Millisecond) }

type noopSession struct {
	t      *testing.T
	dir    string
	config string
}

func (n *noopSession) open() *engine.Session {
	n.t.Helper()
	s, err := engine.Open(engine.SessionOptions{
		Dir:     n.dir,
		Plugins: func(*engine.Session) []engine.Plugin { return []engine.Plugin{core.Plugin{}} },
		Events:  engine.NewBus(redact.New()),
		Config:  n.config,
	})
	if err != nil {
		n.t.Fatal(err)
	}
	return s
}

// run evaluates and runs as `ferry run` does when it does not trust a
// record, and returns what ran.
func (n *noopSession) run(flags map[string]string) []string {
	n.t.Helper()
	l, err := n.open().Load(context.Background(), flags)
	if err != nil {
		n.t.Fatal(err)
	}
	sum, err := l.Run(context.Background(), nil, engine.RunOptions{})
	if err != nil {
		n.t.Fatal(err)
	}
	return sum.Ran
}

func (n *noopSession) upToDate(flags map[string]string) bool {
	n.t.Helper()
	sum, ok := n.open().UpToDate(context.Background(), nil, flags, false)
	if ok && (!slices.Contains(sum.Cached, "a") || len(sum.Ran) != 0) {
		n.t.Fatalf("UpToDate reported %+v, want rule a up to date", sum)
	}
	return ok
}

// primed returns a workspace whose last run left a no-op record: the first
// run's output is too recent to trust, so a second run writes it.
func primed(t *testing.T, star string) *noopSession {
	n := &noopSession{t: t, dir: noopWorkspace(t, star), config: "ferry test"}
	settle()
	if ran := n.run(nil); !slices.Contains(ran, "a") {
		t.Fatalf("first run ran %v, want a", ran)
	}
	settle()
	if ran := n.run(nil); len(ran) != 0 {
		t.Fatalf("second run ran %v, want nothing", ran)
	}
	if !n.upToDate(nil) {
		t.Fatal("a run with nothing changed does not trust the no-op record")
	}
	return n
}

func (n *noopSession) write(rel, content string) {
	n.t.Helper()
	if err := os.WriteFile(filepath.Join(n.dir, rel), []byte(content), 0o644); err != nil {
		n.t.Fatal(err)
	}
}

// TestNoopRecordInvalidated: a no-op record stands only while nothing the
// evaluation or the rules depend on changed: one case per kind of input.
// After each change, the run that evaluates again does what the change
// asks.
func TestNoopRecordInvalidated(t *testing.T) {
	cases := []struct {
		name   string
		change func(n *noopSession)
		flags  map[string]string
		reruns bool // the change reruns the task
	}{
		{"ferry.star content", func(n *noopSession) {
			n.write("ferry.star", noopStar[:len(noopStar)-2]+`    doc = "changed",`+"\n)\n")
		}, nil, false},
		{"loaded module", func(n *noopSession) { n.write("lib.star", `CMD = "printf %s"`+"\n") }, nil, true},
		{"glob listing, file added", func(n *noopSession) { n.write("src/c.txt", "c\n") }, nil, true},
		{"glob listing, file removed", func(n *noopSession) {
			if err := os.Remove(filepath.Join(n.dir, "src/b.txt")); err != nil {
				t.Fatal(err)
			}
		}, nil, true},
		{"read_file content", func(n *noopSession) { n.write("msg.txt", "howdy\n") }, nil, true},
		{"env var", func(n *noopSession) { t.Setenv("FERRY_NOOP_TEST_MODE", "loud") }, nil, true},
		{"env var set empty", func(n *noopSession) { t.Setenv("FERRY_NOOP_TEST_MODE", "") }, nil, true},
		{"config flag", func(n *noopSession) {}, map[string]string{"level": "2"}, true},
		{"ferry version", func(n *noopSession) { n.config = "ferry test, another version" }, nil, false},
		{"input content", func(n *noopSession) { n.write("src/a.txt", "A\n") }, nil, true},
		{"output removed", func(n *noopSession) {
			if err := os.Remove(filepath.Join(n.dir, "out.txt")); err != nil {
				t.Fatal(err)
			}
		}, nil, true},
		{"output modified", func(n *noopSession) { n.write("out.txt", "tampered\n") }, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := primed(t, noopStar)
			n.t = t
			c.change(n)
			if n.upToDate(c.flags) {
				t.Fatal("the no-op record was trusted after the change")
			}
			ran := n.run(c.flags)
			if c.reruns && len(ran) != 1 {
				t.Errorf("after the change, the run ran %v, want a", ran)
			}
		})
	}
}

// TestNoopRecordNotWritten: an evaluation that depends on what no record
// can check (the clock) or does what a run must repeat (print) writes no
// record, nor does a run whose files are too recent to trust.
func TestNoopRecordNotWritten(t *testing.T) {
	for name, star := range map[string]string{
		"print":    noopStar + "print(\"hello\")\n",
		"time.now": noopStar + "NOW = time.now()\n",
	} {
		t.Run(name, func(t *testing.T) {
			n := &noopSession{t: t, dir: noopWorkspace(t, star), config: "ferry test"}
			settle()
			n.run(nil)
			settle()
			n.run(nil)
			if n.upToDate(nil) {
				t.Fatal("a record was trusted for an evaluation that cannot be reused")
			}
		})
	}
	t.Run("recent output", func(t *testing.T) {
		n := &noopSession{t: t, dir: noopWorkspace(t, noopStar), config: "ferry test"}
		settle()
		n.run(nil) // writes out.txt just now
		if n.upToDate(nil) {
			t.Fatal("a record was trusted while the output was too recent to trust its times")
		}
	})
}

// TestNoopRecordOtherRun: a record holds only for the same rule names, and
// only with the state it was written with.
func TestNoopRecordOtherRun(t *testing.T) {
	n := primed(t, noopStar+"task(name = \"b\", cmd = \"true\")\n")
	if sum, ok := n.open().UpToDate(context.Background(), []string{"b"}, nil, false); ok {
		t.Fatalf("a record of the default rules was trusted for rule b: %+v", sum)
	}
	// Another run changes the state: b runs again.
	l, err := n.open().Load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Run(context.Background(), []string{"b"}, engine.RunOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if n.upToDate(nil) {
		t.Fatal("the record was trusted after another run changed the state")
	}
	if _, ok := n.open().UpToDate(context.Background(), nil, nil, true); ok {
		t.Fatal("--force trusted a record")
	}
}

// TestNoopRecordPerCommand: two command lines that alternate (here the
// default rules and rule b alone) each keep their record.
func TestNoopRecordPerCommand(t *testing.T) {
	n := primed(t, noopStar+"task(name = \"b\", cmd = \"true\", srcs = [\"msg.txt\"])\n")
	l, err := n.open().Load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Run(context.Background(), []string{"b"}, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.open().UpToDate(context.Background(), []string{"b"}, nil, false); !ok {
		t.Fatal("rule b's run left no record")
	}
	if !n.upToDate(nil) {
		t.Fatal("rule b's run replaced the record of the default rules")
	}
}

// TestNoopRecordKeepsNoEnvValue: the record holds a digest of each
// variable's value, never the value, which may be sensitive.
func TestNoopRecordKeepsNoEnvValue(t *testing.T) {
	const value = "ferry-noop-s3cr3t-value"
	t.Setenv("FERRY_NOOP_TEST_MODE", value)
	n := primed(t, noopStar)
	entries, err := os.ReadDir(filepath.Join(n.dir, engine.StateDir))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(n.dir, engine.StateDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(e.Name(), "noop-") {
			found++
			if strings.Contains(string(b), value) {
				t.Errorf("%s holds the value of FERRY_NOOP_TEST_MODE", e.Name())
			}
		}
	}
	if found != 1 {
		t.Fatalf("%d no-op records in %s, want 1", found, engine.StateDir)
	}
}

// TestNoopChangeStartsSupervisor: when the no-op record finds that a file
// changed, the supervisor that commands run under starts at once, while
// ferry.star is evaluated, not when the first command starts.
func TestNoopChangeStartsSupervisor(t *testing.T) {
	n := primed(t, noopStar)
	engine.KillCommands()
	if engine.SupervisorStarted() {
		t.Fatal("the supervisor runs after KillCommands")
	}
	n.write("src/a.txt", "changed\n")
	if n.upToDate(nil) {
		t.Fatal("the no-op record stands after a source changed")
	}
	for deadline := time.Now().Add(30 * time.Second); !engine.SupervisorStarted(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no supervisor started after the no-op record found a change")
		}
	}
}

// A save that appended to the journal instead of rewriting the state file
// leaves a state the no-op record can stand on: the record names the
// journal's contents too, so that anything appended to it invalidates the
// record.
func TestNoopRecordWithJournal(t *testing.T) {
	n := primed(t, noopStar)
	journal := filepath.Join(n.dir, engine.StateDir, "journal")
	n.write("src/a.txt", "A\n")
	settle()
	if ran := n.run(nil); len(ran) != 1 {
		t.Fatalf("after an input changed, the run ran %v, want a", ran)
	}
	if _, err := os.Stat(journal); err != nil {
		t.Fatalf("journal after a run of one rule: %v, want the save appended to it", err)
	}
	settle()
	if ran := n.run(nil); len(ran) != 0 {
		t.Fatalf("a run with nothing changed ran %v", ran)
	}
	if !n.upToDate(nil) {
		t.Fatal("the no-op record written with a journal is not trusted")
	}
	f, err := os.OpenFile(journal, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{1})
	f.Close()
	if n.upToDate(nil) {
		t.Fatal("the no-op record was trusted after the journal changed")
	}
}
