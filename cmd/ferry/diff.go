package main

import (
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/spf13/cobra"
)

func (a *app) diffCommand() *cobra.Command {
	var exitCode bool
	cmd := &cobra.Command{
		Use:   "diff --env NAME [--exit-code] [-- --flag=value...]",
		Short: "Show, object by object, what `up` would change in a Kubernetes environment, changing nothing",
		Long: `diff compares ferry.star with a Kubernetes environment: each object that ` + "`ferry --env NAME up`" + `
would apply is applied as a server-side dry run, and a unified diff of the live object and
the result is printed; objects up would create and remove are named, and a job up would run
again with why. Nothing changes in the cluster. ferry.star's secrets are not resolved, and
no Secret's data is shown: Secrets are compared by their keys. With nothing to change, it says so.

With --exit-code, diff exits 1 when up would change something and 0 when it would not, as
` + "`git diff --exit-code`" + ` and ` + "`kubectl diff`" + ` do (an error exits 2), for a CI step that checks a
cluster runs what ferry.star declares.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			keys, err := l.Keys(cmd.Context(), deploy.Enabled(l.Graph))
			if err != nil {
				return err
			}
			changes, err := a.deployer(l.Session.Workspace, l.Session.Project).Diff(cmd.Context(), l.Graph, keys, a.stdout)
			if err != nil {
				return err
			}
			if exitCode && changes > 0 {
				return &exitCodeError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 1 when up would change something, 0 when not (an error exits 2)")
	return cmd
}
