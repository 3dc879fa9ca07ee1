package main

import (
	"os"
	"os/exec"
	"path/filepath"
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

// ferry test loads the workspace's module graph as ferry plan does: a
// module from git (pinned in ferry.lock, from the cache) and an override,
// in the test files, in evaluate(src = ...) and in evaluate(dir = ...),
// which resolves the ferry.mod of the folder it evaluates; with the
// workspace's grants, and --locked in CI.
func TestTestCommandModules(t *testing.T) {
	t.Setenv("FERRY_MODCACHE", t.TempDir())
	t.Setenv("CI", "")
	repo := t.TempDir()
	for name, body := range map[string]string{
		"ferry.mod":  "module(name = \"greet\", permissions = [\"commands\"])\n",
		"greet.star": "def hello(name):\n    return task(name = name, cmd = [\"echo\", \"hi \" + name])\n\ndef home():\n    return os.env(\"HOME\")\n",
	} {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "greet"}, {"tag", "v1.0.0"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	ws := newWorkspace(t, map[string]string{
		"ferry.mod": `module(name = "ws")
dep("greet", repo = "file://` + repo + `", version = "v1.0.0")
grant("greet", permissions = ["commands"])
dep("util", repo = "https://example.invalid/util.git", version = "v1.0.0")
override("util", path = "local")
`,
		"local/util.star": "def twice(s):\n    return s + s\n",
		"ferry.star":      "load(\"@greet//greet.star\", \"hello\")\nhello(name = \"a\")\n",
		"testdata/ws/ferry.mod": `dep("util", repo = "https://example.invalid/util.git", version = "v1.0.0")
override("util", path = "../../local")
`,
		"testdata/ws/ferry.star": "load(\"@util//util.star\", \"twice\")\ntask(name = twice(\"b\"), cmd = \"true\")\n",
		"lib/mods_test.star": `load("@greet//greet.star", "hello")
load("@util//util.star", "twice")

def test_override():
    assert.eq(twice("a"), "aa")

def test_src():
    plan = evaluate(src = 'load("@greet//greet.star", "hello")\nhello(name = "x")')
    assert.eq(plan.rule("x").attrs["cmd"], ["echo", "hi x"])

def test_dir():
    assert.contains(evaluate(dir = "//").names, "a")
    assert.eq(evaluate(dir = "//testdata/ws").names, ["bb"])

def test_grants():
    assert.fails(lambda: evaluate(src = 'load("@greet//greet.star", "home")\nhome()'), 'module @greet .* has no permission "env"')
`,
	})
	if r := ws.ferry(t, "mod", "tidy"); r.code != 0 {
		t.Fatalf("ferry mod tidy:\n%s", r)
	}
	r := ws.ferry(t, "test")
	if r.code != 0 || !strings.Contains(r.stdout, "ok: 4 passed in 1 files") {
		t.Fatalf("ferry test of a workspace with modules: want 4 passes:\n%s", r)
	}
	// From an empty cache, --locked fetches what ferry.lock pins, as ferry
	// plan does; in CI, a module ferry.lock does not pin is an error.
	t.Setenv("FERRY_MODCACHE", t.TempDir())
	if r := ws.ferry(t, "--locked", "test"); r.code != 0 || !strings.Contains(r.stderr, "fetching @greet v1.0.0") {
		t.Fatalf("ferry --locked test on an empty cache:\n%s", r)
	}
	if err := os.Remove(ws.path("ferry.lock")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CI", "true")
	if r := ws.ferry(t, "test"); r.code != 2 || !strings.Contains(r.stderr, "is not pinned in ferry.lock, and --locked (the default in CI)") {
		t.Fatalf("ferry test in CI without ferry.lock: want exit 2 and the pin missing:\n%s", r)
	}
}
