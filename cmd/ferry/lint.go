package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/seccheck"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/mod"
)

func (a *app) lintCommand() *cobra.Command {
	var asJSON bool
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint [-- --flag=value...]",
		Short: "Run the checks: Dockerfiles, services, a secret scan of the files and git history, and a lint of the Starlark files",
		Long: `ferry lint checks the Dockerfile and build context of every image() rule, every
service() and job(), scans the workspace's files and git history for credentials, and
lints every .star file (undefined names, unused loads and variables, unknown keyword
arguments of builtins, shadowed builtins, loads of modules that ferry.mod does not
list). Each finding has a rule id, a position, a severity and a fix (docs/security.md).

It exits with 1 when a finding is an error. Leave a rule out with --ignore ID
or lint_settings(ignore = [ID]) in ferry.star, or at one place with a
"ferry:ignore ID" comment on the line or the line above.

--sarif FILE also writes the findings as SARIF 2.1.0, which GitHub code scanning
(github/codeql-action/upload-sarif), GitLab and other CI systems read.`,
		Example: `  ferry lint
  ferry lint --no-history --json
  ferry lint --sarif ferry.sarif`,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			if len(names) > 0 {
				return fmt.Errorf("ferry lint checks the whole workspace and takes no rule names (got %q); config flags go after --", names[0])
			}
			rep, err := a.securityChecks(cmd.Context(), l, f)
			if err != nil {
				return err
			}
			if f.sarif != "" {
				if err := a.writeSARIF(f.sarif, rep); err != nil {
					return err
				}
			}
			if asJSON {
				if err := rep.WriteJSON(a.stdout); err != nil {
					return err
				}
			} else {
				rep.WriteText(a.stdout)
			}
			if rep.Failed() {
				return &exitCodeError{code: exitFailed, msg: "ferry lint: error findings above; fix them, or ignore them by id (docs/security.md)"}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the findings as JSON")
	f.add(cmd)
	return cmd
}

// lintFlags are the flags of the security checks, shared by lint and ci.
type lintFlags struct {
	noHistory bool
	ignore    []string
	sarif     string
}

func (f *lintFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.noHistory, "no-history", false, "scan the files only, not the git history")
	cmd.Flags().StringArrayVar(&f.ignore, "ignore", nil, "leave out the findings of rule `ID` (repeatable)")
	cmd.Flags().StringVar(&f.sarif, "sarif", "", "also write the findings to `FILE` as SARIF 2.1.0, for GitHub code scanning and other CI systems")
}

// securityChecks runs the security checks on the workspace, leaving out
// the rules that --ignore and lint_settings(ignore =) name.
func (a *app) securityChecks(ctx context.Context, l *engine.Loaded, f lintFlags) (*seccheck.Report, error) {
	o := seccheck.OptionsFor(l.Session.Workspace.Root, l.Result)
	o.History, o.Ignore, o.Starlark, o.Env = !f.noHistory, append(f.ignore, o.Ignore...), true, a.env
	o.ModuleDeps = mod.LintDeps(o.Root)
	return seccheck.Check(ctx, o)
}

// writeSARIF writes the findings of rep to file, the --sarif flag's
// value, as a SARIF log, through the redactor as the JUnit report is.
func (a *app) writeSARIF(file string, rep *seccheck.Report) error {
	out, err := a.create("--sarif", file)
	if err != nil {
		return err
	}
	return out.WriteReport("SARIF", func(w io.Writer) error {
		return rep.WriteSARIF(w, ferryVersion())
	}, a.bus.Logf)
}
