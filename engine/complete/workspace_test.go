package complete_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/complete"
)

// WorkspaceDoc offers the aliases of ferry.mod, and reads a shared
// module's files only to complete a label of it.
func TestWorkspaceDoc(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ferry.mod", `module(name = "ws")
dep("greet", repo = "https://git.example/greet.git", version = "v1.0.0")
`)
	write("greet/greet.star", "def greeting(name):\n    \"\"\"Greets.\"\"\"\n")
	write("tools/checks.star", "def expect(file):\n    pass\n")
	resolved := 0
	modules := func() (*engine.Modules, error) {
		resolved++
		return &engine.Modules{ByAlias: map[string]*engine.SharedModule{"greet": {Alias: "greet", Source: engine.DirSource{Tree: engine.NewTree(filepath.Join(root, "greet"))}}}}, nil
	}
	std := fstest.MapFS{"go.star": {Data: []byte("def go_binary(name):\n    pass\n")}}
	d := complete.WorkspaceDoc(nil, std, root, modules)
	for _, tc := range []struct{ prefix, want string }{
		{"@g", "@greet//\tmodules of ferry.mod's @greet"},
		{"@std//", "@std//go.star\tmodule of @std"},
		{"//t", "//tools/checks.star\tmodule of the workspace"},
	} {
		if got := strings.Join(complete.Doc(d, nil, tc.prefix), "|"); got != tc.want {
			t.Errorf("Doc(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	if resolved != 0 {
		t.Errorf("the modules were resolved %d times before a label of one was completed", resolved)
	}
	if got := strings.Join(complete.Doc(d, []string{"@greet//greet.star"}, ""), "|"); got != "greeting\tgreet.star: Greets." {
		t.Errorf("the functions of @greet//greet.star: %q", got)
	}
	// Outside a workspace, and when resolving fails: @std only.
	d = complete.WorkspaceDoc(nil, std, "", func() (*engine.Modules, error) { return nil, errors.New("offline") })
	if got := strings.Join(complete.Doc(d, nil, "//"), "|"); got != "" {
		t.Errorf("outside a workspace: %q", got)
	}
}

func TestNoSpace(t *testing.T) {
	if !complete.NoSpace([]string{"task\tbuiltin", "@std//\tmodules"}) || complete.NoSpace([]string{"@std\tthe standard library"}) {
		t.Error("NoSpace: want true only after a label that ends in //")
	}
}
