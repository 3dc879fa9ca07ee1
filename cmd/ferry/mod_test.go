package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The modules example, with its module fetched from a git repository made
// by the test (file://) instead of the override: ferry mod tidy pins it,
// ferry run uses it, and with --locked a fresh cache fetches only what
// ferry.lock pins. (TestExamples runs the example as it is, with the
// override.)
func TestModulesExampleFromGit(t *testing.T) {
	t.Setenv("FERRY_MODCACHE", t.TempDir())
	t.Setenv("CI", "")
	base := t.TempDir()
	ws, repo := filepath.Join(base, "ws"), filepath.Join(base, "greet")
	if err := os.CopyFS(ws, os.DirFS("../../examples/modules")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(ws, ".ferry"))
	os.RemoveAll(filepath.Join(ws, "out"))
	if err := os.Rename(filepath.Join(ws, "greet"), repo); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "greet"}, {"tag", "v1.0.0"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	os.WriteFile(filepath.Join(ws, "ferry.mod"), []byte("module(name = \"example/modules\")\n"), 0o644)
	ferry := func(args ...string) (string, string, int) {
		var out, logs strings.Builder
		code := run(context.Background(), append([]string{"-C", ws}, args...), &out, &logs)
		return out.String(), logs.String(), code
	}
	// The module needs "commands", which the workspace has not granted.
	if _, logs, code := ferry("mod", "add", "greet", "file://"+repo); code == 0 || !strings.Contains(logs, `@greet v1.0.0 needs permission commands`) || !strings.Contains(logs, `add grant("greet", permissions = [...]) to ferry.mod`) {
		t.Fatalf("ferry mod add of a module needing an ungranted permission exited %d:\n%s", code, logs)
	}
	os.WriteFile(filepath.Join(ws, "ferry.mod"), []byte("module(name = \"example/modules\")\ngrant(\"greet\", permissions = [\"commands\"])\n"), 0o644)
	if out, logs, code := ferry("mod", "add", "greet", "file://"+repo); code != 0 || !strings.Contains(out, "added @greet v1.0.0") {
		t.Fatalf("ferry mod add exited %d:\n%s%s", code, out, logs)
	}
	if _, logs, code := ferry("run"); code != 0 {
		t.Fatalf("ferry run exited %d:\n%s", code, logs)
	}
	if out, logs, code := ferry("doc", "@greet//format.star", "line"); code != 0 || out != "### `line(who)`\n\nReturns the greeting for who.\n" {
		t.Fatalf("ferry doc of a module from the cache exited %d:\n%s%s", code, out, logs)
	}
	if out, logs, code := ferry("mod", "graph"); code != 0 || out != "example/modules → @greet v1.0.0\n" {
		t.Fatalf("ferry mod graph exited %d:\n%s%s", code, out, logs)
	}
	t.Setenv("FERRY_MODCACHE", t.TempDir())
	if out, logs, code := ferry("--locked", "plan"); code != 0 || !strings.Contains(out, "0 of 3 rules would run") || !strings.Contains(logs, "fetching @greet v1.0.0") {
		t.Fatalf("ferry --locked plan on an empty cache exited %d:\n%s%s", code, out, logs)
	}
	if out, logs, code := ferry("mod", "verify"); code != 0 || !strings.Contains(out, "all 1 modules") {
		t.Fatalf("ferry mod verify exited %d:\n%s%s", code, out, logs)
	}
	// In CI, --locked is the default: a missing pin is an error, not a fetch.
	os.Remove(filepath.Join(ws, "ferry.lock"))
	t.Setenv("CI", "true")
	if _, logs, code := ferry("plan"); code == 0 || !strings.Contains(logs, "is not pinned in ferry.lock, and --locked (the default in CI)") {
		t.Fatalf("ferry plan in CI without ferry.lock exited %d:\n%s", code, logs)
	}
	if _, logs, code := ferry("--locked=false", "plan"); code != 0 {
		t.Fatalf("ferry --locked=false plan exited %d:\n%s", code, logs)
	}
	t.Setenv("CI", "")
	// A bump: plan and run name the module and both versions.
	os.WriteFile(filepath.Join(repo, "README.md"), []byte("greet\n"), 0o644)
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "readme"}, {"tag", "v1.1.0"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if out, logs, code := ferry("mod", "update", "greet"); code != 0 {
		t.Fatalf("ferry mod update exited %d:\n%s%s", code, out, logs)
	}
	if out, logs, code := ferry("plan"); code != 0 || !strings.Contains(out, "hello  module @greet changed (v1.0.0 → v1.1.0)\n") || strings.Contains(out, "definition changed") {
		t.Fatalf("ferry plan after the bump exited %d:\n%s%s", code, out, logs)
	}
	if out, logs, code := ferry("run"); code != 0 || !strings.Contains(logs, "started: module @greet changed (v1.0.0 → v1.1.0)") {
		t.Fatalf("ferry run after the bump exited %d:\n%s%s", code, out, logs)
	}
	// A module that is not in ferry.mod: the load fails at its position.
	os.WriteFile(filepath.Join(ws, "ferry.star"), []byte("load(\"@other//x.star\", \"x\")\n"), 0o644)
	if _, logs, code := ferry("plan"); code == 0 || !strings.Contains(logs, "ferry.star:1:1") || !strings.Contains(logs, "@other is not a dependency in") {
		t.Fatalf("ferry plan with an unknown alias exited %d:\n%s", code, logs)
	}
}
