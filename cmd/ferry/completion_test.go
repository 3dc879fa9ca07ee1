package main

import (
	"os"
	"strings"
	"testing"
)

// completions runs `ferry __complete ARGS` in-process, as the shell
// scripts do, and returns the completions (without the directive line)
// and the directive.
func (ws *testWorkspace) completions(t *testing.T, args ...string) (string, string) {
	t.Helper()
	r := ws.ferry(t, append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("ferry __complete %v exited %d:\n%s", args, r.code, r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	return strings.Join(lines[:len(lines)-1], "|"), lines[len(lines)-1]
}

// The shell completes rule names per command from a quiet evaluation:
// no Docker Engine (DOCKER_HOST names none), nothing printed, and
// nothing when ferry.star is broken.
func TestCompleteRules(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `print("evaluated")
task(name = "build", cmd = "true", doc = "Builds it. Then more.")
task(name = "bundle", cmd = "true")
image(name = "web-image", repo = "c/web", context = "web")
service(name = "web", image = "web-image", doc = "The site.")
service(name = "cache", image = "redis:7")
job(name = "migrate", image = "web-image", command = ["migrate"])
`,
		"web/Dockerfile": "FROM scratch\n",
	})
	for args, want := range map[string]string{
		"run|":         "build\ttask: Builds it.|bundle\ttask|cache\tservice|migrate\tjob|web\tservice: The site.|web-image\timage",
		"run|b":        "build\ttask: Builds it.|bundle\ttask",
		"plan|build|b": "bundle\ttask",
		"graph|w":      "web\tservice: The site.|web-image\timage",
		"up|":          "cache\tservice|migrate\tjob|web\tservice: The site.",
		"pull|":        "cache\tservice|migrate\tjob|web\tservice: The site.",
		"logs|":        "cache\tservice|migrate\tjob|web\tservice: The site.",
		"restart|web|": "cache\tservice",
		"exec|":        "cache\tservice|web\tservice: The site.",
		"exec|web|":    "",
		"push|":        "web-image\timage",
		"watch|bu":     "build\ttask: Builds it.|bundle\ttask",
		"trigger|migr": "migrate\tjob",
		// -C after __complete, as the shell passes the line: DIR is ws.
		"-C|DIR|run|bun":   "bundle\ttask",
		"--dir=DIR|run|bu": "build\ttask: Builds it.|bundle\ttask",
	} {
		got, directive := ws.completions(t, strings.Split(strings.ReplaceAll(args, "DIR", ws.dir), "|")...)
		if got != want || directive != ":4" {
			t.Errorf("ferry __complete %s:\ngot  %q %s\nwant %q :4", args, got, directive, want)
		}
	}
	if r := ws.ferry(t, "__complete", "run", ""); strings.Contains(r.stdout+r.stderr, "evaluated") {
		t.Errorf("completion printed what ferry.star prints:\n%s", r)
	}
	// A broken ferry.star: no completion, no error, nothing printed.
	ws.write(t, "ferry.star", "task(name = \n")
	r := ws.ferry(t, "__complete", "run", "")
	if r.code != 0 || r.stdout != ":4\n" || strings.Contains(r.stderr, "ferry.star") {
		t.Errorf("broken ferry.star:\n%s", r)
	}
	// Outside a workspace: nothing either.
	empty := newWorkspace(t, nil)
	if r := empty.ferry(t, "__complete", "run", ""); r.code != 0 || r.stdout != ":4\n" {
		t.Errorf("no workspace:\n%s", r)
	}
}

// ferry doc completes builtins, their groups, @std and the modules of
// ferry.mod, then the functions of the module named.
func TestCompleteDoc(t *testing.T) {
	t.Setenv("FERRY_MODCACHE", t.TempDir())
	ws := &testWorkspace{dir: t.TempDir()}
	if err := os.CopyFS(ws.dir, os.DirFS("../../examples/modules")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(ws.path(".ferry"))
	for args, want := range map[string][2]string{
		"doc|health.h":            {"health.http\tbuiltin: An HTTP health check: healthy when `GET path` on the container's `port` answers 2xx or 3xx.", ":4"},
		"doc|@":                   {"@greet//\tmodules of ferry.mod's @greet|@std\tthe standard library|@std//\tmodules of the standard library", ":6"},
		"doc|@std//g":             {"@std//go.star\tmodule of @std", ":4"},
		"doc|@greet//":            {"@greet//format.star\tmodule of @greet|@greet//greet.star\tmodule of @greet", ":4"},
		"doc|@greet//greet.star|": {"greeting\tgreet.star: Declares a task that writes a greeting for who to out/NAME.txt.", ":4"},
		"doc|@std//go.star|go_b":  {"go_binary\tgo.star: Builds the Go package `pkg` into `out` (default bin/NAME) with `go build`.", ":4"},
		"doc|//greet/f":           {"//greet/format.star\tmodule of the workspace", ":4"},
	} {
		got, directive := ws.completions(t, strings.Split(args, "|")...)
		if got != want[0] || directive != want[1] {
			t.Errorf("ferry __complete %s:\ngot  %q %s\nwant %q %s", args, got, directive, want[0], want[1])
		}
	}
}

// ferry completion SHELL prints cobra's script for each shell.
func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for shell, want := range map[string]string{
		"bash":       "# bash completion V2 for ferry",
		"zsh":        "#compdef ferry",
		"fish":       "# fish completion for ferry",
		"powershell": "# powershell completion for ferry",
	} {
		r := runFerry(t, "completion", shell)
		if r.code != 0 || !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, "__complete") {
			t.Errorf("ferry completion %s: want %q first:\n%.300s", shell, want, r.stdout)
		}
	}
}

// ferry test -run completes the test functions of the test files, of
// those given when any.
func TestCompleteTests(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star":           "x = 1\n",
		"lib/a_test.star":      "def test_alpha():\n    pass\n\ndef test_beta():\n    pass\n\ndef helper():\n    pass\n",
		"lib/b_test.star":      "def test_also():\n    pass\n",
		"other/c_test.star":    "def test_c():\n    pass\n",
		"lib/broken_test.star": "def (\n",
	})
	for args, want := range map[string]string{
		"test|-run|test_a":                "test_alpha\tlib/a_test.star|test_also\tlib/b_test.star",
		"test|--run|":                     "test_alpha\tlib/a_test.star|test_also\tlib/b_test.star|test_beta\tlib/a_test.star|test_c\tother/c_test.star",
		"test|" + ws.dir + "/other|-run|": "test_c\tother/c_test.star",
		"test|--run=test_b":               "test_beta\tlib/a_test.star",
	} {
		got, directive := ws.completions(t, strings.Split(args, "|")...)
		if got != want || directive != ":4" {
			t.Errorf("ferry __complete %s:\ngot  %q %s\nwant %q :4", args, got, directive, want)
		}
	}
}
