package main

import (
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/spf13/cobra"
)

func (a *app) diffCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "diff --env NAME [-- --flag=value...]",
		Short: "Show, object by object, what `up` would change in a Kubernetes environment, changing nothing",
		Long: `diff compares ferry.star with a Kubernetes environment: each object that ` + "`ferry --env NAME up`" + `
would apply is applied as a server-side dry run, and a unified diff of the live object and
the result is printed; objects up would create and remove are named, and a job up would run
again with why. Nothing changes in the cluster. ferry.star's secrets are not resolved, and
no Secret's data is shown: Secrets are compared by their keys. With nothing to change, it says so.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			keys, err := l.Keys(cmd.Context(), deploy.Enabled(l.Graph))
			if err != nil {
				return err
			}
			_, err = a.deployer(l.Session.Workspace, l.Session.Project).Diff(cmd.Context(), l.Graph, keys, a.stdout)
			return err
		},
	}
}
