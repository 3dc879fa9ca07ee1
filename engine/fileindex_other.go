//go:build !linux

package engine

import (
	"io/fs"
	"os"
)

// A statter stats workspace files through the Tree. Ctime and inode are not
// compared off Linux: size and mtime identify a file's version there.
type statter struct{ ix *FileIndex }

func (ix *FileIndex) newStatter() *statter { return &statter{ix: ix} }

// lstatPath returns the size and mtime of the file at absolute path p,
// without following a link.
func lstatPath(p string) (fileStat, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return fileStat{}, err
	}
	return fileStat{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}, nil
}

// stat returns the stat of rel and what it is, without following it.
func (s *statter) stat(rel string) (fileStat, fileKind, error) {
	s.ix.stated.Add(1)
	fi, err := s.ix.tree.Lstat(rel)
	if err != nil {
		return fileStat{}, 0, err
	}
	return fileStat{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}, kindOf(fi.Mode()), nil
}

// open opens the regular file rel, last stat-ed, for reading, and returns
// it with its stat: a file replaced by anything else since is an error.
func (s *statter) open(rel string) (*os.File, fileStat, error) {
	before, err := s.ix.tree.Lstat(rel)
	if err != nil {
		return nil, fileStat{}, err
	}
	f, err := s.ix.tree.Open(rel)
	if err != nil {
		return nil, fileStat{}, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || !os.SameFile(before, fi) {
		f.Close()
		return nil, fileStat{}, &fs.PathError{Op: "open", Path: s.ix.tree.Path(rel), Err: errChanged}
	}
	return f, fileStat{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}, nil
}

func (s *statter) close() {}

func kindOf(m fs.FileMode) fileKind {
	switch {
	case m.IsRegular():
		return kindFile
	case m.IsDir():
		return kindDir
	case m&fs.ModeSymlink != 0:
		return kindLink
	}
	return kindOther
}
