package image

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// Concerns agrees with Inputs on every file of the workspace, and also
// answers for files that do not exist yet and for folders.
func TestImageConcerns(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, nil, map[string]string{
		"ferry.star": `image(name = "a", repo = "acme/a", context = "ctx", dockerfile = "build/Dockerfile", ignore = ["/secret", "**/*.tmp"])
image(name = "b", repo = "acme/b", context = "ctx2")
`,
		"build/Dockerfile":    "FROM scratch\n",
		"ctx/.dockerignore":   "# comment\nvendor\n!vendor/keep.txt\ndocs/\n",
		"ctx/main.go":         "",
		"ctx/secret":          "",
		"ctx/sub/x.tmp":       "",
		"ctx/sub/y.go":        "",
		"ctx/vendor/drop.txt": "",
		"ctx/vendor/keep.txt": "",
		"ctx/docs/a.md":       "",
		"ctx2/Dockerfile":     "FROM scratch\n",
		"ctx2/.dockerignore":  "Dockerfile\n.dockerignore\n*\n!app\n",
		"ctx2/app":            "",
		"ctx2/other":          "",
		"notes.txt":           "",
	})
	ctx := context.Background()
	e, err := w.Load(ctx, engine.NewBus(redact.New()))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(w.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(w.Root, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	concerns := func(rule string, p string) bool {
		t.Helper()
		got, err := e.Graph.Rule(rule).(engine.Watchable).Concerns(ctx, []string{p})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, rule := range []string{"a", "b"} {
		ins, err := e.Graph.Rule(rule).Inputs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if got, want := concerns(rule, f), slices.Contains(ins, f); got != want {
				t.Errorf("%s: Concerns(%s) = %v, but it is an input: %v", rule, f, got, want)
			}
		}
	}
	for _, c := range []struct {
		rule, path string
		want       bool
	}{
		{"a", "ctx/new.go", true}, // a new file
		{"a", "ctx/pkg/new.go", true},
		{"a", "ctx/pkg", true},
		{"a", "ctx/sub/new.tmp", false},
		{"a", "ctx/vendor/new.txt", false},
		{"a", "ctx/docs/b.md", false},
		{"a", "ctx/docs", false},
		{"a", "ctx", true}, // the context itself, say removed
		{"a", ".", true},
		{"a", "ctx2/app", false},
		{"a", "ctxfile", false},
		{"b", "ctx2/new", false},
		{"b", "ctx2/app", true},
		{"b", "ctx2/Dockerfile", true}, // always sent
	} {
		if got := concerns(c.rule, c.path); got != c.want {
			t.Errorf("%s: Concerns(%s) = %v, want %v", c.rule, c.path, got, c.want)
		}
	}
	if got := e.Graph.Rule("a").(engine.Watchable).WatchRoots(); !slices.Equal(got, []string{"ctx", "build/Dockerfile"}) {
		t.Errorf("WatchRoots = %q", got)
	}
}
