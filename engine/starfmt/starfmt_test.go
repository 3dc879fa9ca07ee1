package starfmt_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine/starfmt"
)

const messy = `load("@std//go.star","go_binary")
x=[1,2,
3]
def f(a,b=1):
  return a+b
`

const tidy = `load("@std//go.star", "go_binary")

x = [
    1,
    2,
    3,
]

def f(a, b = 1):
    return a + b
`

func TestFormat(t *testing.T) {
	got, err := starfmt.Format("x.star", []byte(messy))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != tidy {
		t.Errorf("got\n%s\nwant\n%s", got, tidy)
	}
	// Idempotent: formatting the result changes nothing.
	again, err := starfmt.Format("x.star", got)
	if err != nil || string(again) != string(got) {
		t.Errorf("formatting twice changes the file:\n%s\n%v", again, err)
	}
}

func TestFormatErrors(t *testing.T) {
	_, err := starfmt.Format("lib/x.star", []byte("x = (\n"))
	if err == nil || errors.Is(err, starfmt.ErrUnsupported) || !strings.HasPrefix(err.Error(), "lib/x.star:3:1: syntax error") {
		t.Errorf("syntax error: got %v", err)
	}
	_, err = starfmt.Format("lib/x.star", []byte("i = 0\nwhile i < 3:\n    i += 1\n"))
	if !errors.Is(err, starfmt.ErrUnsupported) || !strings.HasPrefix(err.Error(), "lib/x.star:2:") || !strings.Contains(err.Error(), "left as it is") {
		t.Errorf("while loop: got %v", err)
	}
}

func TestRun(t *testing.T) {
	root := t.TempDir()
	write := func(name, body string, mode os.FileMode) {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("ferry.star", tidy, 0o644)
	write("lib/a.star", messy, 0o600)
	write("lib/b.star", "x = (\n", 0o644)
	write("lib/w.star", "i = 0\nwhile i < 1:\n    i += 1\n", 0o644)
	write("testdata/c.star", messy, 0o644)
	write(".hidden/d.star", messy, 0o644)
	write("lib/e.txt", messy, 0o644)

	res, err := starfmt.Run(root, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Changed, " ") != "lib/a.star" || len(res.Errors) != 1 || len(res.Skipped) != 1 {
		t.Fatalf("check: %+v", res)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "lib/a.star")); string(b) != messy {
		t.Error("--check changed the file")
	}

	res, err = starfmt.Run(root, nil, false)
	if err != nil || strings.Join(res.Changed, " ") != "lib/a.star" {
		t.Fatalf("format: %+v %v", res, err)
	}
	p := filepath.Join(root, "lib/a.star")
	if b, _ := os.ReadFile(p); string(b) != tidy {
		t.Errorf("formatted:\n%s", b)
	}
	if info, _ := os.Stat(p); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 kept", info.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "lib")); len(entries) != 4 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	for _, skipped := range []string{"testdata/c.star", ".hidden/d.star"} {
		if b, _ := os.ReadFile(filepath.Join(root, skipped)); string(b) != messy {
			t.Errorf("%s was formatted", skipped)
		}
	}

	// A second run changes nothing; a file named is formatted even in testdata.
	if res, _ := starfmt.Run(root, []string{"lib/a.star", "ferry.star"}, true); len(res.Changed) != 0 {
		t.Errorf("second run: %+v", res)
	}
	if res, _ := starfmt.Run(root, []string{"testdata/c.star"}, false); strings.Join(res.Changed, " ") != "testdata/c.star" {
		t.Errorf("a file named: %+v", res)
	}
	if _, err := starfmt.Run(root, []string{"lib/e.txt"}, false); err == nil || !strings.Contains(err.Error(), "want Starlark files (*.star)") {
		t.Errorf("a file that is not Starlark: %v", err)
	}
}

// The Starlark that ships with ferry is formatted.
func TestShippedStarlarkIsFormatted(t *testing.T) {
	for _, dir := range []string{"../../stdlib", "../../examples"} {
		root, _ := filepath.Abs(dir)
		res, err := starfmt.Run(root, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Changed) > 0 || len(res.Errors) > 0 {
			t.Errorf("%s: not formatted: %v %v; run ferry fmt on them", dir, res.Changed, res.Errors)
		}
	}
}

// ferry fmt writes only files of the workspace: a folder or a file named
// through a link that leads out of it (a repository can hold one) is
// refused, as a ../ path is.
func TestRunThroughLink(t *testing.T) {
	root, out := t.TempDir(), t.TempDir()
	victim := filepath.Join(out, "x.star")
	if err := os.WriteFile(victim, []byte(messy), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink(out, filepath.Join(root, "sub"))
	for _, p := range []string{"sub", "sub/x.star"} {
		if _, err := starfmt.Run(root, []string{p}, false); err == nil || !strings.Contains(err.Error(), "outside the workspace") {
			t.Errorf("ferry fmt %s: %v, want an error that it is outside the workspace", p, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != messy {
		t.Errorf("ferry fmt rewrote %s, outside the workspace", victim)
	}
}
