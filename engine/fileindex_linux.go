package engine

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// A statter stats many workspace files in a row, holding the folder of the
// last one open (opened through the Tree, so it lies inside the workspace),
// so that each file of a folder costs an fstatat of its own name, which
// follows no link.
type statter struct {
	ix  *FileIndex
	dir string   // workspace-relative folder held open, with a trailing slash
	fd  int      // that folder, or -1
	f   *os.File // the file of fd when it was opened through the os.Root
}

func (ix *FileIndex) newStatter() *statter { return &statter{ix: ix, fd: -1} }

// stat returns the stat of rel and what it is, without following it.
func (s *statter) stat(rel string) (fileStat, fileKind, error) {
	if err := s.enter(rel); err != nil {
		return fileStat{}, 0, err
	}
	s.ix.stated.Add(1)
	_, name := path.Split(rel)
	var st unix.Stat_t
	for {
		err := unix.Fstatat(s.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fileStat{}, 0, &fs.PathError{Op: "stat", Path: s.ix.tree.Path(rel), Err: err}
		}
		break
	}
	return statOf(&st), kindOf(st.Mode), nil
}

// open opens the regular file rel, last stat-ed, for reading, and returns
// it with its stat: a file replaced by anything else since is an error.
func (s *statter) open(rel string) (*os.File, fileStat, error) {
	if err := s.enter(rel); err != nil {
		return nil, fileStat{}, err
	}
	_, name := path.Split(rel)
	fd, err := unix.Openat(s.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		fd, err = unix.Openat(s.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		if err == unix.ELOOP {
			err = errChanged
		}
		return nil, fileStat{}, &fs.PathError{Op: "open", Path: s.ix.tree.Path(rel), Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || kindOf(st.Mode) != kindFile {
		unix.Close(fd)
		return nil, fileStat{}, &fs.PathError{Op: "open", Path: s.ix.tree.Path(rel), Err: errChanged}
	}
	return os.NewFile(uintptr(fd), s.ix.tree.Path(rel)), statOf(&st), nil
}

// enter holds the folder of rel open.
func (s *statter) enter(rel string) error {
	dir, _ := path.Split(rel)
	if s.fd >= 0 && dir == s.dir {
		return nil
	}
	s.close()
	if fd, ok := s.ix.tree.openDir(strings.TrimSuffix(dir, "/")); ok {
		s.dir, s.fd = dir, fd
		return nil
	}
	f, err := s.ix.tree.Open(strings.TrimSuffix(dir, "/"))
	if err != nil {
		var pe *fs.PathError
		var le *LinkError
		if errors.As(err, &le) {
			e := *le
			e.Path = rel
			return &e
		}
		if errors.As(err, &pe) {
			return &fs.PathError{Op: "stat", Path: s.ix.tree.Path(rel), Err: pe.Err}
		}
		return err
	}
	s.dir, s.f, s.fd = dir, f, int(f.Fd())
	return nil
}

func (s *statter) close() {
	switch {
	case s.f != nil:
		s.f.Close()
	case s.fd >= 0:
		unix.Close(s.fd)
	}
	s.f, s.fd, s.dir = nil, -1, ""
}

// lstatPath returns the stat of the file at absolute path p, without
// following a link.
func lstatPath(p string) (fileStat, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return fileStat{}, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	return statOf(&st), nil
}

func statOf(st *unix.Stat_t) fileStat {
	return fileStat{Size: st.Size, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(), Ino: st.Ino}
}

func kindOf(mode uint32) fileKind {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return kindFile
	case unix.S_IFDIR:
		return kindDir
	case unix.S_IFLNK:
		return kindLink
	}
	return kindOther
}
