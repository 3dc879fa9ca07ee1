package main

import (
	"github.com/spf13/cobra"
)

func (a *app) graphCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph [RULE...]",
		Short: "Show the rules and their deps, as a text tree or in Graphviz DOT",
		Example: `  ferry graph
  ferry graph --format dot | dot -Tsvg > graph.svg`,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := a.load(cmd.Context(), nil)
			if err != nil {
				return err
			}
			return l.Graph.Write(a.stdout, args, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text (a tree) or dot (Graphviz)")
	return cmd
}
