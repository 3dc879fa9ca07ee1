package watch

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// watched returns the workspace-relative folders w watches, read on the
// loop goroutine.
func watched(w *Watcher) map[string]bool {
	out := map[string]bool{}
	w.do(func() {
		for d := range w.dirs {
			out[w.rel(d)] = true
		}
	})
	return out
}

// changeAll writes every path of rels, then a marker, and returns what was
// reported up to the marker.
func changeAll(t *testing.T, w *Watcher, rels ...string) []string {
	t.Helper()
	// First drain what earlier writes still have on the way: a save that
	// a loaded machine splits over two batches (the truncation, then the
	// write) reports its second half after the test took the first. The
	// watcher reports in order, so once a marker written now is reported,
	// nothing from before is left.
	write(t, w.root, "marker", "")
	collect(t, w, "marker")
	if err := os.Remove(filepath.Join(w.root, "marker")); err != nil {
		t.Fatal(err)
	}
	collect(t, w, "marker")
	for _, rel := range rels {
		write(t, w.root, rel, "changed")
	}
	write(t, w.root, "marker", "")
	got := collect(t, w, "marker")
	// The marker is reported by the last batch; drop it and folders.
	var files []string
	for _, p := range got {
		if p != "marker" && !isDir(filepath.Join(w.root, p)) {
			files = append(files, p)
		}
	}
	// Remove the marker, so the next call sees it created again.
	if err := os.Remove(filepath.Join(w.root, "marker")); err != nil {
		t.Fatal(err)
	}
	collect(t, w, "marker")
	return files
}

func wantFiles(t *testing.T, got []string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("reported %q, want %q", got, want)
	}
}

func TestWatchGitignore(t *testing.T) {
	root := t.TempDir()
	for rel, content := range map[string]string{
		".gitignore":              "# build output\nbuild/\n*.log\n!keep.log\ndocs/**/*.bak\n",
		"sub/.gitignore":          "gen/\n/local.txt\n",
		"build/x":                 "",
		"build/deep/y":            "",
		"sub/gen/z":               "",
		"sub/deeper/local.txt":    "",
		"docs/a/b/c.bak":          "",
		"node_modules/.gitignore": "*\n",
		"node_modules/m/index.js": "",
	} {
		write(t, root, rel, content)
	}
	w := start(t, root, Options{})

	dirs := watched(w)
	for _, d := range []string{".", "sub", "sub/deeper", "docs/a/b", "node_modules"} {
		if !dirs[d] {
			t.Errorf("%s is not watched", d)
		}
	}
	// node_modules/.gitignore ignores what node_modules holds, so the
	// folder is watched but m is not.
	for _, d := range []string{"build", "build/deep", "sub/gen", "node_modules/m"} {
		if dirs[d] {
			t.Errorf("ignored folder %s is watched", d)
		}
	}

	got := changeAll(t, w,
		"build/x", "a.log", "deep/b.log", "keep.log", "sub/gen/z", "sub/local.txt",
		"local.txt", "sub/deeper/local.txt", "docs/a/b/c.bak", "docs/c.txt", "node_modules/m/index.js",
		"build/keep.log", // a negation does not bring back a file of an ignored folder
	)
	wantFiles(t, got, "keep.log", "local.txt", "sub/deeper/local.txt", "docs/c.txt")
}

func TestWatchFerryignoreExcludeAndOptions(t *testing.T) {
	root := t.TempDir()
	write(t, root, ".ferryignore", "data/\n")
	write(t, root, ".git/info/exclude", "secret.txt\n")
	write(t, root, ".gitignore", "gen/\n")
	write(t, root, "data/big.csv", "")
	write(t, root, "gen/out.go", "")
	w := start(t, root, Options{Ignore: []string{"*.tmp", "!important.tmp", "!gen/"}})

	if dirs := watched(w); dirs["data"] || !dirs["gen"] {
		t.Errorf("watched %v: want gen (brought back by Options.Ignore) and not data", dirs)
	}
	got := changeAll(t, w, "data/big.csv", "secret.txt", "x.tmp", "important.tmp", "gen/out.go", "main.go")
	wantFiles(t, got, "important.tmp", "gen/out.go", "main.go")

	// Editing .ferryignore takes effect: data is watched again.
	write(t, root, ".ferryignore", "")
	collect(t, w, ".ferryignore")
	if !watched(w)["data"] {
		t.Error("data is not watched once .ferryignore no longer lists it")
	}
	wantFiles(t, changeAll(t, w, "data/big.csv"), "data/big.csv")

	// Editing .git/info/exclude takes effect, though .git is not watched.
	write(t, root, ".git/info/exclude", "")
	waitFor(t, "secret.txt to be reported", func() bool {
		return slices.Contains(changeAll(t, w, "secret.txt"), "secret.txt")
	})
}

// A changed .gitignore updates what is watched and reported.
func TestWatchGitignoreChanges(t *testing.T) {
	root := t.TempDir()
	write(t, root, "sub/.gitignore", "out/\n")
	write(t, root, "sub/out/a", "")
	w := start(t, root, Options{})
	if watched(w)["sub/out"] {
		t.Fatal("sub/out is watched")
	}

	write(t, root, "sub/.gitignore", "# nothing\n")
	collect(t, w, "sub/.gitignore")
	if !watched(w)["sub/out"] {
		t.Fatal("sub/out is not watched once no longer ignored")
	}
	wantFiles(t, changeAll(t, w, "sub/out/a"), "sub/out/a")

	if err := os.Remove(filepath.Join(root, "sub/.gitignore")); err != nil {
		t.Fatal(err)
	}
	write(t, root, ".gitignore", "/sub/out\n")
	collect(t, w, ".gitignore")
	if watched(w)["sub/out"] {
		t.Fatal("sub/out is still watched once ignored again")
	}
	wantFiles(t, changeAll(t, w, "sub/out/a", "sub/b"), "sub/b")
}

// A path the caller must see is watched and reported even in an ignored
// folder, and only it: the rest of the folder stays ignored.
func TestWatchKeep(t *testing.T) {
	root := t.TempDir()
	write(t, root, ".gitignore", "build/\nvendor/\ntmp/\n")
	write(t, root, "build/gen/api.go", "")
	write(t, root, "build/gen/other.go", "")
	write(t, root, "build/cache/c", "")
	write(t, root, "vendor/lib/x.go", "")
	write(t, root, "src/tmp/t", "")
	w := start(t, root, Options{Keep: []string{"build/gen/api.go", "./vendor/lib", "src"}})

	dirs := watched(w)
	for d, want := range map[string]bool{"build": true, "build/gen": true, "build/cache": false, "vendor": true, "vendor/lib": true, "src/tmp": false} {
		if dirs[d] != want {
			t.Errorf("%s watched: %v, want %v", d, dirs[d], want)
		}
	}
	// A kept folder that is not ignored (src) does not bring back what is
	// ignored in it (src/tmp).
	got := changeAll(t, w, "build/gen/api.go", "build/gen/other.go", "build/cache/c", "build/top", "vendor/lib/x.go", "vendor/lib/new/y.go", "vendor/z", "src/a", "src/tmp/t")
	wantFiles(t, got, "build/gen/api.go", "vendor/lib/x.go", "vendor/lib/new/y.go", "src/a")

	// Dropping the kept paths drops the folders' watches.
	if err := w.SetKeep(nil); err != nil {
		t.Fatal(err)
	}
	if dirs := watched(w); dirs["build"] || dirs["vendor/lib"] {
		t.Errorf("watched %v after SetKeep(nil)", dirs)
	}
	wantFiles(t, changeAll(t, w, "build/gen/api.go", "vendor/lib/x.go"))

	// A kept path whose folders appear later is watched as they appear.
	if err := os.RemoveAll(filepath.Join(root, "build")); err != nil {
		t.Fatal(err)
	}
	if err := w.SetKeep([]string{"build/gen/api.go"}); err != nil {
		t.Fatal(err)
	}
	got = changeAll(t, w, "build/gen/api.go")
	wantFiles(t, got, "build/gen/api.go")
	wantFiles(t, changeAll(t, w, "build/gen/api.go", "build/gen/other.go"), "build/gen/api.go")
}

func TestIgnoresMatch(t *testing.T) {
	ig := newIgnores("/nowhere", []string{"*.o", "/top.txt", "logs/", "a/**/z", "!keep.o"})
	ig.dirs["sub"] = parsePatterns("local\n!*.keep\n", []string{"sub"})
	for _, c := range []struct {
		rel   string
		isDir bool
		want  bool
	}{
		{"x.o", false, true},
		{"deep/x.o", false, true},
		{"keep.o", false, false},
		{"top.txt", false, true},
		{"sub/top.txt", false, false},
		{"logs", true, true},
		{"logs", false, false}, // dir-only pattern, a file
		{"logs/today", false, true},
		{"a/z", false, true},
		{"a/b/c/z", false, true},
		{"b/z", false, false},
		{"sub/local", false, true},
		{"sub/x/local", false, true},
		{"local", false, false},
		{"sub/local/f.keep", false, true}, // its folder is ignored
		{"main.go", false, false},
	} {
		if got := ig.excluded(c.rel, c.isDir); got != c.want {
			t.Errorf("excluded(%q, dir=%v) = %v, want %v", c.rel, c.isDir, got, c.want)
		}
	}
}

// In a git worktree .git is a file: there is no info/exclude to read.
func TestWatchGitWorktree(t *testing.T) {
	root := t.TempDir()
	write(t, root, ".git", "gitdir: /elsewhere/.git/worktrees/x\n")
	write(t, root, ".gitignore", "*.o\n")
	w := start(t, root, Options{})
	wantFiles(t, changeAll(t, w, "a.o", "a.c"), "a.c")
}

// An ignored folder that appears and goes is never reported, though
// "build/" matches folders only and a removed path cannot be stat-ed.
func TestWatchIgnoredFolderComesAndGoes(t *testing.T) {
	root := t.TempDir()
	write(t, root, ".gitignore", "build/\n")
	w := start(t, root, Options{})
	wantFiles(t, changeAll(t, w, "build/out/x"))
	if watched(w)["build"] {
		t.Error("the new ignored folder is watched")
	}
	if err := os.RemoveAll(filepath.Join(root, "build")); err != nil {
		t.Fatal(err)
	}
	write(t, root, "marker", "")
	if got := collect(t, w, "marker"); !slices.Equal(got, []string{"marker"}) {
		t.Errorf("reported %q, want only the marker", got)
	}
}

// SetKeep watches an ignored folder that is itself kept, and drops it when
// it no longer is.
func TestWatchSetKeepIgnoredFolder(t *testing.T) {
	root := t.TempDir()
	write(t, root, ".gitignore", "gen/\n")
	write(t, root, "gen/sub/a.go", "")
	w := start(t, root, Options{})
	if err := w.SetKeep([]string{"gen"}); err != nil {
		t.Fatal(err)
	}
	if dirs := watched(w); !dirs["gen"] || !dirs["gen/sub"] {
		t.Fatalf("watched %v: want gen and gen/sub", dirs)
	}
	wantFiles(t, changeAll(t, w, "gen/sub/a.go"), "gen/sub/a.go")
	if err := w.SetKeep(nil); err != nil {
		t.Fatal(err)
	}
	if dirs := watched(w); dirs["gen"] || dirs["gen/sub"] {
		t.Fatalf("watched %v after SetKeep(nil)", dirs)
	}
}

// An ignore file that is a symbolic link is not read, as git does not read
// one (since 2.32): it could lead out of the workspace, to a file that never
// ends (/dev/zero) or to a pipe that never answers.
func TestIgnoreFileLinkNotRead(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "patterns")
	if err := os.WriteFile(outside, []byte("*.go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".gitignore", ".ferryignore"} {
		if err := os.Symlink(outside, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	ig := newIgnores(root, nil)
	if err := ig.loadRoot(); err != nil {
		t.Fatal(err)
	}
	ps, err := ig.readFile(gitignoreFile)
	if err != nil {
		t.Fatal(err)
	}
	ig.dirs["."] = ps
	if ig.excluded("main.go", false) {
		t.Error("main.go is excluded by the patterns of a file that .gitignore or .ferryignore links to")
	}

	// A special file is not read either, and a huge one is cut short.
	if err := os.Remove(filepath.Join(root, ".gitignore")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, ".gitignore"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ps, err := ig.readFile(gitignoreFile); err != nil || len(ps) != 0 {
		t.Errorf("a FIFO .gitignore gave %v, %v; want no patterns", ps, err)
	}
}
