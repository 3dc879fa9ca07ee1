package watch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// Names of the files that hold ignore patterns.
const (
	gitignoreFile = ".gitignore"
	ferryignore   = ".ferryignore"
	infoExclude   = ".git/info/exclude"
)

// ignores holds the gitignore-style patterns the watcher leaves out, by
// source. Patterns are go-git's: each knows the folder it came from, and
// matches a path given as its slash-separated parts from the workspace
// root.
type ignores struct {
	root    string
	exclude []gitignore.Pattern            // .git/info/exclude: lowest priority
	dirs    map[string][]gitignore.Pattern // each folder's .gitignore, by workspace-relative folder ("." for the root)
	ferry   []gitignore.Pattern            // .ferryignore at the root
	extra   []gitignore.Pattern            // Options.Ignore: highest priority
}

func newIgnores(root string, extra []string) *ignores {
	ig := &ignores{root: root, dirs: map[string][]gitignore.Pattern{}}
	ig.extra = parsePatterns(strings.Join(extra, "\n"), nil)
	return ig
}

// parsePatterns parses the lines of an ignore file found in the folder
// whose parts are domain, skipping blank lines and comments.
func parsePatterns(text string, domain []string) []gitignore.Pattern {
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps
}

// maxIgnoreFile is the most of an ignore file the watcher reads.
const maxIgnoreFile = 4 << 20

// readFile returns the patterns of the ignore file rel, none if it does not
// exist or cannot (.git is a file in a git worktree). Like git, it reads no
// ignore file that is a symbolic link, nor one that is not a regular file:
// a committed link could lead out of the workspace or to a file that never
// ends, and a pipe would never answer. It reads at most maxIgnoreFile bytes.
func (ig *ignores) readFile(rel string) ([]gitignore.Pattern, error) {
	b, err := readRegular(ig.root, rel)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) || errors.Is(err, errNotRegular) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the ignore patterns of %s: %w; make the file readable", rel, err)
	}
	var domain []string
	if dir := path.Dir(rel); dir != "." && path.Base(rel) == gitignoreFile {
		domain = strings.Split(dir, "/")
	}
	return parsePatterns(string(bytes.ToValidUTF8(b, nil)), domain), nil
}

// loadRoot reads .git/info/exclude and .ferryignore.
func (ig *ignores) loadRoot() error {
	var err1, err2 error
	ig.exclude, err1 = ig.readFile(infoExclude)
	ig.ferry, err2 = ig.readFile(ferryignore)
	return errors.Join(err1, err2)
}

// loadDir reads the .gitignore of the workspace-relative folder dir.
func (ig *ignores) loadDir(dir string) error {
	ps, err := ig.readFile(path.Join(dir, gitignoreFile))
	if len(ps) == 0 {
		delete(ig.dirs, dir)
	} else {
		ig.dirs[dir] = ps
	}
	return err
}

// forget drops the patterns of dir's .gitignore and of those below it.
func (ig *ignores) forget(dir string) {
	for d := range ig.dirs {
		if within(d, dir) {
			delete(ig.dirs, d)
		}
	}
}

// reload rereads the ignore file rel when it is one, and returns the
// folder whose contents it decides ("" when rel is no ignore file).
func (ig *ignores) reload(rel string) (string, error) {
	switch {
	case rel == ferryignore || rel == infoExclude:
		return ".", ig.loadRoot()
	case path.Base(rel) == gitignoreFile:
		dir := path.Dir(rel)
		return dir, ig.loadDir(dir)
	}
	return "", nil
}

// match reports whether the patterns exclude rel itself, a workspace-
// relative slash path, without looking at its parent folders. As in git,
// the last matching pattern decides, and the sources rank from
// Options.Ignore, .ferryignore, the deepest .gitignore up to the root's,
// down to .git/info/exclude.
func (ig *ignores) match(rel string, isDir bool) bool {
	var parts []string
	try := func(ps []gitignore.Pattern) (excluded, decided bool) {
		if len(ps) == 0 {
			return false, false
		}
		if parts == nil {
			parts = strings.Split(rel, "/")
		}
		for i := len(ps) - 1; i >= 0; i-- {
			if r := ps[i].Match(parts, isDir); r != gitignore.NoMatch {
				return r == gitignore.Exclude, true
			}
		}
		return false, false
	}
	if ex, ok := try(ig.extra); ok {
		return ex
	}
	if ex, ok := try(ig.ferry); ok {
		return ex
	}
	dir := rel
	for dir != "." {
		dir = path.Dir(dir)
		if ex, ok := try(ig.dirs[dir]); ok {
			return ex
		}
	}
	ex, _ := try(ig.exclude)
	return ex
}

// excluded reports whether rel is ignored, itself or through one of its
// parent folders: as in git, nothing brings back a path whose folder is
// excluded.
func (ig *ignores) excluded(rel string, isDir bool) bool {
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && ig.match(rel[:i], true) {
			return true
		}
	}
	return ig.match(rel, isDir)
}

// keepSet holds the paths watched and reported even where ignored: the
// files and folders rules declare as their inputs.
type keepSet struct {
	paths map[string]bool // the paths themselves
	above map[string]bool // the folders that hold one of them, at any depth
}

func newKeepSet(paths []string) keepSet {
	k := keepSet{paths: map[string]bool{}, above: map[string]bool{}}
	for _, p := range paths {
		p = path.Clean(filepath.ToSlash(p))
		if p == ".." || strings.HasPrefix(p, "../") || path.IsAbs(p) {
			continue // outside the workspace: nothing to watch
		}
		k.paths[p] = true
		for d := p; d != "."; {
			d = path.Dir(d)
			k.above[d] = true
		}
	}
	return k
}

// holds reports whether the folder rel holds a kept path below it.
func (k keepSet) holds(rel string) bool { return k.above[rel] }

// within reports whether the slash path p is dir or below it.
func within(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

// A FileID names a file by its device and inode, whatever its path.
type FileID struct{ Dev, Ino uint64 }

// OwnFiles returns the IDs of those of files (nil ones allowed) that are
// regular files, for Options.Own: the process's stdout and stderr are
// regular files when redirected to one (`ferry watch > w.log`), and not
// when they are a terminal or a pipe.
func OwnFiles(files ...*os.File) []FileID {
	var ids []FileID
	for _, f := range files {
		if f == nil {
			continue
		}
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			ids = append(ids, fileID(fi))
		}
	}
	return ids
}

var errNotRegular = errors.New("not a regular file")

// readRegular returns up to maxIgnoreFile bytes of the regular file rel
// under root, reached without following a link out of root or at rel
// itself.
func readRegular(root, rel string) ([]byte, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if fi, err := r.Lstat(filepath.FromSlash(rel)); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, errNotRegular
	}
	f, err := r.OpenFile(filepath.FromSlash(rel), os.O_RDONLY|noFollow|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, errNotRegular
	}
	return io.ReadAll(io.LimitReader(f, maxIgnoreFile))
}
