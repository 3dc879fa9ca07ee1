package engine

import (
	"fmt"
	"io"
	"sort"
)

// Kind returns the kind of the rule name ("task", "service"), or "" when
// g has no such rule.
func (g *Graph) Kind(name string) string {
	if r := g.Rule(name); r != nil {
		return r.Info().Kind
	}
	return ""
}

// Write prints, as `ferry graph --format` does, the rules names select and
// their deps (every rule when names is empty) in format: "text" (see
// WriteTree) or "dot" (see WriteDOT).
func (g *Graph) Write(w io.Writer, names []string, format string) error {
	if format != "text" && format != "dot" {
		return fmt.Errorf("unknown --format %q: want text or dot", format)
	}
	if len(names) == 0 {
		names = g.Names()
	}
	sel, err := g.Select(names)
	if err != nil {
		return err
	}
	if format == "dot" {
		g.WriteDOT(w, sel)
	} else {
		g.WriteTree(w, sel)
	}
	return nil
}

// treeDepth bounds the nesting of the text tree: a rule deeper than that
// starts a tree of its own further down, so that a long chain of deps does
// not indent each line further than the last.
const treeDepth = 8

// WriteTree prints, as `ferry graph` does, each rule of sel that no rule of
// sel depends on, with its deps below it; a subtree already printed is shown
// once and then referred to, so the output grows with the number of rules
// and deps, not of paths.
func (g *Graph) WriteTree(w io.Writer, sel []string) {
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

// WriteDOT prints the rules of sel and their deps in Graphviz DOT.
func (g *Graph) WriteDOT(w io.Writer, sel []string) {
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
