package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
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
				writeTree(a.stdout, l.Graph, sel)
			case "dot":
				writeDOT(a.stdout, l.Graph, sel)
			default:
				return fmt.Errorf("unknown --format %q: want text or dot", format)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text (a tree) or dot (Graphviz)")
	return cmd
}

// treeDepth bounds the nesting of the text tree: a rule deeper than that
// starts a tree of its own further down, so that a long chain of deps does
// not indent each line further than the last.
const treeDepth = 8

// writeTree prints each rule that nothing selected depends on, with its deps
// below it; a subtree already printed is shown once and then referred to, so
// the output grows with the number of rules and deps, not of paths.
func writeTree(w io.Writer, g *engine.Graph, sel []string) {
	hasParent := map[string]bool{}
	for _, n := range sel {
		for _, d := range g.Rule(n).Info().Deps {
			hasParent[d] = true
		}
	}
	printed := map[string]bool{}
	deferred := map[string]bool{}
	var later []string // rules whose deps start a tree of their own
	var walk func(n, indent string, depth int, last bool)
	walk = func(n, indent string, depth int, last bool) {
		info := g.Rule(n).Info()
		branch, next := "", ""
		if depth > 0 {
			branch, next = "├── ", "│   "
			if last {
				branch, next = "└── ", "    "
			}
		}
		switch {
		case printed[n] && len(info.Deps) > 0:
			fmt.Fprintf(w, "%s%s%s (deps shown above)\n", indent, branch, n)
			return
		case deferred[n] || depth >= treeDepth && len(info.Deps) > 0:
			fmt.Fprintf(w, "%s%s%s (deps shown below)\n", indent, branch, n)
			if !deferred[n] {
				deferred[n] = true
				later = append(later, n)
			}
			return
		}
		printed[n] = true
		label := fmt.Sprintf("%s (%s)", n, info.Kind)
		if info.Doc != "" {
			label += " — " + info.Doc
		}
		fmt.Fprintf(w, "%s%s%s\n", indent, branch, label)
		deps := append([]string{}, info.Deps...)
		sort.Strings(deps)
		for i, d := range deps {
			walk(d, indent+next, depth+1, i == len(deps)-1)
		}
	}
	for _, n := range sel {
		if !hasParent[n] {
			walk(n, "", 0, true)
		}
	}
	for len(later) > 0 {
		n := later[0]
		later = later[1:]
		delete(deferred, n)
		walk(n, "", 0, true)
	}
}

func writeDOT(w io.Writer, g *engine.Graph, sel []string) {
	fmt.Fprintln(w, "digraph ferry {")
	fmt.Fprintln(w, "  rankdir=LR;")
	fmt.Fprintln(w, "  node [shape=box];")
	for _, n := range sel {
		fmt.Fprintf(w, "  %q [label=%q];\n", n, n+"\n("+g.Rule(n).Info().Kind+")")
	}
	for _, n := range sel {
		deps := append([]string{}, g.Rule(n).Info().Deps...)
		sort.Strings(deps)
		for _, d := range deps {
			fmt.Fprintf(w, "  %q -> %q;\n", n, d)
		}
	}
	fmt.Fprintln(w, "}")
}
