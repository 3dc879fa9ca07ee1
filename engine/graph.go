package engine

import (
	"fmt"
	"sort"
	"strings"
)

// A Graph is the checked dependency graph of a workspace's rules.
type Graph struct {
	rules    map[string]Rule
	order    []string        // declaration order
	profiles map[string]bool // enabled profiles (EnableProfiles)
}

// NewGraph checks that every dep names a rule and that there is no cycle.
// Rule names are already unique (Evaluation.AddRule checks them).
func NewGraph(rules []Rule) (*Graph, error) {
	g := &Graph{rules: make(map[string]Rule, len(rules))}
	for _, r := range rules {
		g.rules[r.Info().Name] = r
		g.order = append(g.order, r.Info().Name)
	}
	for _, r := range rules {
		if l, ok := r.(Linker); ok {
			if err := l.Link(g.Rule); err != nil {
				return nil, Errorf(r.Info().Pos, "%s %q: %v", r.Info().Kind, r.Info().Name, err)
			}
		}
	}
	for _, r := range rules {
		info := r.Info()
		for _, d := range info.Deps {
			if _, ok := g.rules[d]; !ok {
				msg := fmt.Sprintf("%s %q: unknown dep %q", info.Kind, info.Name, d)
				if s := Suggest(d, g.order); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				} else {
					msg += "; `ferry graph` lists the rules"
				}
				return nil, Errorf(info.Pos, "%s", msg)
			}
			if di := g.rules[d].Info(); di.Serve {
				return nil, Errorf(info.Pos, "%s %q: dep %q is a serve task (declared at %s), which runs until it is stopped, so nothing can wait for it; remove it from deps and name both rules to `ferry watch`", info.Kind, info.Name, d, di.Pos)
			}
		}
	}
	owner := map[string]Rule{}
	for _, r := range rules {
		for _, out := range r.Outputs() {
			if prev, ok := owner[out]; ok {
				p, info := prev.Info(), r.Info()
				return nil, Errorf(info.Pos, "%s %q: output %s is already declared by %s %q at %s; each file has one rule that writes it", info.Kind, info.Name, out, p.Kind, p.Name, p.Pos)
			}
			owner[out] = r
		}
	}
	if err := g.checkCycles(); err != nil {
		return nil, err
	}
	return g, nil
}

// Rule returns the named rule, or nil.
func (g *Graph) Rule(name string) Rule { return g.rules[name] }

// Names returns every rule name in declaration order.
func (g *Graph) Names() []string { return g.order }

func (g *Graph) checkCycles() error {
	const (
		unseen = iota
		active
		done
	)
	color := map[string]int{}
	var stack []string
	var visit func(string) error
	visit = func(n string) error {
		color[n] = active
		stack = append(stack, n)
		for _, d := range g.rules[n].Info().Deps {
			switch color[d] {
			case active:
				i := indexOf(stack, d)
				path := append(append([]string{}, stack[i:]...), d)
				r := g.rules[d].Info()
				return Errorf(r.Pos, "dependency cycle: %s; remove one of these deps", strings.Join(path, " → "))
			case unseen:
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = done
		return nil
	}
	for _, n := range g.order {
		if color[n] == unseen {
			if err := visit(n); err != nil {
				return err
			}
		}
	}
	return nil
}

func indexOf(xs []string, x string) int {
	for i, s := range xs {
		if s == x {
			return i
		}
	}
	return -1
}

// DefaultNames returns, in declaration order, the rules that run when no
// rule is named: the build rules whose profiles (if any) are enabled.
func (g *Graph) DefaultNames() []string {
	var names []string
	for _, n := range g.order {
		if g.inDefaultSet(g.rules[n].Info()) {
			names = append(names, n)
		}
	}
	return names
}

// Select returns the named rules and all their transitive deps, deps first.
// With no names it selects every default (build) rule, leaving out rules
// whose profiles are not enabled.
func (g *Graph) Select(names []string) ([]string, error) {
	if len(names) == 0 {
		names = g.DefaultNames()
	}
	for _, n := range names {
		if _, ok := g.rules[n]; !ok {
			msg := fmt.Sprintf("no rule named %q", n)
			if s := Suggest(n, g.order); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += "; `ferry graph` lists the rules"
			}
			return nil, fmt.Errorf("%s", msg)
		}
	}
	var out []string
	seen := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		deps := append([]string{}, g.rules[n].Info().Deps...)
		sort.Strings(deps)
		for _, d := range deps {
			visit(d)
		}
		out = append(out, n)
	}
	for _, n := range names {
		visit(n)
	}
	return out, nil
}

// Dependents returns, for each rule, the rules that depend on it directly.
func (g *Graph) Dependents() map[string][]string {
	out := map[string][]string{}
	for _, n := range g.order {
		for _, d := range g.rules[n].Info().Deps {
			out[d] = append(out[d], n)
		}
	}
	return out
}
