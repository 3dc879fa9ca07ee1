package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// starter is the commented ferry.star that Init writes.
const starter = `# ferry.star declares what ferry builds, tests and runs in this folder.
#
#   ferry run           run every build rule that is out of date
#   ferry plan          say what would run, and why
#   ferry graph         show the rules and their deps
#   ferry doc           the reference of every builtin
#
# A task runs a command. It reruns only when its definition, the contents of
# its srcs, or the keys of its deps change (or a declared output is missing).
task(
    name = "hello",
    cmd = "echo hello from ferry > hello.txt",
    outs = ["hello.txt"],
    doc = "an example: delete me",
)

# srcs are usually globs, relative to this file's folder:
#
# task(
#     name = "test",
#     cmd = "go test ./...",
#     srcs = glob(["**/*.go"], exclude = ["**/testdata/**"]),
#     timeout = "5m",
# )

# The standard library has macros for common tools:
#
# load("@std//go.star", "go_binary", "go_test")
# go_test(name = "test")
# go_binary(name = "app", pkg = "./cmd/app", deps = ["test"])
`

// Init writes a commented starter ferry.star in dir, replacing one that
// exists only when overwrite, and adds the state folder to dir's
// .gitignore (see IgnoreStateFolder). It returns the path of the
// ferry.star and whether .gitignore gained the line.
func Init(dir string, overwrite bool) (path string, ignored bool, err error) {
	path = filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err == nil && !overwrite {
		return "", false, fmt.Errorf("%s already exists; use --force to overwrite it", path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if err := WriteFileAtomic(path, []byte(starter), 0o644); err != nil {
		return "", false, err
	}
	ignored, err = IgnoreStateFolder(dir)
	return path, ignored, err
}
