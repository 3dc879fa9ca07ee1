// Package starfmt formats Starlark files with the formatter of Bazel's
// buildifier (github.com/bazelbuild/buildtools), as `ferry fmt` does: one
// layout for every ferry.star and module, so diffs show changes, not style.
package starfmt

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bazelbuild/buildtools/build"

	"github.com/ferryhq/ferry/engine"
)

// ErrUnsupported is wrapped by Format's error for a file that is valid
// ferry Starlark but uses what the formatter does not know: while loops.
var ErrUnsupported = errors.New("ferry Starlark that buildifier's formatter does not know")

// Format returns src, the Starlark file name, formatted. A syntax error
// names the file, line and column.
func Format(name string, src []byte) ([]byte, error) {
	f, err := build.ParseDefault(name, src)
	if err != nil {
		if _, ferr := engine.FileOptions.Parse(name, src, 0); ferr == nil {
			return nil, fmt.Errorf("%v (%w, such as a while loop); the file is left as it is", err, ErrUnsupported)
		}
		return nil, fmt.Errorf("%v; fix the syntax, then format", err)
	}
	return build.Format(f), nil
}

// Files returns the Starlark files (*.star) that paths name, or every one
// under root, as engine.FindFiles finds them.
func Files(root string, paths []string) ([]string, error) {
	return engine.FindFiles(root, paths, func(base string) bool { return strings.HasSuffix(base, ".star") }, "Starlark files (*.star)")
}

// A Result says what formatting the files did.
type Result struct {
	Changed []string // workspace-relative paths of the files that changed (or would, with check)
	Errors  []error  // files that could not be read, parsed or written
	Skipped []error  // files left as they are: they wrap ErrUnsupported
}

// Run formats the files that paths name (every .star file under root
// when none), writing each one that changes atomically, or, with check,
// only reporting which would change.
func Run(root string, paths []string, check bool) (*Result, error) {
	files, err := Files(root, paths)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			rel = f
		}
		rel = filepath.ToSlash(rel)
		changed, err := file(f, rel, check)
		if errors.Is(err, ErrUnsupported) {
			res.Skipped = append(res.Skipped, err)
			continue
		}
		if err != nil {
			res.Errors = append(res.Errors, err)
			continue
		}
		if changed {
			res.Changed = append(res.Changed, rel)
		}
	}
	return res, nil
}

// file formats the file at abs, shown as rel, and reports whether it
// changed (or would, with check).
func file(abs, rel string, check bool) (bool, error) {
	src, err := os.ReadFile(abs)
	if err != nil {
		return false, err
	}
	out, err := Format(rel, src)
	if err != nil {
		return false, err
	}
	if bytes.Equal(src, out) {
		return false, nil
	}
	if check {
		return true, nil
	}
	info, err := os.Stat(abs)
	if err != nil {
		return false, err
	}
	if err := engine.WriteFileAtomic(abs, out, info.Mode().Perm()); err != nil {
		return false, fmt.Errorf("%s: %w; the file is unchanged", rel, err)
	}
	return true, nil
}
