package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
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
			keys, err := deployKeys(cmd, l)
			if err != nil {
				return err
			}
			files, err := a.deployer(l.Session.Workspace, l.Session.Project).Render(l.Graph, keys)
			if err != nil {
				return err
			}
			for _, f := range slices.Sorted(maps.Keys(files)) {
				if out == "" {
					fmt.Fprintf(a.stdout, "---\n# %s\n%s", f, files[f])
					continue
				}
				p := filepath.Join(out, filepath.FromSlash(f))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(p, files[f], 0o644); err != nil {
					return err
				}
			}
			if out != "" {
				fmt.Fprintf(a.stdout, "wrote %d manifests to %s\n", len(files), out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write one file per object into `DIR` instead of stdout")
	return cmd
}

// deployKeys returns the keys of the services and jobs the profiles
// enable, and of what they depend on.
func deployKeys(cmd *cobra.Command, l *engine.Loaded) (map[string]engine.Digest, error) {
	var names []string
	for _, n := range l.Graph.Names() {
		if r := l.Graph.Rule(n); deploy.IsDeploy(r) && l.Graph.ProfileEnabled(r.Info()) {
			names = append(names, n)
		}
	}
	return l.Keys(cmd.Context(), names)
}
