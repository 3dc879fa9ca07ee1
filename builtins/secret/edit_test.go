package secret

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// editor sets $EDITOR to a script that runs body with the file as $1, and
// records the file's path; it returns where it records it.
func editor(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	seen := filepath.Join(dir, "seen")
	script := filepath.Join(dir, "editor")
	src := fmt.Sprintf("#!/bin/sh\nprintf %%s \"$1\" > %s\n%s\n", seen, body)
	if err := os.WriteFile(script, []byte(src), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDITOR", script)
	return seen
}

// editedFile returns the path the editor was given, checking that its
// folder is gone.
func editedFile(t *testing.T, seen string) string {
	t.Helper()
	b, err := os.ReadFile(seen)
	if err != nil {
		t.Fatalf("the editor did not run: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(string(b))); !os.IsNotExist(err) {
		t.Errorf("the private folder %s is still there (%v)", filepath.Dir(string(b)), err)
	}
	return string(b)
}

func TestEdit(t *testing.T) {
	id, rs := identity(t)
	path := filepath.Join(t.TempDir(), "tok.age")
	ctx := context.Background()

	seen := editor(t, `[ -s "$1" ] && exit 9; printf first > "$1"`)
	if o, err := Edit(ctx, path, "tok.age", id, rs); err != nil || o != Edited {
		t.Fatalf("a new file: %v, %v", o, err)
	}
	if f := editedFile(t, seen); filepath.Base(f) != "tok" || !editFolder.MatchString(filepath.Base(filepath.Dir(f))) {
		t.Errorf("edited %s; want tok in a folder ferry-secret-PID-N", f)
	}
	if got, err := DecryptFile(path, "tok.age", id); err != nil || string(got) != "first" {
		t.Fatalf("decrypted %q, %v", got, err)
	}

	editor(t, `[ "$(cat "$1")" = first ] || exit 9; printf second > "$1"`)
	if o, err := Edit(ctx, path, "tok.age", id, rs); err != nil || o != Edited {
		t.Fatalf("an edit: %v, %v", o, err)
	}
	if got, _ := DecryptFile(path, "tok.age", id); string(got) != "second" {
		t.Errorf("decrypted %q after the edit", got)
	}

	before, _ := os.ReadFile(path)
	editor(t, "true")
	if o, err := Edit(ctx, path, "tok.age", id, rs); err != nil || o != Unchanged {
		t.Errorf("saved unchanged: %v, %v", o, err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a file saved unchanged was encrypted again")
	}

	missing := filepath.Join(filepath.Dir(path), "new.age")
	if o, err := Edit(ctx, missing, "new.age", id, rs); err != nil || o != NotCreated {
		t.Errorf("nothing saved: %v, %v", o, err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("%s was created with nothing saved", missing)
	}

	seen = editor(t, `printf third > "$1"; exit 3`)
	if _, err := Edit(ctx, path, "tok.age", id, rs); err == nil || !strings.Contains(err.Error(), "failed (exit status 3): nothing was encrypted") {
		t.Errorf("a failing editor: %v", err)
	}
	editedFile(t, seen)
	if got, _ := DecryptFile(path, "tok.age", id); string(got) != "second" {
		t.Errorf("a failing editor changed the file to %q", got)
	}

	// A missing folder is found out before the editor runs.
	seen = editor(t, "true")
	if _, err := Edit(ctx, filepath.Join(filepath.Dir(path), "no", "x.age"), "no/x.age", id, rs); err == nil || !strings.Contains(err.Error(), "folder no does not exist") {
		t.Errorf("into a missing folder: %v", err)
	}
	if _, err := os.Stat(seen); !os.IsNotExist(err) {
		t.Error("the editor ran for a file that could not be written")
	}
}

func TestRemoveLeftoverEdits(t *testing.T) {
	base := editBase()
	left := filepath.Join(base, fmt.Sprintf("ferry-secret-%d-%d", 1<<22+os.Getpid(), 1))
	held := filepath.Join(base, fmt.Sprintf("ferry-secret-%d-%d", 1<<22+os.Getpid(), 2))
	for _, d := range []string{left, held} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		os.WriteFile(filepath.Join(d, "tok"), []byte("plain"), 0o600)
	}
	// held is locked, as by a live edit.
	f, err := os.Open(held)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	RemoveLeftoverEdits(&out)
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("the leftover folder is still there")
	}
	if _, err := os.Stat(held); err != nil {
		t.Errorf("the folder of a live edit was removed: %v", err)
	}
	if want := "removed " + left + ", the private folder of a `ferry secret edit`"; !strings.Contains(out.String(), want) || strings.Contains(out.String(), held) {
		t.Errorf("said %q, want %q and nothing of %s", out.String(), want, held)
	}
}

// What an edit left undone is said with what to do.
func TestEditOutcomeMessage(t *testing.T) {
	for o, want := range map[EditOutcome]string{
		Edited:     "",
		NotCreated: "new.age not created: nothing was saved",
		Unchanged:  "tok.age unchanged; to re-encrypt it for the current recipients, run `ferry secret rekey tok.age`",
	} {
		name := "tok.age"
		if o == NotCreated {
			name = "new.age"
		}
		if got := o.Message(name); got != want {
			t.Errorf("%d.Message(%s) = %q, want %q", o, name, got, want)
		}
	}
}
