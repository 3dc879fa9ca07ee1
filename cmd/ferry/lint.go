package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/seccheck"
)

func (a *app) lintCommand() *cobra.Command {
	var asJSON bool
	var f lintFlags
	cmd := &cobra.Command{
		Use:   "lint [-- --flag=value...]",
		Short: "Run the security checks: Dockerfiles, services, and a secret scan of the files and git history",
		Long: `ferry lint checks the Dockerfile and build context of every image() rule, every
service() and job(), and scans the workspace's files and git history for credentials. Each
finding has a rule id, a position, a severity and a fix (docs/security.md).

It exits with 1 when a finding is an error. Leave a rule out with --ignore ID
or lint_settings(ignore = [ID]) in ferry.star, or at one place with a
"ferry:ignore ID" comment on the line or the line above.`,
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
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				a.printFindings(rep)
			}
			if seccheck.Count(rep.Findings, seccheck.Error) > 0 {
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
}

func (f *lintFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.noHistory, "no-history", false, "scan the files only, not the git history")
	cmd.Flags().StringArrayVar(&f.ignore, "ignore", nil, "leave out the findings of rule `ID` (repeatable)")
}

// securityChecks runs the security checks on the workspace, leaving out
// the rules that --ignore and lint_settings(ignore =) name.
func (a *app) securityChecks(ctx context.Context, l *loaded, f lintFlags) (*seccheck.Report, error) {
	return seccheck.Check(ctx, seccheck.Options{Root: l.ws.Root, Rules: l.res.Rules, History: !f.noHistory, Ignore: append(f.ignore, a.lint.Ignore()...)})
}

// printFindings prints each finding with its fix, the notes, and the
// counts.
func (a *app) printFindings(rep *seccheck.Report) {
	for _, f := range rep.Findings {
		fmt.Fprintln(a.stdout, f)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(a.stdout, "note: %s\n", n)
	}
	fmt.Fprintln(a.stdout, lintSummary(rep.Findings))
}

// lintSummary counts findings by severity.
func lintSummary(fs []seccheck.Finding) string {
	return fmt.Sprintf("%d errors, %d warnings, %d info", seccheck.Count(fs, seccheck.Error), seccheck.Count(fs, seccheck.Warning), seccheck.Count(fs, seccheck.Info))
}

// planFindings prints, after a plan, the errors and warnings of the
// security checks on the files (not the history, which `ferry lint`
// scans), without failing the plan.
func (a *app) planFindings(ctx context.Context, l *loaded) {
	rep, err := seccheck.Check(ctx, seccheck.Options{Root: l.ws.Root, Rules: l.res.Rules, Ignore: a.lint.Ignore()})
	if err != nil {
		fmt.Fprintf(a.stdout, "security checks: %v\n", err)
		return
	}
	shown := 0
	for _, f := range rep.Findings {
		if f.Severity != seccheck.Info {
			shown++
			fmt.Fprintf(a.stdout, "%s: %s %s: %s\n", f.Pos(), f.Severity, f.Rule, f.Message)
		}
	}
	if shown > 0 {
		fmt.Fprintf(a.stdout, "security checks: %s; `ferry lint` says how to fix them\n", lintSummary(rep.Findings))
	}
}
