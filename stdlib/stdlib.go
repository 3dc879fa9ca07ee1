// Package stdlib holds ferry's standard Starlark modules, embedded in the
// binary and loaded as @std//name.star. Their tests (*_test.star) sit
// beside them and are run by `ferry test`; FS leaves them out.
package stdlib

import (
	"embed"
	"io/fs"
	"strings"
)

//go:embed *.star
var files embed.FS

// FS holds the modules, without their tests.
var FS fs.FS = modules{files}

// modules is an fs.FS that hides the test files of the one it wraps.
type modules struct{ fsys embed.FS }

func isTest(name string) bool { return strings.HasSuffix(name, "_test.star") }

func notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

func (m modules) Open(name string) (fs.File, error) {
	if isTest(name) {
		return nil, notExist("open", name)
	}
	return m.fsys.Open(name)
}

func (m modules) ReadFile(name string) ([]byte, error) {
	if isTest(name) {
		return nil, notExist("read", name)
	}
	return m.fsys.ReadFile(name)
}

func (m modules) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := m.fsys.ReadDir(name)
	out := make([]fs.DirEntry, 0, len(entries))
	for _, e := range entries {
		if !isTest(e.Name()) {
			out = append(out, e)
		}
	}
	return out, err
}
