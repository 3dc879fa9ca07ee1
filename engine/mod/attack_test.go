package mod

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A repository address is handed to git: one that git would read as an
// option (--upload-pack runs a command), or as a transport helper (ext::
// runs one too), is refused at its position, in the workspace's ferry.mod
// as in a module's, and by ferry mod add; git runs nothing.
func TestRepoInjection(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pwned")
	evil := "--upload-pack=touch " + marker + ";"
	for _, tt := range []struct{ repo, want string }{
		{evil, "would read it as an option"},
		{"ext::sh -c touch% " + marker, "transport helper"},
		{"fd::0", "transport helper"},
		{"https://example.com/x v1.0.0", "spaces or control characters"},
		{"https://example.com/x\nlib2 https://e/y", "spaces or control characters"},
		{"gopher://example.com/x", `scheme "gopher"`},
	} {
		t.Run(tt.repo, func(t *testing.T) {
			ws := workspace(t, map[string]string{
				"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", tt.repo),
				"ferry.star": "",
			})
			_, err := Resolve(context.Background(), ws, Options{Cache: &Cache{Dir: t.TempDir()}})
			wantErr(t, err, "ferry.mod:1:", tt.want)
		})
	}
	// In a module's own ferry.mod.
	srv := newGitServer(t)
	srv.Commit(t, "a", map[string]string{"a.star": "a = 1", "ferry.mod": fmt.Sprintf("dep(\"b\", repo = %q, version = \"v1.0.0\")\n", evil)}, "v1.0.0")
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"a\", repo = %q, version = \"v1.0.0\")\n", srv.URL("a")),
		"ferry.star": "",
	})
	_, err := Resolve(context.Background(), ws, Options{Cache: &Cache{Dir: t.TempDir()}})
	wantErr(t, err, "@a//ferry.mod:1:", "would read it as an option")
	// ferry mod add, with and without a version.
	for _, v := range []string{"", "v1.0.0"} {
		_, err = Add(context.Background(), workspace(t, nil), "x", evil, v, Options{Cache: &Cache{Dir: t.TempDir()}})
		wantErr(t, err, "would read it as an option")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("git ran the command of a repository address")
	}
}

// A module's own ferry.mod names network repositories only: a module
// cannot make ferry copy the user's local repositories (file://, paths)
// into the cache and load them.
func TestModuleLocalRepo(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "private", map[string]string{"secret.star": "token = 'hunter2'"}, "v1.0.0")
	for _, local := range []string{srv.FileURL("private"), filepath.Join(srv.Base, "private"), "FILE://" + filepath.Join(srv.Base, "private")} {
		t.Run(local, func(t *testing.T) {
			srv.Commit(t, "a", map[string]string{"a.star": "load('@p//secret.star', 'token')\nleak = token",
				"ferry.mod": fmt.Sprintf("dep(\"p\", repo = %q, version = \"v1.0.0\")\n", local)}, "v1.0.0")
			ws := workspace(t, map[string]string{
				"ferry.mod":  fmt.Sprintf("dep(\"a\", repo = %q, version = \"v1.0.0\")\n", srv.URL("a")),
				"ferry.star": "load('@a//a.star', 'leak')\nprint(leak)",
			})
			_, err := evaluate(t, ws, Options{Cache: &Cache{Dir: t.TempDir()}})
			wantErr(t, err, "@a//ferry.mod:1:", "local repository", "only the workspace's ferry.mod")
		})
	}
}

// Every file a module loads is covered by the hash ferry.lock pins: a
// file under a folder the hash leaves out (.ferry, .git), or reached
// through a link, which the hash does not follow, cannot be changed in a
// vendored copy (or in the cache) while the module still verifies.
func TestLoadsOnlyHashedFiles(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{
		"lib.star":         "load('//.ferry/impl.star', 'v')\nvalue = v\n",
		".ferry/impl.star": "v = 'pinned'\n",
		"other.star":       "value = 'other'\n",
	}, "v1.0.0")
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib")),
		"ferry.star": "load('@lib//lib.star', 'value')\nprint(value)\n",
	})
	ctx := context.Background()
	o := Options{Cache: &Cache{Dir: t.TempDir()}}
	if _, err := Vendor(ctx, ws, o); err != nil {
		t.Fatal(err)
	}
	vendored := filepath.Join(ws, VendorDir, "lib")
	os.WriteFile(filepath.Join(vendored, ".ferry", "impl.star"), []byte("v = 'changed'\n"), 0o644)
	_, err := evaluate(t, ws, Options{Cache: &Cache{Dir: t.TempDir()}, Locked: true})
	wantErr(t, err, ".ferry/impl.star", "not among the files ferry.lock pins")

	// A link where the module has no file.
	writeFiles(t, ws, map[string]string{"ferry.star": "load('@lib//new.star', 'value')\nprint(value)\n"})
	os.Symlink("other.star", filepath.Join(vendored, "new.star"))
	_, err = evaluate(t, ws, Options{Cache: &Cache{Dir: t.TempDir()}, Locked: true})
	wantErr(t, err, "new.star", "not among the files ferry.lock pins")
}

// A tree of the cache is checked against its hash whenever it is used,
// not only when ferry.lock pins it: a tree changed in the cache (a cache
// a CI job restored, written by another job) is not loaded and pinned by
// the first resolve of a workspace without ferry.lock.
func TestCachedTreeVerifiedUnpinned(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"lib.star": "value = 'pinned'\n"}, "v1.0.0")
	files := map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib")),
		"ferry.star": "load('@lib//lib.star', 'value')\n",
	}
	cache := &Cache{Dir: t.TempDir()}
	g, err := Resolve(context.Background(), workspace(t, files), Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(cache.TreeDir(g.Nodes["lib"].Hash), "lib.star")
	os.Chmod(f, 0o644)
	os.WriteFile(f, []byte("value = 'changed'\n"), 0o644)
	_, err = Resolve(context.Background(), workspace(t, files), Options{Cache: cache})
	wantErr(t, err, "module hash mismatch", "lib.star")
}

// ferry.lock pins a module's commit and the hash of its files, and both
// are checked: a lock whose hash was changed to that of another tree the
// cache holds (another module, another version) does not load that tree
// as the module, though its files match the hash.
func TestLockHashOfAnotherTree(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"lib.star": "value = 'lib'\n"}, "v1.0.0")
	srv.Commit(t, "other", map[string]string{"lib.star": "value = 'other'\n"}, "v1.0.0")
	cache := &Cache{Dir: t.TempDir()}
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\ndep(\"other\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib"), srv.URL("other")),
		"ferry.star": "",
	})
	g, err := Resolve(context.Background(), ws, Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	lockPath := filepath.Join(ws, LockFileName)
	lock := readFile(t, lockPath)
	lock = strings.Replace(lock, g.Nodes["lib"].Hash, g.Nodes["other"].Hash, 1)
	writeFiles(t, ws, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib")),
		"ferry.lock": strings.Join(slices.DeleteFunc(strings.SplitAfter(lock, "\n"), func(l string) bool { return strings.HasPrefix(l, "other ") }), ""),
		"ferry.star": "load('@lib//lib.star', 'value')\nprint(value)\n",
	})
	_, err = evaluate(t, ws, Options{Cache: cache, Locked: true})
	wantErr(t, err, "module hash mismatch", "@lib v1.0.0")
}

// A lock that pins a tag to an older commit of the module, which the
// cache holds, does not downgrade the module under the tag's name.
func TestLockOlderCommitOfTag(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"lib.star": "value = 'old'\n"}, "v0.9.0")
	srv.Commit(t, "lib", map[string]string{"lib.star": "value = 'new'\n"}, "v1.0.0")
	cache := &Cache{Dir: t.TempDir()}
	mod := func(v string) string {
		return fmt.Sprintf("dep(\"lib\", repo = %q, version = %q)\n", srv.URL("lib"), v)
	}
	old := workspace(t, map[string]string{"ferry.mod": mod("v0.9.0"), "ferry.star": ""})
	gOld, err := Resolve(context.Background(), old, Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	ws := workspace(t, map[string]string{"ferry.mod": mod("v1.0.0"), "ferry.star": "load('@lib//lib.star', 'value')\n"})
	g, err := Resolve(context.Background(), ws, Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	lock := readFile(t, filepath.Join(ws, LockFileName))
	lock = strings.NewReplacer(g.Nodes["lib"].Commit, gOld.Nodes["lib"].Commit, g.Nodes["lib"].Hash, gOld.Nodes["lib"].Hash).Replace(lock)
	writeFiles(t, ws, map[string]string{"ferry.lock": lock})
	_, err = evaluate(t, ws, Options{Cache: cache, Locked: true})
	wantErr(t, err, "@lib v1.0.0", "module hash mismatch")
}

// git runs in a folder of its own, never in ferry's current folder: a
// folder of a repository laid out as a bare git repository (a pull
// request can hold one) would otherwise give git its config, such as a
// core.sshCommand that git runs for an ssh module.
func TestGitIgnoresCurrentFolder(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(t.TempDir(), "pwned")
	runGit(t, dir, "init", "-q", "--bare", ".")
	runGit(t, dir, "config", "core.sshCommand", "touch "+marker+"; false")
	t.Chdir(dir)
	remoteTags(context.Background(), "ssh://example.invalid/x.git")
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("git ran the core.sshCommand of the current folder's config")
	}
}

// A cache folder given as a relative path still works: git init runs
// in a folder of its own, and is given the mirror's absolute path.
func TestRelativeCache(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"lib.star": "value = 1\n"}, "v1.0.0")
	ws := workspace(t, map[string]string{"ferry.mod": fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib")), "ferry.star": ""})
	t.Chdir(t.TempDir())
	if _, err := Resolve(context.Background(), ws, Options{Cache: &Cache{Dir: "cache"}}); err != nil {
		t.Fatal(err)
	}
}

// A grant is given to the module that ferry.lock pins under an alias: a
// new version of another module that makes the alias name another
// repository does not hand that repository the grant.
func TestGrantFollowsRepository(t *testing.T) {
	srv := newGitServer(t)
	perms := "module(permissions = [\"commands\"])\n"
	srv.Commit(t, "tools", map[string]string{"t.star": "x = 1\n", "ferry.mod": perms}, "v1.0.0")
	srv.Commit(t, "evil", map[string]string{"t.star": "x = 2\n", "ferry.mod": perms}, "v1.0.0")
	srv.Commit(t, "a", map[string]string{"a.star": "a = 1\n", "ferry.mod": fmt.Sprintf("dep(\"tools\", repo = %q, version = \"v1.0.0\")\n", srv.URL("tools"))}, "v1.0.0")
	srv.Commit(t, "a", map[string]string{"ferry.mod": fmt.Sprintf("dep(\"tools\", repo = %q, version = \"v1.0.0\")\n", srv.URL("evil"))}, "v1.1.0")
	mod := func(v string) string {
		return fmt.Sprintf("dep(\"a\", repo = %q, version = %q)\ngrant(\"tools\", permissions = [\"commands\"])\n", srv.URL("a"), v)
	}
	ws := workspace(t, map[string]string{"ferry.mod": mod("v1.0.0"), "ferry.star": ""})
	cache := &Cache{Dir: t.TempDir()}
	if _, err := Resolve(context.Background(), ws, Options{Cache: cache}); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, ws, map[string]string{"ferry.mod": mod("v1.1.0")})
	_, err := Resolve(context.Background(), ws, Options{Cache: cache})
	wantErr(t, err, "@tools", srv.URL("evil"), srv.URL("tools"), "grant")
}
