package core

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine"
)

func evalFiles(t *testing.T, files map[string]string, flags map[string]string) (*engine.Result, error) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, engine.FileName)},
		Plugins:   []engine.Plugin{Plugin{}},
		Flags:     flags,
	})
}

func TestGlob(t *testing.T) {
	_, err := evalFiles(t, map[string]string{
		"ferry.star": `load("//api/rules.star", "srcs")
want = ["a.go", "sub/b.go"]
if srcs != want:
    fail("got %r" % srcs)
top = glob(["**/*.go"], exclude = ["**/testdata/**"])
if top != ["api/a.go", "api/a_test.go", "api/sub/b.go"]:
    fail("top: got %r" % top)
`,
		"api/rules.star":          `srcs = glob(["**/*.go"], exclude = ["**/*_test.go", "testdata/**"])`,
		"api/a.go":                "",
		"api/a_test.go":           "",
		"api/sub/b.go":            "",
		"api/testdata/x.go":       "",
		"api/.git/objects/c.go":   "",
		"api/.ferry/d.go":         "",
		"api/sub/readme.md":       "",
		"api/sub/deeper/dir.go/x": "",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

func TestTaskPathsAndErrors(t *testing.T) {
	res, err := evalFiles(t, map[string]string{
		"ferry.star":     `load("//sub/rules.star", "x")`,
		"sub/rules.star": `x = task(name = "t", cmd = "true", srcs = ["a.txt", "../b.txt"], outs = ["out/o"], dir = "..")`,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tk := res.Rules[0].(*Task)
	if got := strings.Join(tk.srcs, ","); got != "sub/a.txt,b.txt" {
		t.Errorf("srcs = %s", got)
	}
	if tk.outs[0] != "sub/out/o" || tk.dir != "." {
		t.Errorf("outs = %v, dir = %q", tk.outs, tk.dir)
	}

	for src, want := range map[string]string{
		`task(name = "t", cmd = "x", srcs = ["../../etc/passwd"])`: `task "t": srcs: "../../etc/passwd" leaves the workspace`,
		`task(name = "t", cmd = "x", run = print)`:                 "give cmd or run, not both",
		`task(name = "t")`:                              "missing cmd",
		`task(name = "t", cmd = [])`:                    "cmd must not be empty",
		`task(name = "t", cmd = "x", timeout = "soon")`: "timeout: got string, want duration",
		`task(name = "a b", cmd = "x")`:                 "no spaces",
		`task(name = "t", cmd = "x", retries = -1)`:     "retries: got -1",
		`task(name = "t", cmd = "x", env = {"A": 1})`:   "env: got dict, want dict of string to string",
		`glob(["../*"])`:                                "must stay inside",
		`read_file("nope.txt")`:                         "cannot read nope.txt",
	} {
		_, err := evalFiles(t, map[string]string{"ferry.star": src}, nil)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "ferry.star:1:") {
			t.Errorf("%s: got %v, want %q with a position", src, err, want)
		}
	}
}

func TestConfigAndEnv(t *testing.T) {
	t.Setenv("FERRY_TEST_VAR", "v")
	res, err := evalFiles(t, map[string]string{"ferry.star": `
s = config.flag("s", "dflt")
n = config.flag("n", 1)
b = config.flag("b", False)
u = config.flag("unset", "d")
if (s, n, b, u) != ("x", 42, True, "d"):
    fail("flags: %r" % [(s, n, b, u)])
if os.env("FERRY_TEST_VAR") != "v" or os.env("FERRY_TEST_UNSET", "z") != "z":
    fail("env")
`}, map[string]string{"s": "x", "n": "42", "b": "", "extra": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Eval.UndeclaredFlags(); len(got) != 1 || got[0] != "extra" {
		t.Errorf("UndeclaredFlags = %v", got)
	}
	if res.Env["FERRY_TEST_VAR"] != "v" {
		t.Errorf("env not recorded: %v", res.Env)
	}
	_, err = evalFiles(t, map[string]string{"ferry.star": `config.flag("n", 1)`}, map[string]string{"n": "many"})
	if err == nil || !strings.Contains(err.Error(), "--n=many is not a valid int") {
		t.Errorf("bad int flag: %v", err)
	}
}

func TestYAML(t *testing.T) {
	_, err := evalFiles(t, map[string]string{"ferry.star": `
v = {"b": [1, 2.5, True, None], "a": "x"}
text = yaml.encode(v)
if text != "b:\n    - 1\n    - 2.5\n    - true\n    - null\na: x\n":
    fail("encode: %r" % text)
back = yaml.decode(text)
if back != v:
    fail("decode: %r" % back)
`}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// A run-time action's key covers the values it closes over, not just its code.
func TestActionKeyCoversClosure(t *testing.T) {
	src := `
def check(text):
    def _f(ctx):
        print(text)
    return _f
task(name = "t", run = check(config.flag("text", "a")))
`
	key := func(text string) engine.Digest {
		res, err := evalFiles(t, map[string]string{"ferry.star": src}, map[string]string{"text": text})
		if err != nil {
			t.Fatal(err)
		}
		h := engine.NewHasher()
		res.Rules[0].Definition(context.Background(), h)
		return h.Sum()
	}
	if key("a") == key("b") {
		t.Error("changing a captured value did not change the action's definition")
	}
	if key("a") != key("a") {
		t.Error("the definition is not stable")
	}
}

func TestGlobListingChanges(t *testing.T) {
	res, err := evalFiles(t, map[string]string{
		"ferry.star":              `load("//api/rules.star", "srcs")`,
		"api/rules.star":          `srcs = glob(["**/*.go"], exclude = ["**/*_test.go"])`,
		"api/a.go":                "",
		"api/sub/b.go":            "",
		"api/sub/deeper/readme.m": "",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Listings) != 1 {
		t.Fatalf("got %d listings, want 1 (the glob)", len(res.Listings))
	}
	l := res.Listings[0]
	for _, c := range []struct {
		rel    string
		exists bool
		want   bool
	}{
		{"api/a.go", true, false},           // modified: the glob's result is the same
		{"api/new.go", true, true},          // a new match
		{"api/sub/deeper/c.go", true, true}, // a new match below
		{"api/new_test.go", true, false},    // excluded
		{"api/notes.md", true, false},       // no pattern matches
		{"other/x.go", true, false},         // outside the glob's folder
		{"api/.git/x.go", true, false},      // never listed
		{"api/a.go", false, true},           // a match removed
		{"api/sub", false, true},            // a folder holding a match removed
		{"api/sub/deeper", false, false},    // a folder holding no match removed
		{"api/gone.go", false, false},       // never matched
	} {
		if got := l.Changes(c.rel, c.exists); got != c.want {
			t.Errorf("Changes(%q, exists=%v) = %v, want %v", c.rel, c.exists, got, c.want)
		}
	}
}
