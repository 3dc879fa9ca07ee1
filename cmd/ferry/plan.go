package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/seccheck"
	"github.com/ferryhq/ferry/engine"
)

func (a *app) planCommand() *cobra.Command {
	var asJSON, force, check bool
	cmd := &cobra.Command{
		Use:   "plan [RULE...] [-- --flag=value...]",
		Short: "Say which rules would run, and why, without running anything",
		RunE: func(cmd *cobra.Command, args []string) error {
			names, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			items, err := l.Plan(cmd.Context(), names, force)
			if err != nil {
				return err
			}
			if asJSON {
				return engine.WritePlanJSON(a.stdout, items)
			}
			engine.WritePlan(a.stdout, items)
			if len(names) == 0 {
				deploy.WriteLeftToUp(a.stdout, l.Graph)
			}
			deploy.WriteImagesOfPlan(cmd.Context(), a.stdout, l.Graph, items)
			if check {
				seccheck.WritePlanChecks(cmd.Context(), a.stdout, l.Session.Workspace.Root, l.Result, a.env)
			} else {
				fmt.Fprintln(a.stdout, "security checks not run: `ferry plan --check` or `ferry lint` runs them")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	cmd.Flags().BoolVar(&force, "force", false, "plan as `ferry run --force` would run")
	cmd.Flags().BoolVar(&check, "check", false, "after the plan, show the errors and warnings of the security checks on the files, as `ferry lint --no-history` finds them (they read every file of the workspace)")
	return cmd
}
