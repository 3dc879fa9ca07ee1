package main

import (
	"os"
	"strings"
	"testing"
)

// docs/reference.md is generated from the builtins' definitions; it must be
// regenerated (make docs) whenever they change.
func TestReferenceIsCurrent(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	if got := reference(); got != string(want) {
		t.Fatal("docs/reference.md is stale: run `make docs`")
	}
}

func TestLogsFollow(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"logs -f":                   "logs --follow",
		"logs web -f":               "logs web --follow",
		"-f x.star logs -f":         "-f x.star logs --follow",
		"-f logs logs":              "-f logs logs", // the file is named logs; the command is logs
		"-f x.star run -- -f":       "-f x.star run -- -f",
		"run -f":                    "run -f",
		"--project p logs -f -- -f": "--project p logs --follow -- -f",
	} {
		if got := strings.Join(logsFollow(strings.Fields(in)), " "); got != want {
			t.Errorf("logsFollow(%q) = %q, want %q", in, got, want)
		}
	}
}

// ferry doc LABEL prints the docstrings of a module's exported functions.
func TestDocModule(t *testing.T) {
	t.Parallel()
	r := runFerry(t, "doc", "@std//go.star")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "## `@std//go.star`\n\nGo build and test rules built on task(), and a Go service in one call.") ||
		!strings.Contains(r.stdout, "### `go_binary(name, pkg = \".\", out = None,") || !strings.Contains(r.stdout, "CGO is off unless env sets CGO_ENABLED") ||
		strings.Contains(r.stdout, "_go_srcs") {
		t.Fatalf("ferry doc @std//go.star:\n%s", r)
	}
	ws := newWorkspace(t, map[string]string{
		"ferry.star": "x = 1\n",
		"lib/deploy.star": `"""Deploy helpers."""

def canary(name, weight = 10):
    """Sends weight percent of the traffic to name.

    Use it with care.
    """
    pass

def _private():
    pass
`,
	})
	r = ws.ferry(t, "doc", "//lib/deploy.star", "canary")
	if want := "### `canary(name, weight = 10)`\n\nSends weight percent of the traffic to name.\n\nUse it with care.\n"; r.code != 0 || r.stdout != want {
		t.Fatalf("got\n%s\nwant\n%s", r, want)
	}
	// A module's repository without ferry.star: the current folder.
	mod := newWorkspace(t, map[string]string{"lib/m.star": "def f(a):\n    \"\"\"Does f.\"\"\"\n"})
	if r := mod.ferry(t, "doc", "//lib/m.star"); r.code != 0 || !strings.Contains(r.stdout, "### `f(a)`\n\nDoes f.") {
		t.Errorf("outside a workspace:\n%s", r)
	}
	for args, want := range map[string]string{
		"doc //lib/deploy.star canry":    `//lib/deploy.star exports no function "canry" (did you mean "canary"?)`,
		"doc //lib/deploy.star _private": `exports no function "_private"; it exports canary`,
		"doc //lib/nothing.star":         "nothing.star does not exist",
		"doc @std//nothing.star":         "@std has no nothing.star",
		"doc task extra":                 "a second argument names a function of a Starlark module",
	} {
		r := ws.ferry(t, strings.Fields(args)...)
		if r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("ferry %s: want exit 2 and %q:\n%s", args, want, r)
		}
	}
}

// ferry doc @alias//file.star documents a module of ferry.mod, here an
// override (TestModulesExampleFromGit documents one from the cache).
func TestDocSharedModule(t *testing.T) {
	t.Setenv("FERRY_MODCACHE", t.TempDir())
	ws := &testWorkspace{dir: t.TempDir()}
	if err := os.CopyFS(ws.dir, os.DirFS("../../examples/modules")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(ws.path(".ferry"))
	r := ws.ferry(t, "doc", "@greet//greet.star", "greeting")
	if want := "### `greeting(name, who)`\n\nDeclares a task that writes a greeting for who to out/NAME.txt.\n\nPaths in a module's rules are relative to the workspace that loads it.\n"; r.code != 0 || r.stdout != want {
		t.Fatalf("got\n%s\nwant\n%s", r, want)
	}
	if r := ws.ferry(t, "doc", "@greet//format.star"); r.code != 0 || !strings.HasPrefix(r.stdout, "## `@greet//format.star`\n") || !strings.Contains(r.stdout, "### `line(who)`\n\nReturns the greeting for who.") {
		t.Fatalf("ferry doc @greet//format.star:\n%s", r)
	}
	for args, want := range map[string]string{
		"doc @gret//greet.star":          "@gret is not a module of " + ws.path("ferry.mod") + " (did you mean @greet?): add it with `ferry mod add gret REPOSITORY@VERSION`",
		"doc @greet//greet.star greting": "@greet//greet.star exports no function \"greting\" (did you mean \"greeting\"?)",
	} {
		if r := ws.ferry(t, strings.Fields(args)...); r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("ferry %s: want exit 2 and %q:\n%s", args, want, r)
		}
	}
	plain := newWorkspace(t, map[string]string{"ferry.star": "x = 1\n"})
	if r := plain.ferry(t, "doc", "@lib//x.star"); r.code != 2 || !strings.Contains(r.stderr, "@lib: the workspace has no ferry.mod; add the module with `ferry mod add lib REPOSITORY@VERSION`") {
		t.Errorf("no ferry.mod:\n%s", r)
	}
}
