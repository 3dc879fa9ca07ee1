//go:build !linux

package engine

import (
	"io/fs"
	"os"
)

// readDir lists the folder dir, opened through a Tree.
func readDir(dir *os.File) ([]fs.DirEntry, error) { return dir.ReadDir(-1) }

// readDirFast reports false: off Linux, every folder is listed through the
// tree's os.Root (see treeFS.ReadDir).
func (t *Tree) readDirFast(string) ([]fs.DirEntry, bool) { return nil, false }
