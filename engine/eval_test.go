package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestEvaluateLoads(t *testing.T) {
	res, events, err := evaluate(t, map[string]string{
		"ferry.star": `
load("//lib/a.star", "a")
load("./sub/b.star", "b")
load("@lib//c.star", "c")
rule(a)
rule(b, deps = [a])
rule(c, deps = [b])
print("hello")
`,
		"lib/a.star": `a = "a"`,
		"sub/b.star": `load("../lib/a.star", "a")` + "\n" + `b = a + "b"`,
	}, map[string]string{
		"c.star": `load("//d.star", "d")` + "\n" + `c = d + "c"`,
		"d.star": `d = "d"`,
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range res.Rules {
		names = append(names, r.Info().Name)
	}
	if got := strings.Join(names, ","); got != "a,ab,dc" {
		t.Errorf("rules = %s, want a,ab,dc", got)
	}
	if len(events) != 1 || events[0].Text != "hello" || events[0].Pos != "ferry.star:8:6" {
		t.Errorf("print events = %+v", events)
	}
	var rel []string
	for _, f := range res.Files {
		r, _ := filepath.Rel(res.Eval.Workspace().Root, f)
		rel = append(rel, r)
	}
	if got := strings.Join(rel, ","); got != "ferry.star,lib/a.star,sub/b.star" {
		t.Errorf("files read = %s", got)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"missing", map[string]string{"ferry.star": `load("//nope.star", "x")`}, []string{"ferry.star:1:1", "cannot load //nope.star", "does not exist"}},
		{"escapes", map[string]string{"ferry.star": `load("../x.star", "x")`}, []string{"leaves the root"}},
		{"bad form", map[string]string{"ferry.star": `load("x.star", "x")`}, []string{"//path"}},
		{"unknown repo", map[string]string{"ferry.star": `load("@acme//x.star", "x")`}, []string{"@acme is not a known module repository", "@lib"}},
		{"missing in std", map[string]string{"ferry.star": `load("@lib//x.star", "x")`}, []string{"@lib has no x.star"}},
		{"error inside module", map[string]string{"ferry.star": `load("//a.star", "x")`, "a.star": "\n\nx = 1 + y"}, []string{"a.star:3:9", "undefined: y"}},
		{"syntax", map[string]string{"ferry.star": "rule(\n  'a',,\n)"}, []string{"ferry.star:2:7", "syntax error"}},
		{"self cycle", map[string]string{"ferry.star": `load("//a.star", "x")`, "a.star": `load("//a.star", "x")`}, []string{"load cycle: //a.star loads //a.star"}},
		{"cycle", map[string]string{
			"ferry.star": `load("//a.star", "x")`,
			"a.star":     `load("//b.star", "y")` + "\nx = y",
			"b.star":     `load("//c.star", "z")` + "\ny = z",
			"c.star":     `load("//a.star", "x")` + "\nz = x",
		}, []string{"load cycle:", "//a.star", "//b.star", "//c.star"}},
		{"fail", map[string]string{"ferry.star": "def f():\n    fail('bad config')\nf()"}, []string{"ferry.star:2:9", "bad config", "called from ferry.star:3:2"}},
		{"unknown kwarg", map[string]string{"ferry.star": `rule("a", depz = [])`}, []string{"ferry.star:1:5", `rule "a": unexpected keyword argument "depz" (did you mean "deps"?)`}},
		{"wrong type", map[string]string{"ferry.star": `rule("a", srcs = 3)`}, []string{"ferry.star:1:5", `rule "a": srcs: got int, want list of strings`}},
		{"missing arg", map[string]string{"ferry.star": `rule()`}, []string{`rule: missing required argument "name"`}},
		{"duplicate", map[string]string{"ferry.star": "rule('a')\nrule('a')"}, []string{"ferry.star:2:5", `duplicate rule name "a"`, "ferry.star:1:5"}},
		{"effect at load time", map[string]string{"ferry.star": "net.fetch()"}, []string{"ferry.star:1:10", "net.fetch has effects", "run-time action"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := evaluate(t, tt.files, map[string]string{"c.star": "c = 1"})
			wantErr(t, err, tt.want...)
		})
	}
}

// Loads run in parallel: a cycle whose modules start loading from different
// goroutines is still found, never deadlocks, and names the modules.
func TestParallelLoadCycle(t *testing.T) {
	for i := 0; i < 20; i++ {
		_, _, err := evaluate(t, map[string]string{
			"ferry.star": "load('//a.star', 'a')\nload('//b.star', 'b')\nload('//c.star', 'c')",
			"a.star":     "load('//b.star', 'b')\na = b",
			"b.star":     "load('//c.star', 'c')\nb = c",
			"c.star":     "load('//a.star', 'a')\nc = a",
		}, nil)
		if !errors.Is(err, ErrLoadCycle) && !strings.Contains(fmt.Sprint(err), "load cycle") {
			t.Fatalf("run %d: got %v, want a load cycle", i, err)
		}
	}
}

func TestDialect(t *testing.T) {
	_, _, err := evaluate(t, map[string]string{"ferry.star": `
s = set([1, 2])
n = 0
while n < 3:
    n += 1
def fact(k):
    return 1 if k <= 1 else k * fact(k - 1)
for i in range(2):
    rule("r%d" % i)
if fact(5) != 120 or len(s) != 2:
    fail("dialect")
`}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

func TestStepLimit(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ferry.star": "x = 0\nwhile True:\n    x += 1"})
	_, err := Evaluate(context.Background(), Options{
		Workspace: &Workspace{Root: dir, File: filepath.Join(dir, FileName)},
		MaxSteps:  10000,
	})
	wantErr(t, err, "ferry.star:3:", "exceeded 10000 steps", "endless loop")
}

func TestEvaluateCancel(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ferry.star": "while True:\n    pass"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Evaluate(ctx, Options{Workspace: &Workspace{Root: dir, File: filepath.Join(dir, FileName)}})
		done <- err
	}()
	select {
	case err := <-done:
		wantErr(t, err, "interrupted")
	case <-time.After(20 * time.Second):
		t.Fatal("evaluation did not stop when its context ended")
	}
}

func TestFindWorkspace(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ferry.star": "", "a/b/c.txt": ""})
	ws, err := FindWorkspace(filepath.Join(dir, "a", "b"), "")
	if err != nil || ws.Root != dir {
		t.Fatalf("FindWorkspace = %+v, %v; want root %s", ws, err, dir)
	}
	_, err = FindWorkspace(t.TempDir(), "")
	if !errors.Is(err, ErrNoWorkspace) {
		t.Fatalf("err = %v, want ErrNoWorkspace", err)
	}
	wantErr(t, err, "ferry init")
}

// Deep recursion reports the first and last frames of its trace, not all
// 100,000 of them.
func TestStackOverflowTraceIsBounded(t *testing.T) {
	_, _, err := evaluate(t, map[string]string{"ferry.star": "def f(n):\n    return f(n + 1)\n\nf(0)"}, nil)
	wantErr(t, err, "ferry.star:2:", "Starlark stack overflow", "called from ferry.star:4:2 in <toplevel>", "frames omitted")
	var pe *Error
	if !errors.As(err, &pe) || len(pe.Trace) != 2*traceEnds+1 {
		t.Fatalf("got %d trace lines, want %d:\n%v", len(pe.Trace), 2*traceEnds+1, err)
	}
}

// The config flags after "--" are --name=value or --name; anything else
// is refused with the form they take.
func TestParseFlags(t *testing.T) {
	got, err := ParseFlags([]string{"--region=eu", "--dry-run", "--empty=", "--url=a=b"})
	if want := map[string]string{"region": "eu", "dry-run": "", "empty": "", "url": "a=b"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseFlags = %v, %v; want %v", got, err, want)
	}
	if got, err := ParseFlags(nil); err != nil || len(got) != 0 {
		t.Errorf("ParseFlags(nil) = %v, %v", got, err)
	}
	for _, bad := range []string{"region=eu", "-r", "--"} {
		if _, err := ParseFlags([]string{bad}); err == nil || !strings.Contains(err.Error(), "want config flags as --name=value or --name, got "+strconv.Quote(bad)) {
			t.Errorf("ParseFlags(%q): err = %v", bad, err)
		}
	}
}
