package compose

import (
	"errors"
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

// With File, Import writes the ferry.star there, its paths relative to
// File's folder, and refuses to overwrite it without Force, before it
// reads the project.
func TestImportToFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  web:\n    build: ./web\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ferry", "ferry.star")
	if err := os.Mkdir(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	o := ImportOptions{LoadOptions: LoadOptions{Dir: dir, Env: corpusEnv}, File: out}
	res, err := Import(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil || string(got) != string(res.Starlark) {
		t.Fatalf("the file holds %q (%v), want the Result's ferry.star", got, err)
	}
	if !strings.Contains(string(got), `"../web"`) {
		t.Errorf("the build context is not relative to the file's folder:\n%s", got)
	}
	if err := os.WriteFile(out, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A project that does not load shows that the file is checked first.
	o.Files = []string{"missing.yaml"}
	if _, err := Import(t.Context(), o); !errors.Is(err, ErrFileExists) {
		t.Errorf("Import over an existing file: err = %v, want ErrFileExists", err)
	}
	if got, _ := os.ReadFile(out); string(got) != "mine" {
		t.Errorf("the existing file was changed: %q", got)
	}
	o.Files, o.Force = nil, true
	if _, err := Import(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); string(got) == "mine" {
		t.Error("Force did not overwrite the file")
	}
}
