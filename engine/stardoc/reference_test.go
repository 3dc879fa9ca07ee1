package stardoc_test

import (
	"os"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/stardoc"
	"github.com/ferryhq/ferry/stdlib"
)

func TestBuiltin(t *testing.T) {
	bs := []*engine.Builtin{{Name: "task", Doc: "Declares a task."}, {Name: "metrics.scrape", Doc: "Scrapes."}, {Name: "metrics.rule", Doc: "Rules."}}
	if got, err := stardoc.Builtin(bs, "task"); err != nil || got != bs[0].Markdown() {
		t.Errorf("task: %q, %v", got, err)
	}
	if got, err := stardoc.Builtin(bs, "metrics"); err != nil || got != bs[1].Markdown()+"\n"+bs[2].Markdown() {
		t.Errorf("metrics: %q, %v", got, err)
	}
	if _, err := stardoc.Builtin(bs, "tsak"); err == nil || err.Error() != `no builtin named "tsak" (did you mean "task"?)` {
		t.Errorf("tsak: %v", err)
	}
}

func TestReference(t *testing.T) {
	bs := []*engine.Builtin{{Name: "task", Doc: "Declares a task."}}
	got := stardoc.Reference(bs)
	if !strings.HasPrefix(got, "# ferry builtin reference\n") || !strings.Contains(got, bs[0].Markdown()) || !strings.Contains(got, "## Run-time actions") {
		t.Errorf("got\n%s", got)
	}
}

func TestFuncMarkdown(t *testing.T) {
	m, err := stardoc.Parse("//lib/hello.star", "lib/hello.star", []byte(lib))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.FuncMarkdown("hello"); err != nil || got != "### `hello(name, greeting = \"hello\", deps = [], **kwargs)`\n\nDeclares a task that greets.\n\ngreeting is said first.\n" {
		t.Errorf("hello: %q, %v", got, err)
	}
	for name, want := range map[string]string{
		"helo": `//lib/hello.star exports no function "helo" (did you mean "hello"?)`,
		"_say": `//lib/hello.star exports no function "_say"; it exports hello, bare`,
	} {
		if _, err := m.FuncMarkdown(name); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}

// docs/stdlib.md is generated from the standard library's docstrings
// (make docs).
func TestStdlibReferenceIsCurrent(t *testing.T) {
	want, err := os.ReadFile("../../docs/stdlib.md")
	if err != nil {
		t.Fatal(err)
	}
	got, err := stardoc.Stdlib(stdlib.FS)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatal("docs/stdlib.md is stale: run `make docs`")
	}
	for _, m := range []string{"ci.star", "deps.star", "go.star", "health.star", "node.star"} {
		if !strings.Contains(got, "## `@std//"+m+"`") {
			t.Errorf("docs/stdlib.md lacks %s", m)
		}
	}
}
