package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/starlint"
)

func TestLintStarlark(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": "task(name = \"a\", cmd = \"true\")\n",
		"lib/mac.star": `load("//lib/other.star", "helper", "spare")

def mac(name):
    tmp = 1
    return task(name = name, cmds = helper())
`,
		"lib/other.star":       "def helper():\n    return \"true\"\n\ndef spare():\n    pass\n",
		"testdata/broken.star": "def (\n",
		"lib/mac_test.star":    "def test_x():\n    assert.eq(evaluate(src = 'x = 1').names, [])\n",
	})
	r := ws.ferry(t, "lint", "--no-history", "--json", "--sarif", "lint.sarif")
	if r.code != 1 {
		t.Fatalf("want exit 1 for the unknown keyword:\n%s", r)
	}
	var rep struct {
		Findings []struct {
			Rule, File, Message string
			Line, Col           int
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Findings {
		if strings.HasPrefix(f.Rule, "FERRY-STAR") {
			got = append(got, f.Rule+" "+f.File+" "+f.Message)
		}
	}
	want := []string{
		`FERRY-STAR004 lib/mac.star task has no parameter "cmds" (did you mean "cmd"?)`,
		`FERRY-STAR002 lib/mac.star spare is loaded but never used; remove it from the load`,
		`FERRY-STAR003 lib/mac.star local variable tmp is assigned but never used; remove it, or name it _tmp`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	found := false
	for _, res := range readSARIF(t, ws.path("lint.sarif")).Runs[0].Results {
		if res.RuleID == starlint.UnknownKeyword && res.Level == "error" && res.Locations[0].PhysicalLocation.Region.StartLine == 5 &&
			res.Locations[0].PhysicalLocation.Region.StartColumn == 30 {
			found = true
		}
	}
	if !found {
		b, _ := os.ReadFile(ws.path("lint.sarif"))
		t.Errorf("SARIF lacks STAR004 at 5:30:\n%s", b)
	}

	// Fixed and ignored: clean.
	ws.write(t, "lib/mac.star", `load("//lib/other.star", "helper", "spare")  # ferry:ignore FERRY-STAR002

def mac(name):
    return task(name = name, cmd = helper())
`)
	r = ws.ferry(t, "lint", "--no-history")
	if r.code != 0 || strings.Contains(r.stdout, "FERRY-STAR") {
		t.Fatalf("want no Starlark findings:\n%s", r)
	}
}

// The Starlark that ships with ferry passes the Starlark lint.
func TestShippedStarlarkLintClean(t *testing.T) {
	var builtins []*engine.Builtin
	for _, p := range (&app{}).plugins("") {
		builtins = append(builtins, p.Builtins()...)
	}
	c := starlint.New(builtins)
	for _, dir := range []string{"../../stdlib", "../../examples"} {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".star") {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, f := range c.File(p, src, strings.HasSuffix(p, "_test.star")) {
				t.Errorf("%s: %s %s", f.Pos, f.Rule, f.Message)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A .star file that loads a module ferry.mod does not list is a lint
// error at the load's label, even when ferry.star does not load the file;
// the module's own files answer to its own ferry.mod, and @std always
// loads.
func TestLintUnknownModule(t *testing.T) {
	t.Setenv("FERRY_MODCACHE", t.TempDir())
	ws := &testWorkspace{dir: t.TempDir()}
	if err := os.CopyFS(ws.dir, os.DirFS("../../examples/modules")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(ws.path(".ferry"))
	ws.write(t, "lib/extra.star", "load(\"@std//go.star\", \"go_binary\")\nload(\"@greet//greet.star\", \"greeting\")\nload(\"@gret//greet.star\", g = \"greeting\")\n\ngo_binary(greeting, g)\n")
	ws.write(t, "greet/more.star", "load(\"@greet//format.star\", \"line\")\nline(1)\n")
	r := ws.ferry(t, "lint", "--no-history", "--json")
	var rep struct {
		Findings []struct {
			Rule, File, Message string
			Line, Col           int
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, r)
	}
	var got []string
	for _, f := range rep.Findings {
		if f.Rule == starlint.UnknownModule {
			got = append(got, fmt.Sprintf("%s:%d:%d %s", f.File, f.Line, f.Col, f.Message))
		}
	}
	want := []string{
		"lib/extra.star:3:6 load of @gret: it is not a dependency in ferry.mod (did you mean @greet?); add it with `ferry mod add gret REPOSITORY@VERSION`",
		"greet/more.star:1:6 load of @greet: it is not a dependency in greet/ferry.mod; add it with `ferry mod add greet REPOSITORY@VERSION`",
	}
	slices.Sort(got)
	slices.Sort(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") || r.code != 1 {
		t.Errorf("exit %d, got\n%s\nwant\n%s\n%s", r.code, strings.Join(got, "\n"), strings.Join(want, "\n"), r)
	}
}
