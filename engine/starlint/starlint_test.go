package starlint_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/starlint"
)

// builtins are a task and a module member, as plugins define them.
var builtins = []*engine.Builtin{
	{Name: "task", Params: []engine.Param{{Name: "name", Type: engine.String}, {Name: "cmd", Type: engine.Command}, {Name: "deps", Type: engine.StringList}}},
	{Name: "health.http", Params: []engine.Param{{Name: "port", Type: engine.Int}, {Name: "path", Type: engine.String}}},
}

func check(t *testing.T, name, src string) []string {
	t.Helper()
	var out []string
	for _, f := range starlint.New(builtins).File(name, []byte(src), strings.HasSuffix(name, "_test.star")) {
		out = append(out, fmt.Sprintf("%s %s %s", f.Pos, f.Rule, f.Message))
	}
	return out
}

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		rule, bad, want, clean string
	}{
		{starlint.UndefinedName,
			"def f():\n    return tsk(name = \"x\")\n",
			`x.star:2:12 FERRY-STAR001 undefined: tsk (did you mean task?); define it, load it, or fix its spelling`,
			"def f():\n    return task(name = \"x\")\n"},
		{starlint.UnusedLoad,
			`load("//lib.star", "a", b = "c")` + "\na()\n",
			`x.star:1:25 FERRY-STAR002 b is loaded but never used; remove it from the load`,
			`load("//lib.star", "a", _b = "c")` + "\ndef f():\n    return lambda: a()\n"},
		{starlint.UnusedVariable,
			"def f(x):\n    y = x + 1\n    z = 2\n    return z\n",
			`x.star:2:5 FERRY-STAR003 local variable y is assigned but never used; remove it, or name it _y`,
			"def f(x):\n    y = x + 1\n    y += 1\n    (a, _b) = (y, 1)\n    c = 1\n    def g():\n        return c\n    return [a for _ in range(2)] + [g()]\n"},
		{starlint.UnknownKeyword,
			"task(name = \"x\", cmds = [\"true\"])\nh = health.http(port = 1, pth = \"/\")\n",
			`x.star:1:18 FERRY-STAR004 task has no parameter "cmds" (did you mean "cmd"?)`,
			"def task2(**kw):\n    return task(name = \"x\", cmd = \"true\", **kw)\nh = health.http(port = 1, path = \"/\")\n"},
		{starlint.ShadowedBuiltin,
			"len = 3\ndef task(name):\n    pass\n",
			`x.star:1:1 FERRY-STAR005 assignment "len" hides the builtin len; rename it, or the builtin cannot be used here`,
			"def mytask(name, health = None):\n    return task(name = name)\n"},
		{starlint.SyntaxError,
			"def f(:\n",
			`x.star:1:8 FERRY-STAR006 syntax error: got ':', want ')'`,
			"def f():\n    pass\n"},
	} {
		got := check(t, "x.star", tc.bad)
		if len(got) == 0 || got[0] != tc.want {
			t.Errorf("%s: got\n%s\nwant first\n%s", tc.rule, strings.Join(got, "\n"), tc.want)
		}
		if got := check(t, "x.star", tc.clean); len(got) > 0 {
			t.Errorf("%s: clean case has findings:\n%s", tc.rule, strings.Join(got, "\n"))
		}
	}
}

func TestEveryFinding(t *testing.T) {
	got := check(t, "x.star", "len = 3\ndef task(name):\n    pass\nh = health.http(port = 1, pth = \"/\", x = 1)\n")
	want := []string{
		`x.star:1:1 FERRY-STAR005 assignment "len" hides the builtin len; rename it, or the builtin cannot be used here`,
		`x.star:2:5 FERRY-STAR005 def "task" hides the builtin task; rename it, or the builtin cannot be used here`,
		`x.star:4:27 FERRY-STAR004 health.http has no parameter "pth" (did you mean "path"?)`,
		"x.star:4:38 FERRY-STAR004 health.http has no parameter \"x\"; `ferry doc health.http` lists its parameters",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Test files see assert and evaluate; other files do not.
func TestTestNames(t *testing.T) {
	src := "def test_x():\n    assert.eq(evaluate(src = \"\").names, [])\n"
	if got := check(t, "x_test.star", src); len(got) > 0 {
		t.Errorf("test file: %v", got)
	}
	if got := check(t, "x.star", src); len(got) != 2 {
		t.Errorf("module: want assert and evaluate undefined, got %v", got)
	}
}

// A load of a module that the governing ferry.mod does not list is
// reported at the label, with a hint; @std and the file's own repository
// always load.
func TestUnknownModule(t *testing.T) {
	src := `load("@std//go.star", "go_binary")
load("@libs//k8s.star", "deploy")
load("@lib//x.star", "y")
load("//own.star", "z")
go_binary(deploy, y, z)
`
	c := starlint.New(builtins)
	var asked []string
	c.Deps = func(name string) *starlint.Deps {
		asked = append(asked, name)
		return &starlint.Deps{ModFile: "ferry.mod", Aliases: map[string]bool{"lib": true}}
	}
	var got []string
	for _, f := range c.File("x.star", []byte(src), false) {
		got = append(got, fmt.Sprintf("%s %s %s", f.Pos, f.Rule, f.Message))
	}
	want := "x.star:2:6 FERRY-STAR007 load of @libs: it is not a dependency in ferry.mod (did you mean @lib?); add it with `ferry mod add libs REPOSITORY@VERSION`"
	if strings.Join(got, "\n") != want {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
	if strings.Join(asked, ",") != "x.star" {
		t.Errorf("Deps asked for %v, want x.star", asked)
	}

	// No ferry.mod: every module but @std is unknown.
	c.Deps = func(string) *starlint.Deps { return &starlint.Deps{} }
	got = nil
	for _, f := range c.File("x.star", []byte(src), false) {
		got = append(got, fmt.Sprintf("%s %s", f.Pos, f.Message))
	}
	want = "x.star:2:6 load of @libs: the workspace has no ferry.mod; add it with `ferry mod add libs REPOSITORY@VERSION`\n" +
		"x.star:3:6 load of @lib: the workspace has no ferry.mod; add it with `ferry mod add lib REPOSITORY@VERSION`"
	if strings.Join(got, "\n") != want {
		t.Errorf("no ferry.mod: got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}

	// Without Deps, or when it does not know, loads of modules are not checked.
	c.Deps = func(string) *starlint.Deps { return nil }
	if got := c.File("x.star", []byte(src), false); len(got) > 0 {
		t.Errorf("nil Deps: %v", got)
	}
	if got := starlint.New(builtins).File("x.star", []byte(src), false); len(got) > 0 {
		t.Errorf("no Deps: %v", got)
	}
}
