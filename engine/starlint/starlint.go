// Package starlint finds mistakes in Starlark files that evaluation may
// not reach: names that are not defined, loads and local variables that
// are never used, keyword arguments that a ferry builtin does not take,
// and builtins hidden by a name of the file's own. It reads files only,
// so it checks modules that ferry.star does not load, and test files.
package starlint

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/engine"
)

// The ids of the findings, as `ferry lint` reports them (docs/security.md
// lists them with the other rules).
const (
	UndefinedName   = "FERRY-STAR001"
	UnusedLoad      = "FERRY-STAR002"
	UnusedVariable  = "FERRY-STAR003"
	UnknownKeyword  = "FERRY-STAR004"
	ShadowedBuiltin = "FERRY-STAR005"
	SyntaxError     = "FERRY-STAR006"
	UnknownModule   = "FERRY-STAR007"
)

// A Finding is one mistake at one place.
type Finding struct {
	Rule    string
	Pos     syntax.Position
	Message string
}

// TestNames are the names predeclared in test files (*_test.star) only.
var TestNames = []string{"assert", "evaluate"}

// A Checker checks files against the builtins of an evaluation.
type Checker struct {
	builtins    map[string]*engine.Builtin // by name, "os.env" for a member
	predeclared map[string]bool            // what every file sees, beyond Starlark's own
	// Deps returns the module repositories that the file name may load
	// with load("@alias//..."); a nil func, or a nil result, leaves its
	// loads of modules unchecked. @std (ferry's standard library) is
	// always loadable.
	Deps func(name string) *Deps
}

// Deps are the shared modules a file may load: those of the ferry.mod
// that governs it.
type Deps struct {
	ModFile string          // that ferry.mod as messages show it; "" when there is none
	Aliases map[string]bool // the aliases it lists (and a module's own)
}

// New returns a Checker for files that see builtins (and json, math and
// time, which every ferry file sees).
func New(builtins []*engine.Builtin) *Checker {
	c := &Checker{builtins: map[string]*engine.Builtin{}, predeclared: map[string]bool{"json": true, "math": true, "time": true}}
	for _, b := range builtins {
		c.builtins[b.Name] = b
		mod, _, _ := strings.Cut(b.Name, ".")
		c.predeclared[mod] = true
	}
	return c
}

// File checks the Starlark file name (as positions show it) with source
// src; test says whether it is a test file, which sees TestNames too.
func (c *Checker) File(name string, src []byte, test bool) []Finding {
	f, err := engine.FileOptions.Parse(name, src, syntax.RetainComments)
	if err != nil {
		pe := engine.PositionError(err)
		if e, ok := pe.(*engine.Error); ok {
			return []Finding{{Rule: SyntaxError, Pos: e.Pos, Message: e.Msg}}
		}
		return []Finding{{Rule: SyntaxError, Pos: syntax.MakePosition(&name, 1, 1), Message: err.Error()}}
	}
	isPredeclared := func(n string) bool { return c.predeclared[n] || test && (n == "assert" || n == "evaluate") }
	isUniversal := func(n string) bool { return starlark.Universe.Has(n) }
	fc := &fileCheck{c: c, isBuiltin: func(n string) bool { return isPredeclared(n) || isUniversal(n) }, used: map[*syntax.Ident]bool{}, defs: map[*syntax.Ident]bool{}}
	if err := resolve.File(f, isPredeclared, isUniversal); err != nil {
		if list, ok := err.(resolve.ErrorList); ok {
			for _, e := range list {
				name, ok := strings.CutPrefix(e.Msg, "undefined: ")
				if !ok {
					continue
				}
				msg := "undefined: " + name
				if s := engine.Suggest(name, c.known(f, test)); s != "" && !strings.Contains(name, " ") {
					msg += fmt.Sprintf(" (did you mean %s?)", s)
				}
				fc.add(UndefinedName, e.Pos, "%s; define it, load it, or fix its spelling", msg)
			}
		}
	}
	fc.stmts(f.Stmts, false)
	if c.Deps != nil {
		if deps := c.Deps(name); deps != nil {
			fc.modules(f, deps)
		}
	}
	// A name is used where it appears other than where it is bound.
	syntax.Walk(f, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && id.Binding != nil && !fc.defs[id] {
			// A closure's use of an enclosing function's variable is a
			// binding of its own (Free), with the same First.
			if b := id.Binding.(*resolve.Binding); b.First != nil {
				fc.used[b.First] = true
			}
		}
		if call, ok := n.(*syntax.CallExpr); ok {
			fc.call(call)
		}
		return true
	})
	fc.unused()
	sort.SliceStable(fc.out, func(i, j int) bool {
		a, b := fc.out[i].Pos, fc.out[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return fc.out
}

// known returns the names that f can use: builtins, and its own globals
// and loads.
func (c *Checker) known(f *syntax.File, test bool) []string {
	var out []string
	for n := range c.predeclared {
		out = append(out, n)
	}
	if test {
		out = append(out, TestNames...)
	}
	for n := range starlark.Universe {
		out = append(out, n)
	}
	if m, ok := f.Module.(*resolve.Module); ok {
		for _, b := range append(m.Globals, m.Locals...) {
			if b.First != nil {
				out = append(out, b.First.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// fileCheck is the check of one file.
type fileCheck struct {
	c         *Checker
	isBuiltin func(string) bool
	out       []Finding

	defs     map[*syntax.Ident]bool // idents where a name is bound, not used
	loads    []*syntax.Ident        // names bound by load
	assigned []*syntax.Ident        // names bound by = inside functions
	used     map[*syntax.Ident]bool // bindings used somewhere, by their first ident
}

func (fc *fileCheck) add(rule string, pos syntax.Position, format string, args ...any) {
	fc.out = append(fc.out, Finding{Rule: rule, Pos: pos, Message: fmt.Sprintf(format, args...)})
}

// stmts records where stmts bind names; inFunc says whether they are the
// body of a function.
func (fc *fileCheck) stmts(stmts []syntax.Stmt, inFunc bool) {
	for _, s := range stmts {
		switch s := s.(type) {
		case *syntax.LoadStmt:
			for _, id := range s.To {
				fc.defs[id] = true
				fc.loads = append(fc.loads, id)
				fc.shadow(id, "load")
			}
		case *syntax.AssignStmt:
			if s.Op == syntax.EQ {
				for _, id := range targets(s.LHS) {
					fc.defs[id] = true
					if inFunc {
						fc.assigned = append(fc.assigned, id)
					}
					fc.shadow(id, "assignment")
				}
			}
			fc.exprs(s.RHS)
		case *syntax.DefStmt:
			fc.defs[s.Name] = true
			fc.shadow(s.Name, "def")
			fc.params(s.Params)
			fc.stmts(s.Body, true)
		case *syntax.ForStmt:
			for _, id := range targets(s.Vars) {
				fc.defs[id] = true
				fc.shadow(id, "for loop")
			}
			fc.stmts(s.Body, inFunc)
		case *syntax.WhileStmt:
			fc.stmts(s.Body, inFunc)
		case *syntax.IfStmt:
			fc.stmts(s.True, inFunc)
			fc.stmts(s.False, inFunc)
		}
	}
	for _, s := range stmts {
		fc.exprs(s)
	}
}

// exprs records the names that lambdas and comprehensions in n bind.
func (fc *fileCheck) exprs(n syntax.Node) {
	syntax.Walk(n, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.LambdaExpr:
			fc.params(n.Params)
		case *syntax.ForClause:
			for _, id := range targets(n.Vars) {
				fc.defs[id] = true
			}
		case *syntax.DefStmt:
			return false // done by stmts
		}
		return true
	})
}

func (fc *fileCheck) params(params []syntax.Expr) {
	for _, p := range params {
		switch p := p.(type) {
		case *syntax.Ident:
			fc.defs[p] = true
		case *syntax.BinaryExpr:
			if id, ok := p.X.(*syntax.Ident); ok {
				fc.defs[id] = true
			}
		case *syntax.UnaryExpr:
			if id, ok := p.X.(*syntax.Ident); ok {
				fc.defs[id] = true
			}
		}
	}
}

// targets returns the names that assigning to e binds.
func targets(e syntax.Expr) []*syntax.Ident {
	switch e := e.(type) {
	case *syntax.Ident:
		return []*syntax.Ident{e}
	case *syntax.ParenExpr:
		return targets(e.X)
	case *syntax.TupleExpr:
		var out []*syntax.Ident
		for _, x := range e.List {
			out = append(out, targets(x)...)
		}
		return out
	case *syntax.ListExpr:
		var out []*syntax.Ident
		for _, x := range e.List {
			out = append(out, targets(x)...)
		}
		return out
	}
	return nil
}

// shadow reports a name bound by how that hides a builtin, once per binding.
func (fc *fileCheck) shadow(id *syntax.Ident, how string) {
	b, _ := id.Binding.(*resolve.Binding)
	if b == nil || b.First != id || !fc.isBuiltin(id.Name) {
		return
	}
	fc.add(ShadowedBuiltin, id.NamePos, "%s %q hides the builtin %s; rename it, or the builtin cannot be used here", how, id.Name, id.Name)
}

// call checks the keyword arguments of a call of a ferry builtin.
func (fc *fileCheck) call(call *syntax.CallExpr) {
	name := ""
	switch fn := call.Fn.(type) {
	case *syntax.Ident:
		if b, _ := fn.Binding.(*resolve.Binding); b != nil && b.Scope == resolve.Predeclared {
			name = fn.Name
		}
	case *syntax.DotExpr:
		if x, ok := fn.X.(*syntax.Ident); ok {
			if b, _ := x.Binding.(*resolve.Binding); b != nil && b.Scope == resolve.Predeclared {
				name = x.Name + "." + fn.Name.Name
			}
		}
	}
	bi := fc.c.builtins[name]
	if bi == nil || bi.Constant != nil {
		return
	}
	var names []string
	for _, p := range bi.Params {
		names = append(names, p.Name)
	}
	for _, a := range call.Args {
		kw, ok := a.(*syntax.BinaryExpr)
		if !ok || kw.Op != syntax.EQ {
			continue
		}
		id, ok := kw.X.(*syntax.Ident)
		if !ok || contains(names, id.Name) {
			continue
		}
		msg := fmt.Sprintf("%s has no parameter %q", name, id.Name)
		if s := engine.Suggest(id.Name, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else {
			msg += "; `ferry doc " + name + "` lists its parameters"
		}
		fc.add(UnknownKeyword, id.NamePos, "%s", msg)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// modules reports the loads of a module repository that deps does not
// list, which evaluation refuses.
func (fc *fileCheck) modules(f *syntax.File, deps *Deps) {
	for _, s := range f.Stmts {
		ld, ok := s.(*syntax.LoadStmt)
		if !ok {
			continue
		}
		spec, _ := ld.Module.Value.(string)
		l, err := engine.ResolveLabel(engine.Label{}, spec)
		if err != nil || l.Repo == "" || l.Repo == "std" || deps.Aliases[l.Repo] {
			continue
		}
		where := "the workspace has no ferry.mod"
		if deps.ModFile != "" {
			where = "it is not a dependency in " + deps.ModFile
		}
		msg := fmt.Sprintf("load of @%s: %s", l.Repo, where)
		var known []string
		for a := range deps.Aliases {
			known = append(known, a)
		}
		sort.Strings(known)
		if s := engine.Suggest(l.Repo, known); s != "" {
			msg += fmt.Sprintf(" (did you mean @%s?)", s)
		}
		fc.add(UnknownModule, ld.Module.TokenPos, "%s; add it with `ferry mod add %s REPOSITORY@VERSION`", msg, l.Repo)
	}
}

// unused reports the loads and the local variables never used. Names
// that start with "_" are meant to be unused.
func (fc *fileCheck) unused() {
	for _, id := range fc.loads {
		if b, _ := id.Binding.(*resolve.Binding); b != nil && b.First != nil && !fc.used[b.First] && !strings.HasPrefix(id.Name, "_") {
			fc.add(UnusedLoad, id.NamePos, "%s is loaded but never used; remove it from the load", id.Name)
		}
	}
	seen := map[*resolve.Binding]bool{}
	for _, id := range fc.assigned {
		b, _ := id.Binding.(*resolve.Binding)
		if b == nil || b.First == nil || seen[b] || fc.used[b.First] || strings.HasPrefix(id.Name, "_") || (b.Scope != resolve.Local && b.Scope != resolve.Cell) {
			continue
		}
		seen[b] = true
		fc.add(UnusedVariable, b.First.NamePos, "local variable %s is assigned but never used; remove it, or name it _%s", id.Name, id.Name)
	}
}
