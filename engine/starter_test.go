package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Init writes a ferry.star that evaluates, keeps one that exists unless
// told to overwrite it, and adds the state folder to .gitignore once.
func TestInit(t *testing.T) {
	dir := t.TempDir()
	p, ignored, err := Init(dir, false)
	if err != nil || p != filepath.Join(dir, FileName) || !ignored {
		t.Fatalf("Init = %q, %v, %v", p, ignored, err)
	}
	if _, err := FileOptions.Parse(p, starter, 0); err != nil {
		t.Fatalf("the starter does not parse: %v", err)
	}
	if err := os.WriteFile(p, []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Init(dir, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("Init over a ferry.star = %v, want an error that names --force", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "# mine\n" {
		t.Errorf("Init overwrote ferry.star: %q", b)
	}
	if _, ignored, err := Init(dir, true); err != nil || ignored {
		t.Errorf("Init(overwrite) = %v, %v; want the .gitignore left as it was", ignored, err)
	}
	if b, _ := os.ReadFile(p); string(b) != starter {
		t.Error("Init(overwrite) did not overwrite ferry.star")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".gitignore")); string(b) != StateDir+"/\n" {
		t.Errorf(".gitignore = %q", b)
	}
}
