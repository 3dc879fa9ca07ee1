package startest_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/cireport"
	"github.com/ferryhq/ferry/engine/redact"
	"github.com/ferryhq/ferry/engine/startest"
)

func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// run runs the tests under root with the core builtins and returns the
// report and what was printed.
func run(t *testing.T, root string, mod func(*startest.Options)) (*startest.Report, string) {
	t.Helper()
	var out bytes.Buffer
	o := startest.Options{
		Root:    root,
		Plugins: func() []engine.Plugin { return []engine.Plugin{core.Plugin{}} },
		Events:  engine.NewBus(redact.New()),
		Out:     &out,
	}
	if mod != nil {
		mod(&o)
	}
	rep, err := startest.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep, out.String()
}

const macros = `def hello(name, deps = [], greeting = "hello"):
    """Declares a task that greets."""
    return task(name = name, cmd = ["echo", greeting + " " + name], deps = deps, outs = ["out/" + name])
`

func TestRunOutcomes(t *testing.T) {
	root := write(t, map[string]string{
		"lib/hello.star": macros,
		"lib/hello_test.star": `load("./hello.star", "hello")

def test_pass():
    print("two is", 1 + 1)
    assert.eq(1 + 1, 2)

def test_fail():
    assert.eq({"a": 1}, {"a": 2})

def test_error():
    x = {}["missing"]

def helper():
    pass
`,
		"a_test.star":          "def test_first():\n    assert.true(True)\n",
		"broken_test.star":     "def test_x(:\n",
		"testdata/x_test.star": "def test_never():\n    fail('testdata is skipped')\n",
		".hidden/y_test.star":  "def test_never():\n    fail('hidden folders are skipped')\n",
		"lib/notatest.star":    "def test_never():\n    fail('not a test file')\n",
	})
	rep, out := run(t, root, nil)
	var files []string
	for _, f := range rep.Files {
		files = append(files, f.Path)
	}
	if got := strings.Join(files, " "); got != "a_test.star broken_test.star lib/hello_test.star" {
		t.Fatalf("files: %s", got)
	}
	passed, failed := rep.Counts()
	if passed != 2 || failed != 2 || !rep.Failed() || !rep.Broken() {
		t.Errorf("passed %d, failed %d, failed %v, broken %v", passed, failed, rep.Failed(), rep.Broken())
	}
	if s := rep.Summary(); !strings.HasPrefix(s, "FAIL: 2 passed, 2 failed; a test file did not load (") {
		t.Errorf("Summary = %q", s)
	}
	for _, want := range []string{
		"--- PASS: test_first (",
		"ok  \ta_test.star\t",
		"FAIL\tbroken_test.star [load failed]\n    broken_test.star:1:13: syntax error",
		"--- PASS: test_pass (",
		"s)\n    lib/hello_test.star:4:10: two is 2\n--- FAIL: test_fail (",
		"--- FAIL: test_fail (",
		"    lib/hello_test.star:8:14: assert.eq: the values differ\n    got:  {\"a\": 1}\n    want: {\"a\": 2}\n",
		"--- FAIL: test_error (",
		"    lib/hello_test.star:11:11: key \"missing\" not in dict",
		"FAIL\tlib/hello_test.star\t",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "helper") || strings.Contains(out, "never") {
		t.Errorf("ran what is not a test:\n%s", out)
	}
	// Tests run in the order of the file.
	if strings.Index(out, "test_pass") > strings.Index(out, "test_fail") || strings.Index(out, "test_fail") > strings.Index(out, "test_error") {
		t.Errorf("tests out of order:\n%s", out)
	}
}

func TestRunPatternAndPaths(t *testing.T) {
	root := write(t, map[string]string{
		"a_test.star":     "def test_one():\n    pass\n\ndef test_two():\n    fail('two')\n",
		"sub/b_test.star": "def test_one():\n    pass\n",
	})
	rep, out := run(t, root, func(o *startest.Options) { o.Run = regexp.MustCompile("one") })
	if p, f := rep.Counts(); p != 2 || f != 0 || strings.Contains(out, "test_two") {
		t.Errorf("--run one: %d passed, %d failed:\n%s", p, f, out)
	}
	rep, _ = run(t, root, func(o *startest.Options) { o.Paths = []string{"sub"} })
	if len(rep.Files) != 1 || rep.Files[0].Path != "sub/b_test.star" {
		t.Errorf("paths [sub]: %+v", rep.Files)
	}
	for _, tc := range []struct{ path, want string }{
		{"sub/nothing.star", "no such file"},
		{"../elsewhere", "outside the workspace"},
	} {
		os.WriteFile(filepath.Join(root, "sub/nothing.star.txt"), nil, 0o644)
		_, err := startest.Run(context.Background(), startest.Options{Root: root, Paths: []string{tc.path}, Events: engine.NewBus(redact.New())})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.path, err, tc.want)
		}
	}
	os.WriteFile(filepath.Join(root, "sub/lib.star"), nil, 0o644)
	_, err := startest.Run(context.Background(), startest.Options{Root: root, Paths: []string{"sub/lib.star"}, Events: engine.NewBus(redact.New())})
	if err == nil || !strings.Contains(err.Error(), "sub/lib.star: want test files (*_test.star)") {
		t.Errorf("a file that is not a test: %v", err)
	}
}

func TestAssertMessages(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`assert.eq([1], [1])`, ""},
		{`assert.eq("a", "b")`, "assert.eq: the values differ\ngot:  \"a\"\nwant: \"b\""},
		{`assert.eq(1, 2, msg = "sum")`, "sum: assert.eq: the values differ"},
		{`assert.eq(None, None)`, ""},
		{`assert.ne(1, 2)`, ""},
		{`assert.ne("x", "x")`, `assert.ne: got "x", want any other value`},
		{`assert.true([1])`, ""},
		{`assert.true([])`, "assert.true: got [], want a true value"},
		{`assert.contains([1, 2], 2)`, ""},
		{`assert.contains("hello", "ell")`, ""},
		{`assert.contains({"k": 1}, "v")`, `assert.contains: {"k": 1} does not contain "v"`},
		{`assert.contains(1, 2)`, "assert.contains: cannot look for a int in a int"},
		{`assert.fails(lambda: fail("boom 42"), "boom [0-9]+")`, ""},
		{`assert.eq(assert.fails(lambda: fail("boom"), "oo"), "t_test.star:1:51: fail: boom")`, ""},
		{`assert.fails(lambda: fail("boom"), "bang")`, "assert.fails: the error does not match \"bang\":\nt_test.star:1:41: fail: boom"},
		{`assert.fails(lambda: 1, "x")`, "assert.fails: lambda returned 1, want an error matching \"x\""},
		{`assert.fails(lambda: 1, "(")`, "assert.fails: pattern \"(\" is not a regular expression"},
		{`assert.fails(lambda: task(name = 1, cmd = "x"), "task: name: got int, want string")`, ""},
	} {
		root := write(t, map[string]string{"t_test.star": "def test_it(): " + tc.body + "\n"})
		rep, out := run(t, root, nil)
		if len(rep.Files) != 1 || rep.Files[0].Err != nil || len(rep.Files[0].Tests) != 1 {
			t.Fatalf("%s: %s", tc.body, out)
		}
		err := rep.Files[0].Tests[0].Err
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: want a pass, got %v", tc.body, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v\nwant %q", tc.body, err, tc.want)
		case tc.want != "" && !strings.HasPrefix(err.Error(), "t_test.star:1:"):
			t.Errorf("%s: the failure does not start with the assert's position: %v", tc.body, err)
		}
	}
}

func TestEvaluate(t *testing.T) {
	root := write(t, map[string]string{
		"lib/hello.star": macros,
		"lib/in.txt":     "input\n",
		"testdata/ws/ferry.star": `load("//mac.star", "two")
two(config.flag("prefix", default = "p"))
`,
		"testdata/ws/mac.star": `def two(prefix):
    task(name = prefix + "-a", cmd = "true")
    task(name = prefix + "-b", cmd = "true", deps = [prefix + "-a"], doc = "second")
`,
		"lib/hello_test.star": `load("./hello.star", "hello")

def test_snippet():
    plan = evaluate(src = """
load("//lib/hello.star", "hello")
hello(name = "a")
hello(name = "b", deps = ["a"], greeting = "hi")
task(name = "c", cmd = "cat in.txt", srcs = ["in.txt"])
""")
    assert.eq(plan.names, ["a", "b", "c"])
    b = plan.rule("b")
    assert.eq(b.kind, "task")
    assert.eq(b.deps, ["a"])
    assert.eq(b.attrs["cmd"], ["echo", "hi b"])
    assert.eq(b.attrs["deps"], ["a"])
    assert.eq(b.outputs, ["lib/out/b"])
    assert.eq(b.pos, "lib/hello.star:3:16")
    c = plan.rule("c")
    assert.eq(c.inputs, ["lib/in.txt"])
    assert.eq(len(c.key), 64)
    assert.ne(c.key, plan.rule("a").key)
    assert.eq(c.key_error, "")
    missing = evaluate(src = 'task(name = "m", cmd = "cat gone.txt", srcs = ["gone.txt"])').rule("m")
    assert.eq(missing.key, None)
    assert.contains(missing.key_error, "gone.txt")
    assert.eq([r.name for r in plan.rules], plan.names)

def test_same_snippet_same_key():
    src = 'task(name = "c", cmd = "cat in.txt", srcs = ["in.txt"])'
    assert.eq(evaluate(src = src).rule("c").key, evaluate(src = src).rule("c").key)
    other = 'task(name = "c", cmd = "cat in.txt >&2", srcs = ["in.txt"])'
    assert.ne(evaluate(src = src).rule("c").key, evaluate(src = other).rule("c").key)

def test_dir_and_flags():
    assert.eq(evaluate(dir = "//testdata/ws").names, ["p-a", "p-b"])
    plan = evaluate(dir = "../testdata/ws", flags = {"prefix": "q"})
    assert.eq(plan.rule("q-b").doc, "second")
    assert.eq(plan.rule("q-b").deps, ["q-a"])

def test_errors():
    assert.fails(lambda: evaluate(src = 'task(name = "x", cmd = "t", deps = ["y"])'), 'unknown dep "y"')
    assert.fails(lambda: evaluate(src = "task(name = 1)"), "lib/hello_test.star<src>:1:5: task: name: got int")
    assert.fails(lambda: evaluate(dir = "nowhere"), "no ferry.star in")
    assert.fails(lambda: evaluate(), "give either src")
    assert.fails(lambda: evaluate(dir = "//testdata/ws", flags = {"nope": "1"}), "unknown flag \"nope\"")
    assert.fails(lambda: evaluate(src = "x = 1").rule("a"), 'no rule named "a"')
    assert.fails(lambda: evaluate(src = 'task(name = "abc", cmd = "t")').rule("abd"), 'did you mean "abc"')
`,
	})
	rep, out := run(t, root, nil)
	if p, f := rep.Counts(); p != 4 || f != 0 || rep.Broken() {
		t.Fatalf("%d passed, %d failed:\n%s", p, f, out)
	}
}

func TestJUnit(t *testing.T) {
	root := write(t, map[string]string{
		"a_test.star":      "def test_ok():\n    print('hello')\n\ndef test_bad():\n    assert.eq(1, 2)\n",
		"broken_test.star": "load('//nowhere.star', 'x')\n",
	})
	rep, _ := run(t, root, nil)
	var buf bytes.Buffer
	if err := rep.JUnit().Write(&buf); err != nil {
		t.Fatal(err)
	}
	var back cireport.Report
	if err := xml.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if back.Tests != 3 || back.Failures != 2 || len(back.Suites) != 2 {
		t.Fatalf("tests %d failures %d suites %d:\n%s", back.Tests, back.Failures, len(back.Suites), buf.String())
	}
	a := back.Suites[0]
	if a.Name != "a_test.star" || a.Cases[0].Name != "test_ok" || a.Cases[0].Failure != nil || a.Cases[0].SystemOut != "a_test.star:2:10: hello" || a.Cases[1].Line != 4 ||
		a.Cases[1].Failure == nil || a.Cases[1].Failure.Message != "a_test.star:5:14: assert.eq: the values differ" ||
		!strings.Contains(a.Cases[1].Failure.Text, "want: 2") {
		t.Errorf("suite a:\n%s", buf.String())
	}
	if b := back.Suites[1]; b.Cases[0].Name != "(load)" || b.Cases[0].Failure == nil || !strings.Contains(b.Cases[0].Failure.Message, "nowhere.star") {
		t.Errorf("broken suite:\n%s", buf.String())
	}
}

func TestCancelled(t *testing.T) {
	root := write(t, map[string]string{"a_test.star": "def test_ok():\n    pass\n"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := startest.Run(ctx, startest.Options{Root: root, Events: engine.NewBus(redact.New())})
	if err == nil {
		t.Error("a cancelled run reports no error")
	}
}

// The folders that test files and evaluate() open are closed once the file
// has run.
func TestFoldersClosed(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts /proc/self/fd")
	}
	root := write(t, map[string]string{
		"ws/ferry.star": "task(name = \"x\", cmd = \"true\")\n",
		"a_test.star": `def test_many():
    for i in range(200):
        assert.eq(evaluate(src = 'task(name = "a", cmd = "true")').names, ["a"])
        assert.eq(evaluate(dir = "ws").names, ["x"])
`,
	})
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	before := fds()
	rep, out := run(t, root, nil)
	if p, f := rep.Counts(); p != 1 || f != 0 {
		t.Fatalf("%s", out)
	}
	if after := fds(); after > before+5 {
		t.Errorf("%d file descriptors open before, %d after: the folders of 400 evaluations stay open", before, after)
	}
}

func TestSummary(t *testing.T) {
	for _, tc := range []struct {
		rep  startest.Report
		want string
	}{
		{startest.Report{}, "no test files (*_test.star)"},
		{startest.Report{Files: []*startest.File{{Tests: []*startest.Test{{}, {}}}, {Tests: []*startest.Test{{}}}}, Time: 1500 * time.Millisecond}, "ok: 3 passed in 2 files (1.500s)"},
		{startest.Report{Files: []*startest.File{{Tests: []*startest.Test{{}, {Err: errors.New("x")}}}}, Time: time.Second}, "FAIL: 1 passed, 1 failed (1.000s)"},
	} {
		if got := tc.rep.Summary(); got != tc.want {
			t.Errorf("Summary = %q, want %q", got, tc.want)
		}
	}
}
