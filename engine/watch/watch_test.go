package watch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// waitLimit bounds every wait; it is never a timing assertion.
const waitLimit = 20 * time.Second

func write(t testing.TB, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func start(t testing.TB, root string, opts Options) *Watcher {
	t.Helper()
	w, err := New(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// collect reads batches until every path of want has been reported, and
// returns every path seen, failing after waitLimit.
func collect(t *testing.T, w *Watcher, want ...string) []string {
	t.Helper()
	seen := map[string]bool{}
	deadline := time.After(waitLimit)
	for {
		missing := false
		for _, p := range want {
			missing = missing || !seen[p]
		}
		if !missing {
			var out []string
			for p := range seen {
				out = append(out, p)
			}
			slices.Sort(out)
			return out
		}
		select {
		case b := <-w.Batches():
			for _, p := range b.Paths {
				seen[p] = true
			}
		case err := <-w.Errors():
			t.Fatalf("watch error: %v", err)
		case <-deadline:
			t.Fatalf("timed out waiting for %q; saw %v", want, seen)
		}
	}
}

func TestWatchWriteCreateRemove(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt", "a")
	write(t, root, "sub/deep/b.txt", "b")
	w := start(t, root, Options{})

	write(t, root, "a.txt", "a2")
	collect(t, w, "a.txt")
	write(t, root, "sub/deep/b.txt", "b2")
	collect(t, w, "sub/deep/b.txt")
	write(t, root, "sub/c.txt", "c")
	collect(t, w, "sub/c.txt")
	if err := os.Remove(filepath.Join(root, "a.txt")); err != nil {
		t.Fatal(err)
	}
	collect(t, w, "a.txt")
}

// Editors save by writing a temporary file and renaming it over the
// original: the original's path must be reported, the temporary ignored.
func TestWatchAtomicSave(t *testing.T) {
	root := t.TempDir()
	write(t, root, "main.go", "package main")
	w := start(t, root, Options{})

	tmp := filepath.Join(root, "main.go~")
	if err := os.WriteFile(tmp, []byte("package main // saved"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "main.go")); err != nil {
		t.Fatal(err)
	}
	write(t, root, "marker", "")
	got := collect(t, w, "main.go", "marker")
	if slices.Contains(got, "main.go~") {
		t.Errorf("temporary file reported: %q", got)
	}
}

// A new folder is watched as soon as it appears, and files created in it
// before the watch was in place are reported by the rescan of the folder.
func TestWatchNewFolders(t *testing.T) {
	root := t.TempDir()
	w := start(t, root, Options{})

	// MkdirAll and the write race the watcher: new/x/y.txt may exist before
	// new/ is watched.
	write(t, root, "new/x/y.txt", "y")
	collect(t, w, "new", "new/x/y.txt")
	// Now new/x is watched: a later file in it is seen.
	write(t, root, "new/x/z.txt", "z")
	collect(t, w, "new/x/z.txt")

	// A folder built elsewhere and moved in arrives with its contents.
	other := t.TempDir()
	write(t, other, "pkg/f.go", "f")
	if err := os.Rename(filepath.Join(other, "pkg"), filepath.Join(root, "pkg")); err != nil {
		t.Fatal(err)
	}
	collect(t, w, "pkg", "pkg/f.go")
	write(t, root, "pkg/g.go", "g")
	collect(t, w, "pkg/g.go")

	// A removed folder is dropped; recreating it watches it again.
	if err := os.RemoveAll(filepath.Join(root, "new")); err != nil {
		t.Fatal(err)
	}
	collect(t, w, "new")
	write(t, root, "new/again.txt", "a")
	collect(t, w, "new/again.txt")
}

func TestWatchIgnores(t *testing.T) {
	root := t.TempDir()
	write(t, root, ".git/HEAD", "ref")
	write(t, root, ".ferry/state", "s")
	write(t, root, "sub/keep", "")
	w := start(t, root, Options{})

	write(t, root, ".git/HEAD", "ref2")
	write(t, root, ".git/objects/ab/cd", "obj")
	write(t, root, ".ferry/state", "s2")
	write(t, root, ".main.go.swp", "x")
	write(t, root, "4913", "")
	write(t, root, "notes~", "")
	write(t, root, "sub/.#main.go", "")
	write(t, root, "marker", "")
	got := collect(t, w, "marker")
	if !slices.Equal(got, []string{"marker"}) {
		t.Errorf("got %q, want only the marker", got)
	}
	for _, p := range []string{".git", ".ferry/x", "a/.git/b", "x.swp", "4913", "a/b~", ".#f", "main.go___jb_tmp___", "a/main.go___jb_old___", ".goutputstream-X1Y2",
		"a.go.swo", "a.go.swx", "#main.go#", "a/.main.go.kate-swp", "bin/app-go-tmp-umask"} {
		if !Ignored(p) {
			t.Errorf("Ignored(%q) = false", p)
		}
	}
	for _, p := range []string{"git/x", "a.ferry", "main.go", "49131", "#", "a#b", "#issue"} {
		if Ignored(p) {
			t.Errorf("Ignored(%q) = true", p)
		}
	}
}

// Writes to the files the process itself writes (its output redirected to
// a file in the workspace) are never reported, under any of their names;
// OwnFiles keeps regular files only.
func TestWatchOwnFiles(t *testing.T) {
	root := t.TempDir()
	out, err := os.Create(filepath.Join(root, "w.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := os.Link(filepath.Join(root, "w.log"), filepath.Join(root, "same.log")); err != nil {
		t.Fatal(err)
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	own := OwnFiles(out, nil, devNull)
	if len(own) != 1 {
		t.Fatalf("OwnFiles(w.log, nil, /dev/null): %v, want w.log only", own)
	}
	w := start(t, root, Options{Own: own})
	out.WriteString("a log line\n")
	write(t, root, "same.log", "through another name\n")
	write(t, root, "marker", "")
	if got := collect(t, w, "marker"); !slices.Equal(got, []string{"marker"}) {
		t.Errorf("got %q, want only the marker", got)
	}
}

// A burst of changes arrives in few batches, not one per file, and all are
// reported. How few depends on scheduling: a writer paused for longer than
// the quiet window cuts a batch, so the bound is loose (a tenth of the
// files), yet far below the one batch per file of no batching.
func TestWatchBurst(t *testing.T) {
	root := t.TempDir()
	write(t, root, "burst/keep", "")
	w := start(t, root, Options{})
	want := map[string]bool{}
	var names []string
	for i := range 200 {
		p := "burst/" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + ".txt"
		want[p] = true
		names = append(names, p)
	}
	// The reader takes batches while the files are written, as a watch
	// does: without batching, each write would be a batch of its own.
	werr := make(chan error, 1)
	go func() {
		for _, p := range names {
			if err := os.WriteFile(filepath.Join(root, p), []byte("x"), 0o644); err != nil {
				werr <- err
				return
			}
		}
	}()
	batches := 0
	deadline := time.After(waitLimit)
	for len(want) > 0 {
		select {
		case b := <-w.Batches():
			batches++
			for _, p := range b.Paths {
				delete(want, p)
			}
		case err := <-w.Errors():
			t.Fatalf("watch error: %v", err)
		case err := <-werr:
			t.Fatal(err)
		case <-deadline:
			t.Fatalf("timed out: %d paths not reported after %d batches", len(want), batches)
		}
	}
	if batches > 20 {
		t.Errorf("200 files came in %d batches, want at most 20", batches)
	}
}

// With a long quiet window, a batch still goes out when it reaches its
// maximum age; with a long maximum age, when the window passes. Each
// writes two files: the second is no lone save (a change came less than
// the quiet window before it), so only the age, or the window, can send
// it.
func TestWatchQuietWindowAndMaxAge(t *testing.T) {
	root := t.TempDir()
	w := start(t, root, Options{Debounce: time.Hour, MaxBatchAge: 20 * time.Millisecond})
	write(t, root, "a", "")
	write(t, root, "b", "")
	collect(t, w, "a", "b")

	w2 := start(t, t.TempDir(), Options{Debounce: 20 * time.Millisecond, MaxBatchAge: time.Hour})
	write(t, w2.root, "c", "")
	write(t, w2.root, "d", "")
	collect(t, w2, "c", "d")
}

// A lone save goes out after the quick window, without waiting for the
// quiet window: with a quiet window and a maximum age of an hour, only the
// quick window can send it.
func TestWatchLoneSaveSkipsQuietWindow(t *testing.T) {
	root := t.TempDir()
	write(t, root, "main.go", "package main")
	w := start(t, root, Options{Debounce: time.Hour, MaxBatchAge: time.Hour})
	write(t, root, "main.go", "package main // saved")
	if got := collect(t, w, "main.go"); !slices.Equal(got, []string{"main.go"}) {
		t.Errorf("reported %q, want main.go", got)
	}
}

// The debouncer's decisions, with the times given: a lone save is due
// after the quick window from its latest event; a second path turns the
// batch into a burst, due after the quiet window; a change soon after a
// batch is no lone save; the maximum age caps every batch.
func TestDebouncer(t *testing.T) {
	const quick, quiet, age = 4 * time.Millisecond, 30 * time.Millisecond, 500 * time.Millisecond
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	d := debouncer{quick: quick, debounce: quiet, maxAge: age}
	check := func(what string, got, want time.Time) {
		t.Helper()
		if !got.Equal(want) {
			t.Errorf("%s: due at +%v, want +%v", what, got.Sub(t0), want.Sub(t0))
		}
	}
	// A save: truncate, then write, of one file.
	check("first event of a lone save", d.add(at(0), []string{"a.go"}), at(0).Add(quick))
	check("its second event", d.add(at(1), []string{"a.go"}), at(1).Add(quick))
	if last := d.flush(); !last.Equal(at(1)) {
		t.Errorf("flush returned +%v, want the latest change, +1ms", last.Sub(t0))
	}
	// Another file right after the save: part of the same activity.
	check("a change within the quiet window of the last batch", d.add(at(10), []string{"b.go"}), at(10).Add(quiet))
	d.flush()
	// After a quiet spell, a burst: the first path looks like a lone save
	// until the second arrives.
	check("first path of a burst", d.add(at(100), []string{"c/1"}), at(100).Add(quick))
	check("second path of a burst", d.add(at(101), []string{"c/2"}), at(101).Add(quiet))
	check("the first path again, in the burst", d.add(at(102), []string{"c/1"}), at(102).Add(quiet))
	check("a steady stream reaches the maximum age", d.add(at(590), []string{"c/3"}), at(100).Add(age))
	d.flush()
	// Several paths in one event (a new folder and its files), or lost
	// events, are no lone save.
	check("a new folder", d.add(at(1000), []string{"n", "n/x"}), at(1000).Add(quiet))
	d.flush()
	check("lost events", d.add(at(2000), nil), at(2000).Add(quiet))
	d.flush()
	// A quick window longer than the quiet window is cut to it.
	d2 := debouncer{quick: time.Second, debounce: quiet, maxAge: age}
	check("quick window above the quiet window", d2.add(at(0), []string{"a"}), at(0).Add(quiet))
}

// `go build -o` writes a *-go-tmp-umask file beside its output, and
// removes it: the watch reports the output only, so a rule whose sources
// hold the folder is not run again by the build's own files.
func TestWatchGoBuildTemporaryFile(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	root := t.TempDir()
	write(t, root, "go.mod", "module example.com/app\n\ngo 1.21\n")
	write(t, root, "main.go", "package main\n\nfunc main() {}\n")
	w := start(t, root, Options{})
	cmd := exec.Command(goBin, "build", "-o", "bin/app", ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	write(t, root, "marker", "")
	got := collect(t, w, "bin/app", "marker")
	if !slices.Equal(got, []string{"bin", "bin/app", "marker"}) && !slices.Equal(got, []string{"bin/app", "marker"}) {
		t.Errorf("go build reported %q, want only its output (and the folder it made)", got)
	}
}

// A batch that the reader does not take yet keeps growing, and is
// delivered whole: one batch holds both changes. The sleeps stand for a
// reader busy with a run; they are thirty times the quiet window, so the
// watcher has made the first batch ready, then merged the second change
// into it, before the read.
func TestWatchSlowReaderGetsMergedBatch(t *testing.T) {
	root := t.TempDir()
	w := start(t, root, Options{Debounce: 10 * time.Millisecond})
	write(t, root, "one", "")
	time.Sleep(300 * time.Millisecond)
	write(t, root, "two", "")
	time.Sleep(300 * time.Millisecond)
	select {
	case b := <-w.Batches():
		if !slices.Equal(b.Paths, []string{"one", "two"}) {
			t.Errorf("the first batch holds %q, want both changes", b.Paths)
		}
	case <-time.After(waitLimit):
		t.Fatal("no batch")
	}
}

func TestWatchOverflowAsksForRescan(t *testing.T) {
	root := t.TempDir()
	w := start(t, root, Options{})
	w.fsw.Errors <- fsnotify.ErrEventOverflow
	select {
	case b := <-w.Batches():
		if !b.Rescan {
			t.Errorf("batch %+v: want Rescan", b)
		}
	case <-time.After(waitLimit):
		t.Fatal("no batch after an overflow")
	}
}

func TestWatchLimitError(t *testing.T) {
	root := t.TempDir()
	write(t, root, "sub/a.txt", "a")
	w, err := newWatcher(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.fsw.Close()
	w.add = func(string) error { return syscall.ENOSPC }
	err = w.start()
	if err == nil {
		t.Fatal("no error when the watch limit is reached")
	}
	if !errors.Is(err, ErrWatchLimit) || !strings.Contains(err.Error(), "sysctl fs.inotify.max_user_watches=524288") {
		t.Errorf("error %q does not explain the limit", err)
	}

	// Reached later, for a new folder, the limit is reported on Errors and
	// the watcher goes on.
	w2, err := newWatcher(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	w2.add = func(p string) error {
		if p == w2.root {
			return w2.fsw.Add(p)
		}
		return syscall.ENOSPC
	}
	if err := w2.start(); err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if err := os.Mkdir(filepath.Join(w2.root, "new"), 0o755); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w2.Errors():
		if !errors.Is(err, ErrWatchLimit) {
			t.Errorf("error %q does not explain the limit", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("no error for a folder over the limit")
	}
	collect(t, w2, "new")
}

func TestCloseEndsBatches(t *testing.T) {
	w := start(t, t.TempDir(), Options{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-w.Batches(); ok {
		t.Error("Batches not closed")
	}
}

// waitFor polls cond until it holds, failing after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Renaming a file reports both names; renaming a folder reports both and
// what it holds, and the folder is watched under its new name.
func TestWatchRenames(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a.txt", "a")
	write(t, root, "old/f.txt", "f")
	write(t, root, "old/deep/g.txt", "g")
	w := start(t, root, Options{})

	mv := func(from, to string) {
		t.Helper()
		if err := os.Rename(filepath.Join(root, from), filepath.Join(root, to)); err != nil {
			t.Fatal(err)
		}
	}
	mv("a.txt", "b.txt")
	collect(t, w, "a.txt", "b.txt")

	mv("old", "new")
	collect(t, w, "old", "new", "new/f.txt", "new/deep/g.txt")
	if dirs := watched(w); dirs["old"] || dirs["old/deep"] || !dirs["new"] || !dirs["new/deep"] {
		t.Errorf("watched %v after renaming old to new", dirs)
	}
	write(t, root, "new/deep/h.txt", "h")
	collect(t, w, "new/deep/h.txt")

	// Vim's save: the original becomes a backup, the new contents a new file.
	mv("b.txt", "b.txt~")
	write(t, root, "b.txt", "b2")
	write(t, root, "marker", "")
	if got := collect(t, w, "b.txt", "marker"); slices.Contains(got, "b.txt~") {
		t.Errorf("backup file reported: %q", got)
	}
}

// A removed folder tree is reported and its watches dropped.
func TestWatchRemoveFolder(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a/b/c/f.txt", "f")
	write(t, root, "a/g.txt", "g")
	w := start(t, root, Options{})
	if err := os.RemoveAll(filepath.Join(root, "a", "b")); err != nil {
		t.Fatal(err)
	}
	collect(t, w, "a/b")
	waitFor(t, "a/b's watches to be dropped", func() bool {
		dirs := watched(w)
		return dirs["a"] && !dirs["a/b"] && !dirs["a/b/c"]
	})
}

// Folders created quickly one in another, as `mkdir -p` does, are all
// watched, and a file written at once in the deepest is reported.
func TestWatchMkdirP(t *testing.T) {
	root := t.TempDir()
	w := start(t, root, Options{})
	for i := range 20 {
		deep := filepath.Join(root, "m", strconv.Itoa(i), "b", "c")
		if err := os.MkdirAll(deep, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(deep, "f"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		collect(t, w, "m/"+strconv.Itoa(i)+"/b/c/f")
		if !watched(w)["m/"+strconv.Itoa(i)+"/b/c"] {
			t.Fatalf("m/%d/b/c is not watched", i)
		}
	}
}

// After an overflow, the rescan watches a folder whose creation was lost.
func TestWatchOverflowWatchesMissedFolders(t *testing.T) {
	root := t.TempDir()
	write(t, root, "seen/x", "")
	w := start(t, root, Options{})
	// Lose the folder's watch as if its creation event had been dropped.
	missed := filepath.Join(root, "seen")
	w.do(func() {
		delete(w.dirs, missed)
		w.remove(missed)
	})
	w.fsw.Errors <- fsnotify.ErrEventOverflow
	deadline := time.After(waitLimit)
	for rescan := false; !rescan; {
		select {
		case b := <-w.Batches():
			rescan = b.Rescan
		case <-deadline:
			t.Fatal("no rescan batch after an overflow")
		}
	}
	if !watched(w)["seen"] {
		t.Fatal("the rescan did not watch the missed folder")
	}
	write(t, root, "seen/y", "")
	collect(t, w, "seen/y")
}

// A burst such as a `git checkout` writing 1,000 files as fast as it can
// is reported whole, in batches. How many depends on scheduling: a writer
// paused for longer than the quiet window, as on a loaded machine, cuts a
// batch; BenchmarkWatchBurstOfThousand measures it against the target of
// at most two.
func TestWatchBurstOfThousand(t *testing.T) {
	root := t.TempDir()
	batches, missing := burstOfThousand(t, root, waitLimit)
	if missing > 0 {
		t.Fatalf("%d paths not reported after %d batches", missing, batches)
	}
	t.Logf("a burst of 1,000 files came in %d batches", batches)
}

// BenchmarkWatchBurstOfThousand reports how many batches a burst of 1,000
// files comes in with the default settings; the target is at most 2.
func BenchmarkWatchBurstOfThousand(b *testing.B) {
	var total int
	for b.Loop() {
		batches, missing := burstOfThousand(b, b.TempDir(), waitLimit)
		if missing > 0 {
			b.Fatalf("%d paths not reported after %d batches", missing, batches)
		}
		total += batches
	}
	b.ReportMetric(float64(total)/float64(b.N), "batches/burst")
}

// burstOfThousand writes 1,000 files in 10 folders of root as fast as it
// can, under a default watcher, and returns how many batches reported them
// and how many paths were still missing after limit.
func burstOfThousand(tb testing.TB, root string, limit time.Duration) (batches, missing int) {
	tb.Helper()
	for d := range 10 {
		write(tb, root, "pkg"+strconv.Itoa(d)+"/keep", "")
	}
	w := start(tb, root, Options{})
	defer w.Close()
	want := map[string]bool{}
	for i := range 1000 {
		rel := "pkg" + strconv.Itoa(i%10) + "/f" + strconv.Itoa(i) + ".go"
		write(tb, root, rel, "package p")
		want[rel] = true
	}
	deadline := time.After(limit)
	for len(want) > 0 {
		select {
		case b := <-w.Batches():
			batches++
			for _, p := range b.Paths {
				delete(want, p)
			}
		case <-deadline:
			return batches, len(want)
		}
	}
	return batches, 0
}

// JetBrains' safe write: write a temporary file, move the original aside,
// move the temporary in, delete the original. Only the file is reported.
func TestWatchJetBrainsSave(t *testing.T) {
	root := t.TempDir()
	write(t, root, "main.go", "package main")
	w := start(t, root, Options{})
	abs := func(rel string) string { return filepath.Join(root, rel) }
	write(t, root, "main.go___jb_tmp___", "package main // saved")
	for _, mv := range [][2]string{{"main.go", "main.go___jb_old___"}, {"main.go___jb_tmp___", "main.go"}} {
		if err := os.Rename(abs(mv[0]), abs(mv[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(abs("main.go___jb_old___")); err != nil {
		t.Fatal(err)
	}
	write(t, root, "marker", "")
	if got := collect(t, w, "main.go", "marker"); !slices.Equal(got, []string{"main.go", "marker"}) {
		t.Errorf("reported %q, want main.go and the marker", got)
	}
}

// The watched folder itself deleted or moved away, with nothing in it to
// report, is a batch that asks for a rescan: its reader must learn that
// the workspace is gone (before, a root removed after its files' batch
// went unnoticed).
func TestWatchRootRemovedAsksForRescan(t *testing.T) {
	for _, how := range []string{"deleted", "moved"} {
		t.Run(how, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "ws")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			w := start(t, root, Options{})
			var err error
			if how == "deleted" {
				err = os.Remove(root)
			} else {
				err = os.Rename(root, root+"-away")
			}
			if err != nil {
				t.Fatal(err)
			}
			select {
			case b := <-w.Batches():
				if !b.Rescan {
					t.Errorf("batch %+v: want Rescan", b)
				}
			case <-time.After(waitLimit):
				t.Fatalf("no batch after the watched folder was %s", how)
			}
		})
	}
}
