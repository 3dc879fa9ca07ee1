package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// FileName is the name of the file that marks a workspace root.
const FileName = "ferry.star"

// StateDir is the workspace-relative folder where ferry keeps its state.
const StateDir = ".ferry"

// A Workspace is a folder with a ferry.star at its root.
type Workspace struct {
	Root string // absolute path of the workspace folder
	File string // absolute path of the main Starlark file

	treeMu sync.Mutex
	tree   *Tree
}

// Tree returns the workspace folder as a Tree: everything that evaluation
// and rules read from the workspace is opened through it, so that no link
// leads them out of it. The folder is held open until Reopen.
func (w *Workspace) Tree() *Tree {
	w.treeMu.Lock()
	defer w.treeMu.Unlock()
	if w.tree == nil {
		w.tree = NewTree(w.Root)
	}
	return w.tree
}

// reopen lets go of the folder the tree holds open, for a workspace folder
// that was deleted and made anew.
func (w *Workspace) reopen() {
	w.treeMu.Lock()
	defer w.treeMu.Unlock()
	if w.tree != nil {
		w.tree.Close()
		w.tree = nil
	}
}

// ErrNoWorkspace is returned by FindWorkspace when no ferry.star exists.
var ErrNoWorkspace = errors.New("no ferry.star found")

// FindWorkspace locates the workspace for dir: with file set, that file is
// the main file and its folder the root; otherwise it walks up from dir to
// the first folder holding ferry.star.
func FindWorkspace(dir, file string) (*Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("folder %s does not exist", abs)
	}
	if file != "" {
		if !filepath.IsAbs(file) {
			file = filepath.Join(abs, file)
		}
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("%w: %s does not exist; run `ferry init` to create a starter file", ErrNoWorkspace, file)
		}
		return &Workspace{Root: filepath.Dir(file), File: file}, nil
	}
	for d := abs; ; d = filepath.Dir(d) {
		f := filepath.Join(d, FileName)
		if st, err := os.Stat(f); err == nil && !st.IsDir() {
			return &Workspace{Root: d, File: f}, nil
		}
		if filepath.Dir(d) == d {
			return nil, fmt.Errorf("%w in %s or any parent folder; run `ferry init` to create one, or pass -C DIR / -f FILE", ErrNoWorkspace, abs)
		}
	}
}

// Path returns the absolute path of a workspace-relative slash path.
func (w *Workspace) Path(rel string) string {
	return filepath.Join(w.Root, filepath.FromSlash(rel))
}

// StateFolder returns the absolute path of the workspace's .ferry folder,
// making it when there is none: private (0700), with a .gitignore of "*"
// that keeps it out of git, which a .ferry without one gets too. It
// refuses a .ferry that is not a plain folder of the current user (a
// symbolic link, a file, another user's folder) with an error that says
// what to do.
func (w *Workspace) StateFolder() (string, error) {
	dir := w.Path(StateDir)
	err := checkStateFolder(dir)
	if errors.Is(err, fs.ErrNotExist) {
		err = os.Mkdir(dir, 0o700)
		switch {
		case errors.Is(err, fs.ErrExist): // another ferry made it meanwhile
			err = checkStateFolder(dir)
		case err != nil:
			return "", stateWriteError(w.Root, err)
		}
	}
	if err != nil {
		return "", err
	}
	gi := filepath.Join(dir, ".gitignore")
	if _, err := os.Lstat(gi); errors.Is(err, fs.ErrNotExist) {
		if err := WriteFileAtomic(gi, []byte("*\n"), 0o644); err != nil {
			return "", stateWriteError(dir, err)
		}
	}
	return dir, nil
}

// IgnoreStateFolder adds .ferry/ to the .gitignore at root, making the
// file if there is none, unless one of its lines names the folder already
// (.ferry, .ferry/, /.ferry, /.ferry/). It reports whether it added it.
func IgnoreStateFolder(root string) (bool, error) {
	p := filepath.Join(root, ".gitignore")
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return false, fmt.Errorf("%s is a symbolic link, which ferry does not write through; add the line %s/ to the file it points to yourself", p, StateDir)
	}
	f, err := openNoFollow(p, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return false, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", p, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		switch strings.TrimSpace(line) {
		case StateDir, StateDir + "/", "/" + StateDir, "/" + StateDir + "/":
			return false, nil
		}
	}
	add := StateDir + "/\n"
	if len(b) > 0 && b[len(b)-1] != '\n' {
		add = "\n" + add
	}
	if _, err := f.WriteString(add); err != nil {
		return false, fmt.Errorf("add %s/ to %s: %w", StateDir, p, err)
	}
	return true, f.Close()
}

// Rel returns the workspace-relative slash path of an absolute path.
func (w *Workspace) Rel(abs string) (string, error) {
	rel, err := filepath.Rel(w.Root, abs)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}

// JoinPath joins p, written in a module whose folder is the
// workspace-relative dir, into a workspace-relative slash path. Absolute
// paths and paths that leave the workspace are refused.
func JoinPath(dir, p string) (string, error) {
	if path.IsAbs(p) {
		return "", fmt.Errorf("%q is absolute; paths in ferry files are relative to the file's folder", p)
	}
	j := path.Join(dir, p)
	if j == ".." || strings.HasPrefix(j, "../") {
		return "", fmt.Errorf("%q leaves the workspace", p)
	}
	return j, nil
}
