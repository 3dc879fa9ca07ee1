package compose

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// corpus lists the compose projects of testdata/corpus, one a folder.
func corpus(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob("testdata/corpus/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	return dirs
}

// TestImportCorpus translates every compose project of the corpus and
// compares the ferry.star with its golden file (go test -update rewrites
// them).
func TestImportCorpus(t *testing.T) {
	for _, dir := range corpus(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			res, err := Import(t.Context(), ImportOptions{LoadOptions: LoadOptions{Dir: dir, Env: corpusEnv}})
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(dir, "ferry.star.golden")
			if *update {
				if err := os.WriteFile(golden, res.Starlark, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Starlark) != string(want) {
				t.Errorf("ferry.star differs from %s (go test -update rewrites it):\n%s", golden, res.Starlark)
			}
			again, err := Import(t.Context(), ImportOptions{LoadOptions: LoadOptions{Dir: dir, Env: corpusEnv}})
			if err != nil || string(again.Starlark) != string(res.Starlark) {
				t.Errorf("a second import gives another ferry.star: %v", err)
			}
			for _, f := range res.Findings {
				if f.Pos == "" || !strings.Contains(f.Pos, ":") {
					t.Errorf("finding without a line: %s", f)
				}
			}
		})
	}
}

// corpusEnv is the environment the corpus is read with: what .env files
// do not give, as a user's shell would.
var corpusEnv = []string{"REGISTRY=127.0.0.1:5000"}
