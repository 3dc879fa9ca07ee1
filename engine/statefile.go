package engine

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ferryhq/ferry/engine/platform"
)

// The files of the .ferry folder come with the workspace, which may be a
// checkout of someone else's branch: ferry opens them without following a
// symbolic link (which could point at any file of the user's), and reads
// no more of one than it can use.

// maxStateSize is the largest state file LoadState reads. A state of
// 100,000 files and rules takes about 26 MB, so a file much larger than
// that is damaged or planted, and reading it whole could exhaust memory.
const maxStateSize = 256 << 20

// errStateTooLarge is wrapped by readCapped for a file over its limit.
var errStateTooLarge = errors.New("too large")

// openNoFollow is os.OpenFile, refusing a symbolic link as the last
// element of path with an error that says what to do.
func openNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	f, err := platform.OpenNoFollow(path, flag, perm)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link: ferry never follows a link among its own files, which could make it write over the file the link points to; remove it (rm %s) and ferry makes the file afresh", path, path)
	}
	return f, err
}

// readCapped reads the regular file at path, which must not be a symbolic
// link. A file larger than limit is not read: the error wraps
// errStateTooLarge and says how large it is.
func readCapped(path string, limit int64) ([]byte, error) {
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s): remove it (rm -r %s) and ferry makes it afresh", path, fi.Mode().Type(), path)
	}
	tooLarge := func(size int64) error {
		return fmt.Errorf("%s is %w: %s, more than the %s ferry reads", path, errStateTooLarge, byteSize(size), byteSize(limit))
	}
	if fi.Size() > limit {
		return nil, tooLarge(fi.Size())
	}
	// The file may grow between the Stat and the read: read one byte past
	// the limit to notice.
	buf := bytes.NewBuffer(make([]byte, 0, fi.Size()+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(buf.Len()) > limit {
		return nil, tooLarge(int64(buf.Len()))
	}
	return buf.Bytes(), nil
}

// byteSize formats n in binary units: "256 MiB", "3.0 GiB".
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkStateFolder returns nil when dir is a plain folder of the current
// user, an error wrapping fs.ErrNotExist when there is nothing at dir, and
// otherwise an error that says what dir is and what to do.
func checkStateFolder(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		to, _ := os.Readlink(dir)
		return fmt.Errorf("%s is a symbolic link (to %s): ferry keeps its lock and state in a plain folder of that name and never follows a link there, which could make it write over the files the link points to; remove the link (rm %s) and ferry makes the folder afresh", dir, to, dir)
	case fi.Mode().IsRegular():
		return fmt.Errorf("%s is a file, not a folder: ferry keeps its lock and state in a folder of that name; move the file away or remove it (rm %s), and ferry makes the folder", dir, dir)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a folder (%s): ferry keeps its lock and state in a folder of that name; remove it (rm %s), and ferry makes the folder", dir, fi.Mode().Type(), dir)
	}
	if uid, ok := platform.Owner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("%s belongs to uid %d, not to you (uid %d): ferry will not keep its lock and state in another user's folder, where they could be changed under it; remove the folder (as its owner or root) and ferry makes one of yours, or run ferry as uid %d", dir, uid, os.Geteuid(), uid)
	}
	return nil
}

// stateWriteError adds what to do to err, from writing in dir (the state
// folder, or the workspace when it makes that folder), when dir or its file
// system is read-only.
func stateWriteError(dir string, err error) error {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("cannot write in %s (%w): ferry keeps its lock and state in the workspace's %s folder; make the folder writable (chmod u+w %s), or run ferry on a writable copy of the workspace", dir, err, StateDir, dir)
	}
	return err
}

// createTemp makes a new file in dir, named prefix and a random suffix,
// for WriteFileAtomic: O_EXCL and O_NOFOLLOW ensure that it is a new file,
// never one that a link, planted or left over, points to.
func createTemp(dir, prefix string) (*os.File, error) {
	for range 100 {
		name := filepath.Join(dir, prefix+rand.Text()[:10])
		f, err := platform.OpenNoFollow(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("create a temporary file in %s: every name tried exists", dir)
}

// readStateFile reads the state file of ws, at most maxStateSize of it.
// With no .ferry folder or no state file, the error wraps fs.ErrNotExist.
func readStateFile(ws *Workspace) ([]byte, error) {
	if err := checkStateFolder(ws.Path(StateDir)); err != nil {
		return nil, err
	}
	return readCapped(statePath(ws), maxStateSize)
}

// writeStateFile replaces the state file of ws with data.
func writeStateFile(ws *Workspace, data []byte) error {
	dir, err := ws.StateFolder()
	if err != nil {
		return err
	}
	return stateWriteError(dir, WriteFileAtomic(statePath(ws), data, 0o600))
}
