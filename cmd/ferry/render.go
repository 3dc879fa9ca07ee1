package main

import (
	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/deploy"
)

func (a *app) renderCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "render --env NAME [--out DIR] [-- --flag=value...]",
		Short: "Write the manifests that `up` applies to a Kubernetes environment, sorted and stable, for review or GitOps",
		Long: `render writes the objects that ` + "`ferry --env NAME up`" + ` would apply to a Kubernetes
environment: one YAML document per object, to stdout, or one file per object (KIND-NAME.yaml)
into --out DIR. The same ferry.star renders the same bytes. Secret values are never
rendered: a Secret holds its keys with empty values.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			keys, err := l.Keys(cmd.Context(), deploy.Enabled(l.Graph))
			if err != nil {
				return err
			}
			files, err := a.deployer(l.Session.Workspace, l.Session.Project).Render(l.Graph, keys)
			if err != nil {
				return err
			}
			return deploy.WriteManifests(a.stdout, a.path(out), files)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write one file per object into `DIR` instead of stdout")
	return cmd
}
