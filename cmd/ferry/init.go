package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
)

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

func (a *app) initCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter ferry.star in the current folder (or -C DIR), and add .ferry/ to its .gitignore",
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := filepath.Join(a.dir, engine.FileName)
			if _, err := os.Stat(p); err == nil && !force {
				return fmt.Errorf("%s already exists; use --force to overwrite it", p)
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err := engine.WriteFileAtomic(p, []byte(starter), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s; try `ferry run`\n", p)
			added, err := engine.IgnoreStateFolder(a.dir)
			if added {
				fmt.Fprintf(a.stdout, "added %s/ to %s: ferry keeps its state there, which does not belong in git\n", engine.StateDir, filepath.Join(a.dir, ".gitignore"))
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing ferry.star")
	return cmd
}
