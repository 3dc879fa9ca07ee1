package engine

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const precious = "the user's file, which ferry must never write\n"

// outsideFile returns a file outside the workspace, for a link to point at.
func outsideFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(p, []byte(precious), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantUntouched(t *testing.T, p string) {
	t.Helper()
	if b, err := os.ReadFile(p); err != nil || string(b) != precious {
		t.Errorf("%s was changed through a link: %q, %v", p, b, err)
	}
}

func wantErrSays(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want one saying %q", what, parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not say %q", what, err, p)
		}
	}
}

func testWorkspace(t *testing.T) *Workspace {
	dir := t.TempDir()
	return &Workspace{Root: dir, File: filepath.Join(dir, FileName)}
}

// saveSomething saves a state with one rule in it.
func saveSomething(ws *Workspace) error {
	st, _ := LoadState(ws, true)
	st.SetRule("a", &RuleState{Key: HashBytes([]byte("a"))})
	return st.Save(ws, NewFileIndex(ws.Root, nil))
}

// A .ferry/lock or .ferry/state that is a link to a file outside the
// workspace is refused, and the file it points to is left alone.
func TestStateFileLinkNotFollowed(t *testing.T) {
	t.Run("lock", func(t *testing.T) {
		ws := testWorkspace(t)
		target := outsideFile(t)
		os.Mkdir(ws.Path(StateDir), 0o700)
		if err := os.Symlink(target, ws.Path(".ferry/lock")); err != nil {
			t.Fatal(err)
		}
		l, err := AcquireLock(context.Background(), ws, func(int) {})
		if err == nil {
			l.Release()
		}
		wantErrSays(t, "AcquireLock", err, ws.Path(".ferry/lock"), "symbolic link", "remove it")
		wantUntouched(t, target)
	})
	t.Run("state", func(t *testing.T) {
		ws := testWorkspace(t)
		target := outsideFile(t)
		os.Mkdir(ws.Path(StateDir), 0o700)
		if err := os.Symlink(target, ws.Path(".ferry/state")); err != nil {
			t.Fatal(err)
		}
		st, err := LoadState(ws, true)
		wantErrSays(t, "LoadState", err, ws.Path(".ferry/state"), "symbolic link")
		if st == nil || len(st.rules) != 0 {
			t.Fatalf("LoadState gave %v, want an empty state", st)
		}
		if err := saveSomething(ws); err != nil {
			t.Fatal(err)
		}
		wantUntouched(t, target)
		if fi, err := os.Lstat(ws.Path(".ferry/state")); err != nil || !fi.Mode().IsRegular() {
			t.Errorf(".ferry/state after Save: %v, %v; want the link replaced by a file", fi, err)
		}
	})
	t.Run("WriteFileAtomic", func(t *testing.T) {
		ws := testWorkspace(t)
		target := outsideFile(t)
		os.Mkdir(ws.Path(StateDir), 0o700)
		p := ws.Path(".ferry/metrics.addr")
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		if err := WriteFileAtomic(p, []byte("new\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		wantUntouched(t, target)
		if b, _ := os.ReadFile(p); string(b) != "new\n" {
			t.Errorf("%s holds %q", p, b)
		}
	})
}

// A .ferry that is a link to a folder outside the workspace is refused: no
// lock, no state is written there.
func TestStateFolderLinkRefused(t *testing.T) {
	ws := testWorkspace(t)
	target := outsideFile(t)
	outside := filepath.Dir(target)
	if err := os.Symlink(target, filepath.Join(outside, "lock")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, ws.Path(StateDir)); err != nil {
		t.Fatal(err)
	}
	l, err := AcquireLock(context.Background(), ws, func(int) {})
	if err == nil {
		l.Release()
	}
	wantErrSays(t, "AcquireLock", err, ws.Path(StateDir), "symbolic link", "rm "+ws.Path(StateDir))
	wantErrSays(t, "Save", saveSomething(ws), ws.Path(StateDir), "symbolic link")
	_, err = LoadState(ws, false)
	wantErrSays(t, "LoadState", err, ws.Path(StateDir), "symbolic link")
	wantUntouched(t, target)
	if list, _ := os.ReadDir(outside); len(list) != 2 {
		t.Errorf("ferry wrote into the folder .ferry links to: %v", list)
	}
}

// A .ferry that is a file, or a folder of another user, gets an error that
// says what is wrong, where, and what to do.
func TestStateFolderNotUsable(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		ws := testWorkspace(t)
		os.WriteFile(ws.Path(StateDir), []byte("oops"), 0o644)
		l, err := AcquireLock(context.Background(), ws, func(int) {})
		if err == nil {
			l.Release()
		}
		wantErrSays(t, "AcquireLock", err, ws.Path(StateDir)+" is a file", "remove it")
		wantErrSays(t, "Save", saveSomething(ws), ws.Path(StateDir)+" is a file")
	})
	t.Run("owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("only root can give a folder to another user")
		}
		ws := testWorkspace(t)
		os.Mkdir(ws.Path(StateDir), 0o777)
		if err := os.Chown(ws.Path(StateDir), 4242, 4242); err != nil {
			t.Fatal(err)
		}
		_, err := AcquireLock(context.Background(), ws, func(int) {})
		wantErrSays(t, "AcquireLock", err, ws.Path(StateDir), "belongs to uid 4242", "not to you (uid 0)")
		if _, err := os.Stat(ws.Path(".ferry/lock")); err == nil {
			t.Error("ferry made its lock in another user's folder")
		}
	})
}

// ferry makes .ferry private, with a .gitignore that keeps it out of git,
// and adds that .gitignore to a .ferry that has none.
func TestStateFolderGitignore(t *testing.T) {
	ws := testWorkspace(t)
	l, err := AcquireLock(context.Background(), ws, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	if b, err := os.ReadFile(ws.Path(".ferry/.gitignore")); err != nil || string(b) != "*\n" {
		t.Errorf(".ferry/.gitignore: %q, %v", b, err)
	}
	if fi, err := os.Stat(ws.Path(StateDir)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf(".ferry: %v, %v; want mode 0700", fi, err)
	}
	os.Remove(ws.Path(".ferry/.gitignore"))
	if err := saveSomething(ws); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(ws.Path(".ferry/.gitignore")); err != nil || string(b) != "*\n" {
		t.Errorf(".ferry/.gitignore after Save: %q, %v", b, err)
	}
}

// A huge state file (sparse here: no disk used) is not read: ferry says so
// and plans as if nothing ran, without the memory to hold it.
func TestStateFileTooLarge(t *testing.T) {
	ws := testWorkspace(t)
	if err := saveSomething(ws); err != nil {
		t.Fatal(err)
	}
	p := ws.Path(".ferry/state")
	if err := os.Truncate(p, 3<<30); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	st, err := LoadState(ws, true)
	runtime.ReadMemStats(&after)
	wantErrSays(t, "LoadState", err, p, "3.0 GiB", "256 MiB", "every rule runs once")
	if st == nil || st.Rule("a") != nil {
		t.Fatalf("LoadState gave %v, want an empty state", st)
	}
	grew := after.TotalAlloc - before.TotalAlloc
	if grew > 16<<20 {
		t.Errorf("LoadState allocated %d MiB for a state file it does not read", grew>>20)
	}
	t.Logf("LoadState of a 3 GiB state file allocated %d bytes", grew)
	if err := saveSomething(ws); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() > 1<<20 {
		t.Errorf("the next Save did not replace the huge file: %v, %v", fi, err)
	}
}

// ferry init adds .ferry/ to the workspace's .gitignore once.
func TestIgnoreStateFolder(t *testing.T) {
	for _, c := range []struct{ name, before, after string }{
		{"none", "", ".ferry/\n"},
		{"no newline at the end", "node_modules", "node_modules\n.ferry/\n"},
		{"there", "bin/\n.ferry/\n", "bin/\n.ferry/\n"},
		{"there unslashed", ".ferry\n", ".ferry\n"},
		{"there anchored", "/.ferry/\n", "/.ferry/\n"},
		{"commented out", "# .ferry/\n", "# .ferry/\n.ferry/\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := testWorkspace(t)
			p := ws.Path(".gitignore")
			if c.before != "" {
				os.WriteFile(p, []byte(c.before), 0o644)
			}
			for i := range 2 {
				added, err := IgnoreStateFolder(ws.Root)
				if err != nil {
					t.Fatal(err)
				}
				if want := i == 0 && c.before != c.after; added != want {
					t.Errorf("call %d: added = %v, want %v", i+1, added, want)
				}
			}
			if b, _ := os.ReadFile(p); string(b) != c.after {
				t.Errorf(".gitignore %q became %q, want %q", c.before, b, c.after)
			}
		})
	}
	t.Run("link", func(t *testing.T) {
		ws := testWorkspace(t)
		target := outsideFile(t)
		os.Symlink(target, ws.Path(".gitignore"))
		_, err := IgnoreStateFolder(ws.Root)
		wantErrSays(t, "IgnoreStateFolder", err, ws.Path(".gitignore"), "symbolic link")
		wantUntouched(t, target)
	})
}

// A ferry killed while saving leaves its temporary file in .ferry: the
// next ferry that takes the lock removes it (one that only reads, such
// as plan, leaves it: a saving ferry may own it), and the state it had
// is kept.
func TestLeftoverStateTempRemoved(t *testing.T) {
	ws := testWorkspace(t)
	if err := saveSomething(ws); err != nil {
		t.Fatal(err)
	}
	f, err := createTemp(ws.Path(StateDir), "state.tmp")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(stateMagic + "half")
	f.Close()
	if _, err := LoadState(ws, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.Name()); err != nil {
		t.Fatalf("a read without the lock removed a save's temporary file: %v", err)
	}
	st, err := LoadState(ws, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.Name()); !os.IsNotExist(err) {
		t.Errorf("the leftover %s is still there (%v)", f.Name(), err)
	}
	if st.Rule("a") == nil {
		t.Error("the saved state was lost")
	}
}
