package main

import (
	"strconv"
	"strings"
	"testing"
)

func starTestWorkspace(t *testing.T) *testWorkspace {
	return newWorkspace(t, map[string]string{
		"ferry.star": `load("//lib/hello.star", "hello")
hello(name = "greet")
`,
		"lib/hello.star": `def hello(name, greeting = "hello"):
    return task(name = name, cmd = ["echo", greeting + " " + name])
`,
		"lib/hello_test.star": `def test_greeting():
    plan = evaluate(src = 'load("//lib/hello.star", "hello")\nhello(name = "x", greeting = "hi")')
    assert.eq(plan.rule("x").attrs["cmd"], ["echo", "hi x"])

def test_workspace():
    assert.contains(evaluate(dir = "//").names, "greet")
`,
	})
}

func TestTestCommand(t *testing.T) {
	t.Parallel()
	ws := starTestWorkspace(t)
	r := ws.ferry(t, "test")
	if r.code != 0 || !strings.Contains(r.stdout, "--- PASS: test_greeting (") || !strings.Contains(r.stdout, "ok: 2 passed in 1 files") {
		t.Fatalf("want exit 0 and two passes:\n%s", r)
	}

	// A failing test: exit 1, the values and the position.
	ws.write(t, "lib/more_test.star", "def test_sum():\n    assert.eq(1 + 1, 3)\n")
	r = ws.ferry(t, "test", "--junit", "junit.xml")
	if r.code != 1 || !strings.Contains(r.stdout, "--- FAIL: test_sum (") || !strings.Contains(r.stdout, "lib/more_test.star:2:14: assert.eq: the values differ") ||
		!strings.Contains(r.stdout, "FAIL: 2 passed, 1 failed") {
		t.Fatalf("want exit 1 and the failure:\n%s", r)
	}
	if x := ws.read(t, "junit.xml"); !strings.Contains(x, `tests="3" failures="1"`) || !strings.Contains(x, `<testcase name="test_sum" classname="lib/more_test.star"`) {
		t.Errorf("junit report:\n%s", x)
	}

	// --run and paths select.
	r = ws.ferry(t, "test", "-run", "greet") // as go test takes it
	if r.code != 0 || strings.Contains(r.stdout, "test_sum") || strings.Contains(r.stdout, "test_workspace") {
		t.Fatalf("--run greet:\n%s", r)
	}
	r = ws.ferry(t, "test", "lib/hello_test.star")
	if r.code != 0 || strings.Contains(r.stdout, "more_test") {
		t.Fatalf("one file:\n%s", r)
	}

	// Usage errors and a file that does not load: exit 2.
	for _, args := range [][]string{{"test", "--run", "("}, {"test", "ferry.star"}, {"test", "nowhere"}} {
		if r := ws.ferry(t, args...); r.code != 2 {
			t.Errorf("%v: want exit 2:\n%s", args, r)
		}
	}
	ws.write(t, "lib/more_test.star", "def test_sum(:\n")
	r = ws.ferry(t, "test")
	if r.code != 2 || !strings.Contains(r.stdout, "FAIL\tlib/more_test.star [load failed]") || !strings.Contains(r.stderr, "did not load") {
		t.Fatalf("want exit 2 for a file that does not load:\n%s", r)
	}
}

// ferry ci runs the Starlark tests as a stage, through @std//ci.star.
func TestTestCommandInCI(t *testing.T) {
	t.Parallel()
	ws := starTestWorkspace(t)
	ws.write(t, "ferry.star", `load("//lib/hello.star", "hello")
load("@std//ci.star", "ferry_test")
hello(name = "greet")
ferry_test(name = "star-test", ferry = `+strconv.Quote(ferryBin)+`, junit = "out/star.xml")
pipeline("ci", stages = [["star-test"], ["greet"]])
`)
	r := ws.ferry(t, "ci", "--no-lint")
	if r.code != 0 || !strings.Contains(ws.read(t, "out/star.xml"), `tests="2" failures="0"`) {
		t.Fatalf("want the stage to pass:\n%s", r)
	}
	ws.write(t, "lib/more_test.star", "def test_sum():\n    assert.eq(1 + 1, 3)\n")
	r = ws.ferry(t, "ci", "--no-lint")
	if r.code != 1 || !strings.Contains(r.stderr, "star-test") || !strings.Contains(r.stderr+r.stdout, "assert.eq: the values differ") {
		t.Fatalf("want the stage to fail with the test's failure:\n%s", r)
	}
}

// The standard library's tests pass, run by `ferry test` in its folder,
// which has no ferry.star: a module's repository need not have one.
func TestStdlibStarTests(t *testing.T) {
	t.Parallel()
	r := runFerry(t, "-C", "../../stdlib", "test")
	if r.code != 0 || !strings.Contains(r.stdout, "ok  \tgo_test.star") || !strings.Contains(r.stdout, "ok  \tnode_test.star") {
		t.Fatalf("%s", r)
	}
	t.Log(r.stdout[strings.LastIndex(strings.TrimSpace(r.stdout), "\n")+1:])
}
