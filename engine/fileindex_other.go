//go:build !linux

package engine

import (
	"os"
	"path/filepath"
)

// stat stats the workspace-relative path rel. Ctime and inode are not
// compared off Linux: size and mtime identify a file's version there.
func (ix *FileIndex) stat(rel string) (fileStat, bool, error) {
	ix.stated.Add(1)
	fi, err := os.Stat(filepath.Join(ix.root, filepath.FromSlash(rel)))
	if err != nil {
		return fileStat{}, false, err
	}
	return fileStat{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}, fi.IsDir(), nil
}

// A statter stats many workspace files in a row.
type statter struct{ ix *FileIndex }

func (ix *FileIndex) newStatter() *statter                 { return &statter{ix: ix} }
func (s *statter) stat(rel string) (fileStat, bool, error) { return s.ix.stat(rel) }
func (s *statter) close()                                  {}

func (ix *FileIndex) closeRoot() {}
