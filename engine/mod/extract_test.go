package mod

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// A module's files are exactly the blobs its commit names: its
// .gitattributes (export-ignore, export-subst, ident, a filter= driver)
// and the user's git config (a filter's smudge command, core.autocrlf)
// change nothing, and run nothing.
func TestExtractIgnoresAttributes(t *testing.T) {
	srv := newGitServer(t)
	marker := filepath.Join(t.TempDir(), "marker")
	files := map[string]string{
		".gitattributes": "skip.star export-ignore\nsubst.star export-subst\nid.star ident\nevil.star filter=evil\n*.star text\n",
		"skip.star":      "hidden = 1\n",
		"subst.star":     "commit = \"$Format:%H$\"\n",
		"id.star":        "id = \"$Id$\"\n",
		"evil.star":      "evil = 1\n",
		"lib.star":       "x = 1\ny = 2\n",
	}
	c1 := srv.Commit(t, "lib", files, "v1.0.0")
	cfg := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[filter \"evil\"]\n\tsmudge = touch %s && cat\n\trequired = true\n[core]\n\tautocrlf = true\n\teol = crlf\n", marker)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", cfg)
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.FileURL("lib")),
		"ferry.star": "load('@lib//lib.star', 'x')",
	})
	cache := &Cache{Dir: t.TempDir()}
	g, err := Resolve(context.Background(), ws, Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	n := g.Nodes["lib"]
	if n == nil || n.Commit != c1 {
		t.Fatalf("lib = %+v, want commit %s", n, c1)
	}
	want, _, err := hashTree(workspace(t, files))
	if err != nil {
		t.Fatal(err)
	}
	if n.Hash != want {
		t.Errorf("tree hash %s, want %s (the hash of the commit's blobs)", n.Hash, want)
	}
	for name, body := range files {
		if got, err := os.ReadFile(filepath.Join(cache.TreeDir(n.Hash), name)); err != nil || string(got) != body {
			t.Errorf("%s = %q (%v), want %q as committed", name, got, err, body)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the filter's smudge command ran while extracting the module")
	}
}
