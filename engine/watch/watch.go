// Package watch reports changes under a workspace folder in debounced
// batches. It watches every folder with fsnotify (Linux has no recursive
// watch), adds folders as they appear and drops them as they go, and skips
// ferry's and git's folders and editors' temporary files.
package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/moby/patternmatcher"
)

// Defaults for Options.
const (
	DefaultDebounce    = 50 * time.Millisecond
	DefaultMaxBatchAge = 500 * time.Millisecond
)

// Options configure a Watcher.
type Options struct {
	// Debounce is the quiet window: a batch is emitted once no change has
	// arrived for this long. 0 means DefaultDebounce.
	Debounce time.Duration
	// MaxBatchAge bounds how long a batch collects during a steady stream
	// of changes. 0 means DefaultMaxBatchAge.
	MaxBatchAge time.Duration
	// Ignore lists more paths never reported, as patterns relative to the
	// root in .dockerignore syntax ("tmp", "**/*.log", "!keep.log").
	Ignore []string
}

// A Batch is a set of changes.
type Batch struct {
	// Paths are the workspace-relative slash paths of the files and folders
	// created, written, removed or renamed, sorted and without repeats.
	Paths []string
	// Rescan is set when the kernel dropped events (queue overflow): any
	// file may have changed, whatever Paths says.
	Rescan bool
}

// A Watcher watches a folder tree. Read its batches from Batches and its
// non-fatal errors (a folder that could not be watched) from Errors.
type Watcher struct {
	root   string
	opts   Options
	ignore *patternmatcher.PatternMatcher // Options.Ignore, nil when empty
	fsw    *fsnotify.Watcher
	// add and remove start and stop watching one folder: fsnotify's, or a
	// test's stand-in.
	add    func(string) error
	remove func(string) error

	dirs    map[string]bool // absolute paths of the folders watched; only the loop goroutine touches it after start
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
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	ignore, err := compileIgnore(opts.Ignore)
	if err != nil {
		return nil, err
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("starting the file watcher: %w", watchErr(err))
	}
	return &Watcher{
		root: root, opts: opts, ignore: ignore, fsw: fsw, add: fsw.Add, remove: fsw.Remove,
		dirs:    map[string]bool{},
		batches: make(chan Batch),
		errs:    make(chan error, 16),
		done:    make(chan struct{}),
	}, nil
}

// start watches the whole tree and starts the event loop.
func (w *Watcher) start() error {
	if _, err := w.addTree(w.root); err != nil {
		return err
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
// reported: anything under .git or .ferry, and editors' temporary files
// (Vim's *.swp and its 4913 probe, backups ending in ~, Emacs's .#lock
// files).
func Ignored(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if part == ".git" || part == ".ferry" {
			return true
		}
	}
	base := path.Base(rel)
	return strings.HasSuffix(base, ".swp") || strings.HasSuffix(base, "~") ||
		strings.HasPrefix(base, ".#") || base == "4913"
}

// rel returns the workspace-relative slash path of abs.
func (w *Watcher) rel(abs string) string {
	r, err := filepath.Rel(w.root, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(r)
}

// addTree watches dir and every folder below it that is not ignored, and
// returns the workspace-relative paths of the files and folders found
// below dir (they may have been created before the watch was in place).
func (w *Watcher) addTree(dir string) ([]string, error) {
	var found []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != w.root && errors.Is(err, fs.ErrNotExist) {
				return nil // gone while we walked: its removal is an event of its own
			}
			return err
		}
		rel := w.rel(p)
		if p != dir && w.ignored(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if p != dir {
			found = append(found, rel)
		}
		if !d.IsDir() || w.dirs[p] {
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
	prefix := dir + string(filepath.Separator)
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
// until Debounce passes without one or the oldest is MaxBatchAge old; then
// they wait in ready until the reader takes them, while new changes keep
// collecting, so a busy reader gets one merged batch instead of a queue.
func (w *Watcher) loop() {
	defer w.wg.Done()
	pending := map[string]bool{}
	var pendingRescan bool
	var first time.Time // when pending got its first change; zero when empty
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var ready *Batch

	// arm sets the timer to the end of the quiet window, or to the batch's
	// maximum age if that comes first.
	arm := func() {
		if first.IsZero() {
			first = time.Now()
		}
		due := min(time.Until(first.Add(w.opts.MaxBatchAge)), w.opts.Debounce)
		timer.Reset(max(due, 0))
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
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if paths := w.handle(ev, report); len(paths) > 0 {
				for _, rel := range paths {
					pending[rel] = true
				}
				arm()
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				report(fmt.Errorf("file watcher: %w", err))
				continue
			}
			// Events were lost: watch any folder we missed, and tell the
			// reader that anything may have changed.
			if _, err := w.addTree(w.root); err != nil {
				report(err)
			}
			pendingRescan = true
			arm()
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
			pending, pendingRescan, first = map[string]bool{}, false, time.Time{}
		case out <- next:
			ready = nil
		}
	}
}

// handle updates the watched folders for one event and returns the paths
// it changed, none if it is ignored.
func (w *Watcher) handle(ev fsnotify.Event, report func(error)) []string {
	if ev.Op == fsnotify.Chmod || ev.Name == "" {
		return nil // metadata only: the contents are what keys hash
	}
	rel := w.rel(ev.Name)
	if rel == "." || strings.HasPrefix(rel, "../") || w.ignored(rel) {
		return nil
	}
	out := []string{rel}
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		if w.dirs[ev.Name] {
			w.dropTree(ev.Name)
		}
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
			// Files may be created in the new folder before it is watched:
			// report what the walk finds.
			found, err := w.addTree(ev.Name)
			if err != nil {
				report(err)
			}
			out = append(out, found...)
		}
	}
	return out
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
