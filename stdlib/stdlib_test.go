package stdlib_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/stdlib"
)

// The Go macros declare tasks with the expected inputs, outputs and deps.
func TestGoMacros(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"ferry.star": `load("@std//go.star", "go_binary", "go_test", "go_vet")
go_test(name = "test", race = True)
go_vet(name = "vet")
go_binary(name = "api", pkg = "./cmd/api", ldflags = "-s", deps = ["test", "vet"])
`,
		"go.mod":             "module x\n",
		"cmd/api/main.go":    "package main\n",
		"testdata/x/skip.go": "package x\n",
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		// go.star's go_app declares images and services too.
		Plugins: []engine.Plugin{core.Plugin{}, docker.Plugin{}, &deploy.Plugin{}},
		Sources: map[string]engine.ModuleSource{"std": engine.FSSource{Repo: "std", FS: stdlib.FS}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res.Rules {
		in, _ := r.Inputs(context.Background())
		got[r.Info().Name] = strings.Join(in, ",") + " -> " + strings.Join(r.Outputs(), ",") + " after " + strings.Join(r.Info().Deps, ",")
	}
	want := map[string]string{
		"test": "cmd/api/main.go,go.mod ->  after ",
		"vet":  "cmd/api/main.go,go.mod ->  after ",
		"api":  "cmd/api/main.go,go.mod -> bin/api after test,vet",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
}

func TestUnknownStdModule(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ferry.star"), []byte(`load("@std//rust.star", "x")`), 0o644)
	_, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		Sources:   map[string]engine.ModuleSource{"std": engine.FSSource{Repo: "std", FS: stdlib.FS}},
	})
	if err == nil || !strings.Contains(err.Error(), "@std has no rust.star (it has @std//ci.star, @std//deps.star, @std//go.star, @std//health.star, @std//node.star)") {
		t.Errorf("got %v", err)
	}
}

// The tests of the modules are not modules.
func TestTestsAreNotModules(t *testing.T) {
	if _, err := fs.ReadFile(stdlib.FS, "go_test.star"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("go_test.star: got %v, want it hidden", err)
	}
	if _, err := stdlib.FS.Open("go_test.star"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open go_test.star: got %v, want it hidden", err)
	}
	entries, err := fs.ReadDir(stdlib.FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_test.star") {
			t.Errorf("lists %s", e.Name())
		}
	}
	if _, err := fs.ReadFile(stdlib.FS, "go.star"); err != nil {
		t.Error(err)
	}
}
