package main

import (
	"fmt"

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
			names := args
			if len(names) == 0 {
				names = l.Graph.Names()
			}
			sel, err := l.Graph.Select(names)
			if err != nil {
				return err
			}
			switch format {
			case "text":
				l.Graph.WriteTree(a.stdout, sel)
			case "dot":
				l.Graph.WriteDOT(a.stdout, sel)
			default:
				return fmt.Errorf("unknown --format %q: want text or dot", format)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text (a tree) or dot (Graphviz)")
	return cmd
}
