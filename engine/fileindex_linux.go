package engine

import (
	"io/fs"
	"path"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// stat stats the workspace-relative path rel with fstatat on a descriptor of
// the root held open, so the kernel resolves only the relative part: this
// halves the cost of the stat calls a no-op run is made of.
func (ix *FileIndex) stat(rel string) (fileStat, bool, error) {
	ix.stated.Add(1)
	if err := ix.openRoot(); err != nil {
		return fileStat{}, false, err
	}
	var st unix.Stat_t
	for {
		err := unix.Fstatat(ix.rootFD, filepath.FromSlash(rel), &st, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fileStat{}, false, &fs.PathError{Op: "stat", Path: filepath.Join(ix.root, filepath.FromSlash(rel)), Err: err}
		}
		break
	}
	s := fileStat{Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(), Ino: st.Ino}
	return s, st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}

// openRoot opens the root folder once, for the *at system calls.
func (ix *FileIndex) openRoot() error {
	ix.rootOnce.Do(func() {
		ix.rootFD, ix.rootErr = unix.Open(ix.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if ix.rootErr != nil {
		return &fs.PathError{Op: "open", Path: ix.root, Err: ix.rootErr}
	}
	return nil
}

// A statter stats many workspace files in a row, holding the folder of the
// last one open, so that each file of a folder costs a lookup of its own
// name rather than of its whole path.
type statter struct {
	ix  *FileIndex
	dir string // workspace-relative folder held open, with a trailing slash
	fd  int    // -1 when none
}

func (ix *FileIndex) newStatter() *statter { return &statter{ix: ix, fd: -1} }

func (s *statter) stat(rel string) (fileStat, bool, error) {
	dir, name := path.Split(rel)
	if dir == "" || name == "" {
		return s.ix.stat(rel)
	}
	if dir != s.dir {
		s.close()
		if err := s.ix.openRoot(); err != nil {
			return fileStat{}, false, err
		}
		fd, err := unix.Openat(s.ix.rootFD, filepath.FromSlash(dir), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return s.ix.stat(rel) // reports the error with the whole path
		}
		s.dir, s.fd = dir, fd
	}
	s.ix.stated.Add(1)
	var st unix.Stat_t
	for {
		err := unix.Fstatat(s.fd, name, &st, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fileStat{}, false, &fs.PathError{Op: "stat", Path: filepath.Join(s.ix.root, filepath.FromSlash(rel)), Err: err}
		}
		break
	}
	return fileStat{Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(), Ino: st.Ino}, st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}

func (s *statter) close() {
	if s.fd >= 0 {
		unix.Close(s.fd)
		s.fd, s.dir = -1, ""
	}
}

// closeRoot closes the root folder if openRoot opened it; the index cannot
// stat afterwards.
func (ix *FileIndex) closeRoot() {
	ix.rootOnce.Do(func() { ix.rootErr = fs.ErrClosed })
	if ix.rootErr == nil {
		unix.Close(ix.rootFD)
		ix.rootErr = fs.ErrClosed
	}
}
