package mod

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The module cache is trusted only when it is the user's own: a folder
// of it that others may write in, or that belongs to another user, stops
// the load with the folder and what to do; one ferry made under a
// permissive umask passes.
func TestCacheMustBePrivate(t *testing.T) {
	// ferry's own cache passes under umask 002: what it makes is private.
	old := syscall.Umask(0o002)
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1, "sub/more.star": "m = 1\n"}, "v1.0.0")
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.FileURL("lib")),
		"ferry.star": "load('@lib//greet.star', 'greeting')",
	})
	cache := &Cache{Dir: filepath.Join(t.TempDir(), "cache")}
	resolve := func() error {
		_, err := Resolve(context.Background(), ws, Options{Cache: cache})
		return err
	}
	err := resolve()
	syscall.Umask(old)
	if err != nil {
		t.Fatalf("a cache ferry made under umask 002: %v", err)
	}
	lock, err := ReadLock(filepath.Join(ws, LockFileName), LockFileName)
	if err != nil {
		t.Fatal(err)
	}
	tree := cache.TreeDir(lock.Modules["lib"].Hash)
	mirror := filepath.Join(cache.Dir, "git", repoID(srv.FileURL("lib"))+".git")
	if err := resolve(); err != nil {
		t.Fatalf("again, from the cache: %v", err)
	}

	for _, p := range []string{cache.Dir, filepath.Join(cache.Dir, "tree"), tree, filepath.Join(tree, "sub"), filepath.Join(mirror, "hooks")} {
		t.Run(strings.TrimPrefix(p, cache.Dir), func(t *testing.T) {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o777); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(p, fi.Mode().Perm())
			// The mirror is checked when git runs in it: a fetch.
			if p == filepath.Join(mirror, "hooks") {
				os.RemoveAll(tree)
				defer os.Remove(filepath.Join(cache.Dir, "commit", repoID(srv.FileURL("lib")), lock.Modules["lib"].Commit))
			}
			wantErr(t, resolve(), p, "may be written by other users (mode -rwxrwxrwx)", "chmod -R go-w "+p, "FERRY_MODCACHE")
		})
	}
	if err := resolve(); err != nil {
		t.Fatalf("once the modes are back: %v", err)
	}

	if os.Geteuid() != 0 {
		t.Skip("changing a folder's owner needs root")
	}
	const nobody = 65534
	if err := os.Chown(tree, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	wantErr(t, resolve(), tree, "belongs to uid 65534, not to you (uid 0)", "FERRY_MODCACHE")
	os.Chown(tree, 0, 0)
	if err := os.Chown(cache.Dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	wantErr(t, resolve(), cache.Dir+" (the module cache) belongs to uid 65534")
}
