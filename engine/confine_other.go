//go:build !linux

package engine

import (
	"io/fs"
	"os"
)

// readDir lists the folder dir, opened through a Tree.
func readDir(dir *os.File) ([]fs.DirEntry, error) { return dir.ReadDir(-1) }
