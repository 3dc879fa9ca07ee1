package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A .ferry/lock that links to a file outside the workspace stops ferry with
// an error saying what to do; the file is left alone. Once the link is
// gone, ferry runs.
func TestStateLinkRefused(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": `task(name = "a", cmd = "true")`})
	target := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(target, []byte("mine\n"), 0o644)
	os.Mkdir(ws.path(".ferry"), 0o700)
	if err := os.Symlink(target, ws.path(".ferry/lock")); err != nil {
		t.Fatal(err)
	}
	r := ws.ferry(t, "run")
	r.wantCode(t, 2)
	r.wantStderr(t, ws.path(".ferry/lock")+" is a symbolic link", "rm "+ws.path(".ferry/lock"))
	if b, _ := os.ReadFile(target); string(b) != "mine\n" {
		t.Errorf("the link's target became %q", b)
	}
	os.Remove(ws.path(".ferry/lock"))
	ws.ferry(t, "run").wantCode(t, 0)
}

// A .ferry that is a file gets an error naming it and what to do; plan,
// which writes nothing, warns and plans as if nothing ran.
func TestStateFolderIsAFile(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": `task(name = "a", cmd = "true")`, ".ferry": "not a folder"})
	r := ws.ferry(t, "run")
	r.wantCode(t, 2)
	r.wantStderr(t, ws.path(".ferry")+" is a file, not a folder", "rm "+ws.path(".ferry"))
	r = ws.ferry(t, "plan")
	r.wantCode(t, 0)
	r.wantStderr(t, ws.path(".ferry")+" is a file, not a folder")
}
