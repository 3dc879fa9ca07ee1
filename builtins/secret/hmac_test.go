package secret

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// keyFiles returns the files under dir.
func keyFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// The key lives in the user's state folder, one per workspace, private;
// nothing of it is in the workspace.
func TestKeyLivesOutsideTheWorkspace(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	ws1, ws2 := t.TempDir(), t.TempDir()
	k1, err := readWorkspaceKey(ws1)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := readWorkspaceKey(ws2)
	if err != nil {
		t.Fatal(err)
	}
	again, err := readWorkspaceKey(ws1)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 || bytes.Equal(k1, k2) || !bytes.Equal(k1, again) {
		t.Errorf("keys: %x, other workspace %x, again %x", k1, k2, again)
	}
	if files := keyFiles(t, ws1); len(files) != 0 {
		t.Errorf("the workspace holds %v", files)
	}
	files := keyFiles(t, state)
	if len(files) != 2 {
		t.Fatalf("state folder holds %v, want two keys", files)
	}
	for _, f := range files {
		fi, err := os.Lstat(f)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
			t.Errorf("key file %s: %v %v", f, fi, err)
		}
		if !strings.HasPrefix(f, filepath.Join(state, "ferry", "secret-keys")+"/") {
			t.Errorf("key file %s is not in %s/ferry/secret-keys", f, state)
		}
	}
	for _, d := range []string{filepath.Join(state, "ferry"), filepath.Join(state, "ferry", "secret-keys")} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("folder %s: %v %v, want mode 0700", d, fi, err)
		}
	}

	// Without XDG_STATE_HOME (or with a relative one, which the XDG spec
	// says to ignore), the key is in ~/.local/state.
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, v := range []string{"", "relative/state"} {
		t.Setenv("XDG_STATE_HOME", v)
		if _, err := readWorkspaceKey(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	if files := keyFiles(t, filepath.Join(home, ".local", "state", "ferry", "secret-keys")); len(files) != 2 {
		t.Errorf("~/.local/state/ferry/secret-keys holds %v, want two keys", files)
	}
}

// A key that came with the workspace (.ferry/secret-hmac.key, where ferry
// kept it before) is never used, and is removed.
func TestKeyFromTheRepositoryIgnored(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	ws := t.TempDir()
	committed := bytes.Repeat([]byte("k"), 32)
	old := filepath.Join(ws, ".ferry", "secret-hmac.key")
	os.Mkdir(filepath.Dir(old), 0o700)
	if err := os.WriteFile(old, committed, 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := readWorkspaceKey(ws)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(key, committed) {
		t.Fatal("ferry used the key that came with the workspace")
	}
	if _, err := os.Lstat(old); err == nil {
		t.Errorf("%s is still there", old)
	}
}

// A key file that is a link is refused: its target, which could be a
// known file, never becomes the key, and is left alone.
func TestKeyFileLinkRefused(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	ws := t.TempDir()
	p, err := keyPath(ws)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "known")
	known := bytes.Repeat([]byte("x"), 32)
	os.WriteFile(target, known, 0o600)
	os.MkdirAll(filepath.Dir(p), 0o700)
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	key, err := readWorkspaceKey(ws)
	if err == nil || !strings.Contains(err.Error(), p+" is a symbolic link") || !strings.Contains(err.Error(), "rm "+p) {
		t.Errorf("readWorkspaceKey = %x, %v; want an error naming the link and what to do", key, err)
	}
	if b, _ := os.ReadFile(target); !bytes.Equal(b, known) {
		t.Errorf("the link's target changed: %q", b)
	}
}

// Processes that start at once in a new workspace agree on one key.
func TestKeyMadeOnceByConcurrentProcesses(t *testing.T) {
	if root := os.Getenv("FERRY_TEST_KEY_ROOT"); root != "" {
		key, err := readWorkspaceKey(root)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(hex.EncodeToString(key))
		os.Exit(0)
	}
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	ws := t.TempDir()
	const n = 6
	cmds := make([]*exec.Cmd, n)
	outs := make([]bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestKeyMadeOnceByConcurrentProcesses$")
		cmds[i].Env = append(os.Environ(), "FERRY_TEST_KEY_ROOT="+ws)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("process %d: %v: %s", i, err, outs[i].String())
		}
	}
	for i := range outs {
		if outs[i].String() != outs[0].String() || len(strings.TrimSpace(outs[i].String())) != 64 {
			t.Errorf("process %d got key %q, process 0 %q", i, outs[i].String(), outs[0].String())
		}
	}
	key, err := readWorkspaceKey(ws)
	if err != nil || hex.EncodeToString(key)+"\n" != outs[0].String() {
		t.Errorf("key read after: %x, %v; the processes got %s", key, err, outs[0].String())
	}
}
