// Package watch reports changes under a workspace folder in debounced
// batches. It watches every folder with fsnotify (Linux has no recursive
// watch), adds folders as they appear and drops them as they go, and skips
// ferry's and git's folders, editors' temporary files, and what .gitignore
// files, .git/info/exclude and .ferryignore exclude: an ignored folder gets
// no watch at all, unless a path the caller must see lies in it.
package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults for Options. 30 ms of quiet gathers a burst of 1,000 files
// written back to back, as `git checkout` writes them, into one batch or
// two on an idle machine (BenchmarkWatchBurstOfThousand). A lone save does
// not wait for it: it goes out after DefaultQuick of quiet on its path,
// which gathers the few events of one save (truncate and write, or create,
// write and rename), so one save is one batch (bench/watch measures the
// latency).
const (
	DefaultDebounce    = 30 * time.Millisecond
	DefaultQuick       = 4 * time.Millisecond
	DefaultMaxBatchAge = 500 * time.Millisecond
)

// Options configure a Watcher.
type Options struct {
	// Debounce is the quiet window: a batch is emitted once no change has
	// arrived for this long. 0 means DefaultDebounce.
	Debounce time.Duration
	// Quick is the quiet window of a lone save: the first change after a
	// quiet spell of Debounce, to one path, goes out once that path has
	// been quiet this long; a change to a second path makes the batch wait
	// for Debounce. 0 means DefaultQuick; it is never longer than Debounce.
	Quick time.Duration
	// MaxBatchAge bounds how long a batch collects during a steady stream
	// of changes. 0 means DefaultMaxBatchAge.
	MaxBatchAge time.Duration
	// Ignore lists more gitignore-style patterns, relative to the root;
	// they rank above .ferryignore and the .gitignore files.
	Ignore []string
	// Keep lists workspace-relative paths (files or folders) that are
	// watched and reported even where ignore patterns exclude them, with
	// all they hold: the inputs rules declare. An excluded path inside a
	// kept folder that is not excluded itself stays excluded. SetKeep
	// replaces them.
	Keep []string
	// Own lists files this process writes itself, such as its output
	// redirected to a file in the workspace (see OwnFiles): changes to them
	// are never reported, whatever their name, so that a watch does not
	// feed on its own output.
	Own []FileID
}

// A Batch is a set of changes.
type Batch struct {
	// Paths are the workspace-relative slash paths of the files and folders
	// created, written, removed or renamed, sorted and without repeats.
	Paths []string
	// Rescan is set when the kernel dropped events (queue overflow), or
	// when the watched folder itself was deleted or moved away: any file may
	// have changed, whatever Paths says.
	Rescan bool
	// Last is when the batch's latest change was seen, so a reader can
	// tell whether work that started after it already saw it.
	Last time.Time
}

// A Watcher watches a folder tree. Read its batches from Batches and its
// non-fatal errors (a folder that could not be watched) from Errors.
type Watcher struct {
	root string
	opts Options
	fsw  *fsnotify.Watcher
	// add and remove start and stop watching one folder: fsnotify's, or a
	// test's stand-in.
	add    func(string) error
	remove func(string) error

	// Only the loop goroutine touches these after start.
	dirs    map[string]bool // absolute paths of the folders watched
	skipped map[string]bool // absolute paths of the ignored folders seen and not watched
	ig      *ignores
	keep    keepSet

	calls   chan func() // run on the loop goroutine
	batches chan Batch
	errs    chan error
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// New watches the tree under root. It returns once every folder is watched,
// so a change made after New returns is reported.
func New(root string, opts Options) (*Watcher, error) {
	w, err := newWatcher(root, opts)
	if err != nil {
		return nil, err
	}
	if err := w.start(); err != nil {
		w.fsw.Close()
		return nil, err
	}
	return w, nil
}

func newWatcher(root string, opts Options) (*Watcher, error) {
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.MaxBatchAge <= 0 {
		opts.MaxBatchAge = DefaultMaxBatchAge
	}
	if opts.Quick <= 0 {
		opts.Quick = DefaultQuick
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("starting the file watcher: %w", watchErr(err))
	}
	return &Watcher{
		root: root, opts: opts, fsw: fsw, add: fsw.Add, remove: fsw.Remove,
		dirs:    map[string]bool{},
		skipped: map[string]bool{},
		ig:      newIgnores(root, opts.Ignore),
		keep:    newKeepSet(opts.Keep),
		calls:   make(chan func()),
		batches: make(chan Batch),
		errs:    make(chan error, 16),
		done:    make(chan struct{}),
	}, nil
}

// start watches the whole tree and starts the event loop.
func (w *Watcher) start() error {
	if err := w.ig.loadRoot(); err != nil {
		return err
	}
	if _, err := w.sync(w.root, false); err != nil {
		return err
	}
	// .git is not watched, but its info/exclude holds ignore patterns.
	if info := filepath.Join(w.root, ".git", "info"); isDir(info) {
		if err := w.add(info); err != nil {
			return fmt.Errorf("watching %s: %w", info, watchErr(err))
		}
	}
	w.wg.Add(1)
	go w.loop()
	return nil
}

// Batches delivers the batches of changes. It is closed by Close.
func (w *Watcher) Batches() <-chan Batch { return w.batches }

// Errors delivers problems that do not stop the watcher, such as a new
// folder that could not be watched.
func (w *Watcher) Errors() <-chan error { return w.errs }

// SetKeep replaces the paths watched and reported even where ignored (see
// Options.Keep), watching or dropping folders to match before it returns.
func (w *Watcher) SetKeep(paths []string) error {
	var err error
	w.do(func() {
		old := w.keep
		w.keep = newKeepSet(paths)
		// Only the paths that come or go can change what is watched, and
		// only where a folder above them is ignored.
		for p := range old.paths {
			if !w.keep.paths[p] {
				err = errors.Join(err, w.resyncAbove(p))
			}
		}
		for p := range w.keep.paths {
			if !old.paths[p] {
				err = errors.Join(err, w.resyncAbove(p))
			}
		}
	})
	return err
}

// do runs f on the loop goroutine, and returns once it has run (at once if
// the watcher is closed).
func (w *Watcher) do(f func()) {
	ran := make(chan struct{})
	select {
	case w.calls <- func() { f(); close(ran) }:
		<-ran
	case <-w.done:
	}
}

// resyncAbove syncs the topmost ignored folder at or above the kept path
// p, if there is one: it is watched or not depending on the kept paths.
func (w *Watcher) resyncAbove(p string) error {
	for i := 1; i <= len(p); i++ {
		if (i == len(p) || p[i] == '/') && w.ig.match(p[:i], true) {
			_, err := w.sync(filepath.Join(w.root, filepath.FromSlash(p[:i])), false)
			return err
		}
	}
	return nil
}

// Close stops watching and closes Batches.
func (w *Watcher) Close() error {
	var err error
	w.once.Do(func() {
		close(w.done)
		err = w.fsw.Close()
		w.wg.Wait()
		close(w.batches)
	})
	return err
}

// Ignored reports whether a workspace-relative slash path is never
// reported: anything under .git or .ferry, editors' temporary files (Vim's
// *.swp, *.swo and *.swx and its 4913 probe, backups ending in ~, Emacs's
// .#lock and #autosave# files, JetBrains' *___jb_tmp___ and
// *___jb_old___, gedit's .goutputstream-*, Kate's *.kate-swp), and the
// *-go-tmp-umask file that `go build -o` makes beside its output.
func Ignored(rel string) bool {
	for part := range strings.SplitSeq(rel, "/") {
		if part == ".git" || part == ".ferry" {
			return true
		}
	}
	base := path.Base(rel)
	return strings.HasSuffix(base, ".swp") || strings.HasSuffix(base, ".swo") || strings.HasSuffix(base, ".swx") ||
		strings.HasSuffix(base, "~") || base == "4913" ||
		strings.HasPrefix(base, ".#") || len(base) > 2 && base[0] == '#' && base[len(base)-1] == '#' ||
		strings.HasSuffix(base, "___jb_tmp___") || strings.HasSuffix(base, "___jb_old___") ||
		strings.HasPrefix(base, ".goutputstream-") || strings.HasSuffix(base, ".kate-swp") ||
		strings.HasSuffix(base, "-go-tmp-umask")
}

// rel returns the workspace-relative slash path of abs.
func (w *Watcher) rel(abs string) string {
	if abs == w.root {
		return "."
	}
	if r, ok := strings.CutPrefix(abs, w.root+string(filepath.Separator)); ok {
		return filepath.ToSlash(r)
	}
	r, err := filepath.Rel(w.root, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(r)
}

// reported reports whether a change to rel is reported: it is neither
// always ignored (Ignored) nor excluded by ignore patterns, or it is kept.
func (w *Watcher) reported(rel string, isDir bool) bool {
	return !Ignored(rel) && (!w.ig.excluded(rel, isDir) || w.kept(rel))
}

// kept reports whether rel is reported although excluded: it is a kept
// path, or lies below a kept folder that is itself excluded. A kept folder
// that is not excluded, such as srcs = ["."], does not bring back the
// excluded paths it holds.
func (w *Watcher) kept(rel string) bool {
	for d := rel; ; d = path.Dir(d) {
		if w.keep.paths[d] && (d == rel || w.ig.excluded(d, true)) {
			return true
		}
		if d == "." {
			return false
		}
	}
}

// sync makes the watches of dir and the folders below it match the ignore
// patterns and kept paths: it watches the folders that are reported or
// hold a kept path, drops the watches of the others, and reads the
// .gitignore files it meets. With collect, it returns the workspace-
// relative paths reported below dir (they may have been created before
// the watch was in place).
func (w *Watcher) sync(dir string, collect bool) ([]string, error) {
	var found []string
	// Folders watched only because a kept path lies below them: what else
	// they hold is ignored.
	ignoredDirs := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != w.root && errors.Is(err, fs.ErrNotExist) {
				return nil // gone while we walked: its removal is an event of its own
			}
			return err
		}
		rel := w.rel(p)
		if p != w.root && Ignored(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		isDir := d.IsDir()
		var excluded bool
		switch {
		case p == w.root:
		case p == dir:
			excluded = w.ig.excluded(rel, isDir)
		default:
			excluded = ignoredDirs[path.Dir(rel)] || w.ig.match(rel, isDir)
		}
		kept := excluded && w.kept(rel)
		if !isDir {
			if collect && (!excluded || kept) {
				found = append(found, rel)
			}
			return nil
		}
		if excluded && !kept {
			if !w.keep.holds(rel) {
				w.dropTree(p)
				w.skipped[p] = true
				return filepath.SkipDir
			}
			ignoredDirs[rel] = true
		} else if collect && p != dir {
			found = append(found, rel)
		}
		delete(w.skipped, p)
		if err := w.ig.loadDir(rel); err != nil {
			return err
		}
		if w.dirs[p] {
			return nil
		}
		if err := w.add(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir
			}
			return fmt.Errorf("watching %s: %w", p, watchErr(err))
		}
		w.dirs[p] = true
		return nil
	})
	return found, err
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// ErrWatchLimit is wrapped by the error returned when the system's limit on
// inotify watches is reached.
var ErrWatchLimit = errors.New("the limit on watched folders (fs.inotify.max_user_watches) is reached; raise it with `sudo sysctl fs.inotify.max_user_watches=524288` (add the setting to /etc/sysctl.conf to keep it)")

// watchErr explains the errors whose cause users cannot guess.
func watchErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w (%v)", ErrWatchLimit, err)
	}
	if errors.Is(err, syscall.EMFILE) {
		return fmt.Errorf("too many inotify instances (fs.inotify.max_user_instances); raise it with `sudo sysctl fs.inotify.max_user_instances=1024` (%v)", err)
	}
	return err
}

// dropTree forgets dir and the folders below it.
func (w *Watcher) dropTree(dir string) {
	w.ig.forget(w.rel(dir))
	prefix := dir + string(filepath.Separator)
	for d := range w.skipped {
		if d == dir || strings.HasPrefix(d, prefix) {
			delete(w.skipped, d)
		}
	}
	for d := range w.dirs {
		if d == dir || strings.HasPrefix(d, prefix) {
			delete(w.dirs, d)
			// A deleted folder's watch is gone already; a renamed one's
			// would follow it under its old name.
			_ = w.remove(d)
		}
	}
}

// loop turns fsnotify's events into batches: changes collect in pending
// until the debouncer says the batch is due (see debouncer); then they
// wait in ready until the reader takes them, while new changes keep
// collecting, so a busy reader gets one merged batch instead of a queue.
func (w *Watcher) loop() {
	defer w.wg.Done()
	pending := map[string]bool{}
	var pendingRescan bool
	db := debouncer{quick: w.opts.Quick, debounce: w.opts.Debounce, maxAge: w.opts.MaxBatchAge}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var ready *Batch

	// changed notes a change to paths (none for a rescan) and sets the
	// timer to when the batch is due.
	changed := func(paths []string) {
		for _, rel := range paths {
			pending[rel] = true
		}
		timer.Reset(max(time.Until(db.add(time.Now(), paths)), 0))
	}
	report := func(err error) {
		select {
		case w.errs <- err:
		default: // nobody reads errors fast enough: drop rather than block
		}
	}

	for {
		var out chan Batch
		var next Batch
		if ready != nil {
			out, next = w.batches, *ready
		}
		select {
		case <-w.done:
			return
		case f := <-w.calls:
			f()
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if ev.Name == w.root && (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) {
				// The watched folder itself went, and its watches with it:
				// anything may have changed, and the reader must look.
				pendingRescan = true
				changed(nil)
				continue
			}
			if paths := w.handle(ev, report); len(paths) > 0 {
				changed(paths)
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				report(fmt.Errorf("file watcher: %w", err))
				continue
			}
			// Events were lost: reread the ignore files, watch any folder
			// we missed, and tell the reader that anything may have
			// changed.
			if err := w.ig.loadRoot(); err != nil {
				report(err)
			}
			if _, err := w.sync(w.root, false); err != nil {
				report(err)
			}
			pendingRescan = true
			changed(nil)
		case <-timer.C:
			if len(pending) == 0 && !pendingRescan {
				continue
			}
			if ready == nil {
				ready = &Batch{}
			}
			for p := range pending {
				ready.Paths = append(ready.Paths, p)
			}
			ready.Paths = dedupe(ready.Paths)
			ready.Rescan = ready.Rescan || pendingRescan
			ready.Last = db.flush()
			pending, pendingRescan = map[string]bool{}, false
		case out <- next:
			ready = nil
		}
	}
}

// A debouncer decides when a batch of changes is due. A lone save (changes
// to one path, after a quiet spell of at least the quiet window) goes out
// once that path has been quiet for the short quick window, so it does not
// wait out the whole quiet window; as soon as a second path changes, the
// batch is a burst (a `git checkout`, "save all", a build writing files),
// and goes out once nothing has changed for the quiet window, or when it
// reaches its maximum age. It is a value the loop owns, and keeps no clock
// of its own, so tests give it the times.
type debouncer struct {
	quick, debounce, maxAge time.Duration

	first, last time.Time // when the pending batch got its first and latest change; first is zero when none is pending
	prev        time.Time // the latest change of the batches before
	lone        string    // the one path changed, while the batch is a lone save
}

// add notes a change to paths at now (no paths for a change that is no
// path's, such as lost events) and returns when the batch is due.
func (d *debouncer) add(now time.Time, paths []string) time.Time {
	if d.first.IsZero() {
		d.first = now
		if len(paths) == 1 && (d.prev.IsZero() || now.Sub(d.prev) >= d.debounce) {
			d.lone = paths[0]
		}
	} else if d.lone != "" && (len(paths) != 1 || paths[0] != d.lone) {
		d.lone = ""
	}
	d.last = now
	window := d.debounce
	if d.lone != "" {
		window = min(d.quick, d.debounce)
	}
	return minTime(d.first.Add(d.maxAge), now.Add(window))
}

// flush ends the pending batch and returns the time of its latest change.
func (d *debouncer) flush() time.Time {
	last := d.last
	d.prev, d.first, d.lone = last, time.Time{}, ""
	return last
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// handle updates the watched folders for one event and returns the paths
// it changed, none if it is ignored.
func (w *Watcher) handle(ev fsnotify.Event, report func(error)) []string {
	if ev.Op == fsnotify.Chmod || ev.Name == "" {
		return nil // metadata only: the contents are what keys hash
	}
	rel := w.rel(ev.Name)
	if rel == "." || strings.HasPrefix(rel, "../") {
		return nil
	}
	// A changed ignore file changes what is watched under its folder.
	if dir, err := w.ig.reload(rel); err != nil {
		report(err)
	} else if dir != "" {
		if _, err := w.sync(filepath.Join(w.root, filepath.FromSlash(dir)), false); err != nil {
			report(err)
		}
	}
	var dir bool
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		dir = w.dirs[ev.Name] || w.skipped[ev.Name]
		if dir {
			w.dropTree(ev.Name)
		}
	} else if fi, err := os.Lstat(ev.Name); err == nil {
		dir = fi.IsDir()
		if slices.Contains(w.opts.Own, fileID(fi)) {
			return nil
		}
	}
	var found []string
	if ev.Has(fsnotify.Create) && dir {
		// Watch the new folder, or not if it is ignored. Files may be
		// created in it before it is watched: report what the walk finds.
		var err error
		if found, err = w.sync(ev.Name, true); err != nil {
			report(err)
		}
	}
	if w.reported(rel, dir) {
		found = append(found, rel)
	}
	return found
}

func dedupe(xs []string) []string {
	sort.Strings(xs)
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}
