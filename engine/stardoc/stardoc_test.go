package stardoc_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/stardoc"
)

const lib = `"""Tools for greeting.

    load("//lib/hello.star", "hello")
"""

def hello(name, greeting = "hello",
          deps = [], **kwargs):
    """Declares a task that greets.

    greeting is said first.
    """
    return _say(name, greeting)

def _say(name, greeting):
    """Not exported."""
    return greeting + name

def bare(x, é = "ü", *args):
    return x

X = 1
`

func TestParse(t *testing.T) {
	m, err := stardoc.Parse("//lib/hello.star", "lib/hello.star", []byte(lib))
	if err != nil {
		t.Fatal(err)
	}
	if m.Doc != "Tools for greeting.\n\n    load(\"//lib/hello.star\", \"hello\")" {
		t.Errorf("module doc %q", m.Doc)
	}
	if len(m.Funcs) != 2 || m.Func("_say") != nil {
		t.Fatalf("funcs: %+v", m.Funcs)
	}
	h := m.Func("hello")
	if h.Signature != `name, greeting = "hello", deps = [], **kwargs` || h.Doc != "Declares a task that greets.\n\ngreeting is said first." || h.Pos.Line != 6 {
		t.Errorf("hello: %+v", h)
	}
	if b := m.Func("bare"); b.Signature != `x, é = "ü", *args` || b.Doc != "" {
		t.Errorf("bare: %+v", b)
	}
	md := m.Markdown()
	for _, want := range []string{"## `//lib/hello.star`\n\nTools for greeting.", "### `hello(name, greeting = \"hello\", deps = [], **kwargs)`\n\nDeclares a task", "### `bare(x, é = \"ü\", *args)`\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestRead(t *testing.T) {
	sources := map[string]engine.ModuleSource{"std": engine.FSSource{Repo: "std", FS: fstest.MapFS{"go.star": {Data: []byte(lib)}}}}
	m, err := stardoc.Read("@std//go.star", sources)
	if err != nil || m.Label != "@std//go.star" || m.Func("hello") == nil {
		t.Fatalf("%+v %v", m, err)
	}
	for spec, want := range map[string]string{
		"@std//rust.star": "@std has no rust.star",
		"@x//a.star":      "@x is not a known module repository",
		"@std//go.txt":    "module files end in .star",
	} {
		if _, err := stardoc.Read(spec, sources); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", spec, err, want)
		}
	}
	if _, err := stardoc.Parse("//x.star", "x.star", []byte("def (")); err == nil || !strings.HasPrefix(err.Error(), "x.star:1:6: syntax error") {
		t.Errorf("syntax error: %v", err)
	}
}
