package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/starfmt"
)

func (a *app) fmtCommand() *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "fmt [--check] [FILE | FOLDER...]",
		Short: "Format ferry.star and the workspace's .star files with buildifier's formatter",
		Long: `ferry fmt formats the Starlark files of the workspace (every *.star, skipping hidden
folders, testdata and node_modules; outside a workspace, of the current folder), or the
files and folders given, with the formatter
of Bazel's buildifier, and prints the name of each file it changed. Files are written
atomically.

--check changes nothing: it prints the files that are not formatted and exits with 1
if there are any, for CI. A file with a syntax error is reported with its position and
ferry fmt exits with 2; a file the formatter cannot read although ferry can (a while
loop) is left as it is, with a warning.`,
		Example: `  ferry fmt
  ferry fmt --check
  ferry fmt lib/go.star`,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, _, err := a.starRoot()
			if err != nil {
				return err
			}
			res, err := starfmt.Run(root, a.paths(args), check)
			if err != nil {
				return err
			}
			for _, f := range res.Changed {
				fmt.Fprintln(a.stdout, f)
			}
			for _, e := range res.Skipped {
				a.bus.Logf(engine.LevelWarn, "%v", e)
			}
			for _, e := range res.Errors {
				a.bus.Logf(engine.LevelError, "%v", e)
			}
			switch {
			case len(res.Errors) > 0:
				return &exitCodeError{code: exitConfig, msg: fmt.Sprintf("ferry fmt: %d file(s) could not be formatted; fix the errors above", len(res.Errors))}
			case check && len(res.Changed) > 0:
				return &exitCodeError{code: exitFailed, msg: fmt.Sprintf("ferry fmt --check: %d file(s) are not formatted; run ferry fmt", len(res.Changed))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "change nothing: list the files that are not formatted, and exit with 1 if any")
	return cmd
}
