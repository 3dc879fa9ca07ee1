package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// A Tree is a folder that ferry reads without leaving it: the workspace, or
// a module repository's own folder. Its methods take slash paths relative to
// the folder and resolve them through an os.Root, which opens one component
// at a time relative to the folder above it, never following a link
// blindly. So a symbolic link on the way to a file is followed only when it
// is relative and stays inside the folder; one that leads out, is absolute
// or loops is refused with a *LinkError that names it, whatever the link
// did between the check and the use.
//
// Listing a folder (FS's ReadDir, and so fs.WalkDir) reports a link as a
// link and never enters it: only a path written out in full is followed.
type Tree struct {
	dir string

	once sync.Once
	root *os.Root
	err  error

	// top is the tree's folder opened through root, for the folders
	// that openDir opens beneath it in one system call (Linux).
	topOnce sync.Once
	top     *os.File
}

// NewTree returns the tree of the folder dir. It opens the folder on first
// use and holds it open until Close.
func NewTree(dir string) *Tree { return &Tree{dir: dir} }

// Dir returns the folder of the tree.
func (t *Tree) Dir() string { return t.dir }

// Path returns the path on disk of the tree-relative slash path rel, for
// messages and for handing to other programs.
func (t *Tree) Path(rel string) string { return filepath.Join(t.dir, filepath.FromSlash(rel)) }

func (t *Tree) open() (*os.Root, error) {
	t.once.Do(func() { t.root, t.err = os.OpenRoot(t.dir) })
	return t.root, t.err
}

// Close closes the folder; the tree cannot be used afterwards.
func (t *Tree) Close() error {
	t.once.Do(func() { t.err = fs.ErrClosed })
	t.topOnce.Do(func() {})
	if t.top != nil {
		t.top.Close()
	}
	if t.root != nil {
		return t.root.Close()
	}
	return nil
}

// ReadFile returns the contents of the file rel, following links that stay
// inside the tree.
func (t *Tree) ReadFile(rel string) ([]byte, error) {
	r, err := t.open()
	if err != nil {
		return nil, err
	}
	b, err := r.ReadFile(name(rel))
	return b, t.check(rel, err)
}

// Open opens the file or folder rel for reading, following links that stay
// inside the tree.
func (t *Tree) Open(rel string) (*os.File, error) {
	r, err := t.open()
	if err != nil {
		return nil, err
	}
	f, err := r.Open(name(rel))
	return f, t.check(rel, err)
}

// Stat returns what rel is, following links that stay inside the tree.
func (t *Tree) Stat(rel string) (fs.FileInfo, error) {
	r, err := t.open()
	if err != nil {
		return nil, err
	}
	fi, err := r.Stat(name(rel))
	return fi, t.check(rel, err)
}

// Lstat returns what rel is without following it if it is a link; links on
// the way to it are followed as long as they stay inside the tree.
func (t *Tree) Lstat(rel string) (fs.FileInfo, error) {
	r, err := t.open()
	if err != nil {
		return nil, err
	}
	fi, err := r.Lstat(name(rel))
	return fi, t.check(rel, err)
}

// Readlink returns the target of the link rel, as written in the link.
func (t *Tree) Readlink(rel string) (string, error) {
	r, err := t.open()
	if err != nil {
		return "", err
	}
	s, err := r.Readlink(name(rel))
	return s, t.check(rel, err)
}

// MkdirAll makes the folder rel and the folders above it, inside the tree.
func (t *Tree) MkdirAll(rel string, perm fs.FileMode) error {
	r, err := t.open()
	if err != nil {
		return err
	}
	return t.check(rel, r.MkdirAll(name(rel), perm))
}

// FS returns the tree as an fs.FS (with ReadDir, Stat, Lstat, ReadFile
// and ReadLink) for fs.WalkDir and pattern matchers. ReadDir reports links
// as links, so a walk does not enter them. Its errors are those of the
// tree's methods.
func (t *Tree) FS() fs.FS { return treeFS{t} }

type treeFS struct{ t *Tree }

func (f treeFS) Open(rel string) (fs.File, error) {
	if !fs.ValidPath(rel) {
		return nil, &fs.PathError{Op: "open", Path: rel, Err: fs.ErrInvalid}
	}
	file, err := f.t.Open(rel)
	if err != nil {
		return nil, err
	}
	return file, nil
}

func (f treeFS) ReadDir(rel string) ([]fs.DirEntry, error) {
	entries, ok := f.t.readDirFast(rel)
	var err error
	if !ok {
		entries, err = f.readDir(rel)
	}
	for i, e := range entries {
		entries[i] = treeDirEntry{e, f.t, rel}
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}

// readDir lists rel opened through the tree's os.Root.
func (f treeFS) readDir(rel string) ([]fs.DirEntry, error) {
	file, err := f.Open(rel)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return readDir(file.(*os.File))
}

// A treeDirEntry is a folder entry whose Info goes through the Tree.
type treeDirEntry struct {
	fs.DirEntry
	t   *Tree
	dir string // the folder listed; the entry's path is joined only for Info
}

func (e treeDirEntry) Info() (fs.FileInfo, error) {
	return e.t.Lstat(path.Join(e.dir, e.Name()))
}

func (f treeFS) Stat(rel string) (fs.FileInfo, error)  { return f.t.Stat(rel) }
func (f treeFS) Lstat(rel string) (fs.FileInfo, error) { return f.t.Lstat(rel) }
func (f treeFS) ReadFile(rel string) ([]byte, error)   { return f.t.ReadFile(rel) }
func (f treeFS) ReadLink(rel string) (string, error)   { return f.t.Readlink(rel) }

// name turns a tree-relative slash path into an os.Root name.
func name(rel string) string {
	if rel == "" {
		return "."
	}
	return filepath.FromSlash(rel)
}

// maxLinks is how many links resolving one path may follow, as os.Root
// allows.
const maxLinks = 8

// Why a LinkError refused a link.
const (
	linkOut      = "out"      // it leads out of the tree
	linkAbsolute = "absolute" // it leads inside, but by an absolute path
	linkLoop     = "loop"     // it takes too many links
)

// A LinkError reports a symbolic link that a Tree refused to follow.
type LinkError struct {
	Path   string // the path asked for, relative to the tree
	Link   string // the link on the way to it, relative to the tree
	Target string // what the link holds
	Dir    string // the tree's folder
	Why    string // linkOut, linkAbsolute or linkLoop
}

func (e *LinkError) Error() string {
	what := e.Path + " is a link to " + e.Target
	if e.Link != e.Path {
		what = fmt.Sprintf("%s lies behind %s, a link to %s", e.Path, e.Link, e.Target)
	}
	switch e.Why {
	case linkAbsolute:
		return fmt.Sprintf("%s, an absolute path: ferry follows only relative links, which lead to the same place in every checkout of %s (make it relative, with ln -sr)", what, e.Dir)
	case linkLoop:
		return fmt.Sprintf("%s, and resolving it follows more than %d links: is there a loop?", what, maxLinks)
	}
	if !filepath.IsAbs(e.Target) {
		what += " (" + filepath.Join(e.Dir, filepath.FromSlash(path.Dir(e.Link)), e.Target) + ")"
	}
	return fmt.Sprintf("%s, outside %s: ferry does not follow links out of it (copy the file in instead)", what, e.Dir)
}

// check returns err, or a *LinkError when a link on the way to rel is why
// the tree refused it. The refusal of os.Root does not say which link it
// met, so on any error but a missing file the path is walked again, one
// component at a time, to find it.
func (t *Tree) check(rel string, err error) error {
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if le := t.explain(rel); le != nil {
		return le
	}
	return err
}

// explain resolves rel as os.Root does, one component at a time from the
// top of the tree, and returns the link that leads out of it, is absolute
// or starts a loop, or nil.
func (t *Tree) explain(rel string) *LinkError {
	r, err := t.open()
	if err != nil {
		return nil
	}
	todo := strings.Split(rel, "/")
	var done []string // the components resolved so far, none of them a link
	var last *LinkError
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				if last != nil {
					last.Why = linkOut
				}
				return last
			}
			done = done[:len(done)-1]
			continue
		}
		p := path.Join(append(done, c)...)
		fi, err := r.Lstat(filepath.FromSlash(p))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		target, err := r.Readlink(filepath.FromSlash(p))
		if err != nil {
			return nil
		}
		last = &LinkError{Path: rel, Link: p, Target: target, Dir: t.dir}
		if filepath.IsAbs(target) {
			last.Why = linkOut
			if strings.HasPrefix(filepath.Clean(target)+string(filepath.Separator), filepath.Clean(t.dir)+string(filepath.Separator)) {
				last.Why = linkAbsolute
			}
			return last
		}
		if hops++; hops > maxLinks {
			last.Why = linkLoop
			return last
		}
		todo = append(strings.Split(filepath.ToSlash(target), "/"), todo...)
	}
	return nil
}
