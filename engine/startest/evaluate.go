package startest

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

// evaluateBuiltin is evaluate() in the test file at rel (workspace-relative):
// it evaluates a workspace, or a snippet as if it were a file beside the
// test, in plan mode, and returns what it declared.
func (r *runner) evaluateBuiltin(rel string) *starlark.Builtin {
	return starlark.NewBuiltin("evaluate", func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var src, dir string
		var flags *starlark.Dict
		if err := starlark.UnpackArgs("evaluate", args, kwargs, "src?", &src, "dir?", &dir, "flags?", &flags); err != nil {
			return nil, err
		}
		if (src == "") == (dir == "") {
			return nil, fmt.Errorf("evaluate: give either src (Starlark, evaluated as a file beside %s) or dir (a folder holding a ferry.star, such as \"testdata/ws\")", rel)
		}
		flagMap := map[string]string{}
		if flags != nil {
			for _, kv := range flags.Items() {
				k, ok1 := kv[0].(starlark.String)
				v, ok2 := kv[1].(starlark.String)
				if !ok1 || !ok2 {
					return nil, fmt.Errorf("evaluate: flags: want a dict of strings, got a %s: %s", kv[0].Type(), kv[1].Type())
				}
				flagMap[string(k)] = string(v)
			}
		}
		var ws *engine.Workspace
		var mainSrc []byte
		if src != "" {
			mainSrc = []byte(src)
			ws = r.workspace(r.o.Root, filepath.Join(r.o.Root, filepath.FromSlash(rel)+snippetSuffix))
		} else {
			abs, err := r.folder(rel, dir)
			if err != nil {
				return nil, err
			}
			ws = r.workspace(abs, filepath.Join(abs, engine.FileName))
		}
		mods, err := r.modulesOf(ws)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		ctx := r.ctx
		res, err := engine.Evaluate(ctx, engine.Options{
			Workspace:   ws,
			Plugins:     r.o.Plugins(),
			Sources:     r.o.Sources,
			Modules:     mods,
			Flags:       flagMap,
			Events:      r.o.Events,
			MainSrc:     mainSrc,
			RecordAttrs: true,
		})
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		if extra := res.Eval.UndeclaredFlags(); len(extra) > 0 {
			return nil, fmt.Errorf("evaluate: unknown flag %q: no config.flag(%q) declares it", extra[0], extra[0])
		}
		g, err := engine.NewGraph(res.Rules)
		if err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		if err := res.Eval.CheckGraph(g); err != nil {
			return nil, fmt.Errorf("evaluate: %w", err)
		}
		return newPlan(ctx, ws, res, g, r.o.Events), nil
	})
}

// snippetSuffix names the file that evaluate(src = ...) evaluates, in
// positions: the test file's name with it, such as lib/go_test.star<src>.
const snippetSuffix = "<src>"

// folder resolves dir, as given to evaluate() in the test file rel: //path
// from the workspace root, otherwise relative to the test file's folder.
func (r *runner) folder(rel, dir string) (string, error) {
	p := path.Join(path.Dir(rel), dir)
	if strings.HasPrefix(dir, "//") {
		p = path.Clean(dir[2:])
	}
	if p == ".." || strings.HasPrefix(p, "../") || path.IsAbs(p) {
		return "", fmt.Errorf("evaluate: dir %q leaves the workspace", dir)
	}
	abs := filepath.Join(r.o.Root, filepath.FromSlash(p))
	if _, err := os.Stat(filepath.Join(abs, engine.FileName)); err != nil {
		return "", fmt.Errorf("evaluate: dir %q: no %s in %s; give a folder that holds a workspace", dir, engine.FileName, abs)
	}
	// A link on the way may lead out of the workspace, as ../ would.
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("evaluate: dir %q: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(r.o.Root)
	if err != nil {
		return "", fmt.Errorf("evaluate: %w", err)
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("evaluate: dir %q leaves the workspace through a link (to %s); give a folder of the workspace", dir, real)
	}
	return abs, nil
}

// A plan is what evaluate() returns: the rules a workspace declares.
type plan struct {
	ctx    context.Context
	ws     *engine.Workspace
	res    *engine.Result
	graph  *engine.Graph
	events *engine.Bus
	rules  []*ruleValue

	once sync.Once
	keys map[string]engine.PlanItem // by rule name, once asked for
}

func newPlan(ctx context.Context, ws *engine.Workspace, res *engine.Result, g *engine.Graph, events *engine.Bus) *plan {
	p := &plan{ctx: ctx, ws: ws, res: res, graph: g, events: events}
	for _, r := range res.Rules {
		p.rules = append(p.rules, &ruleValue{plan: p, rule: r})
	}
	return p
}

var (
	_ starlark.HasAttrs = (*plan)(nil)
	_ starlark.HasAttrs = (*ruleValue)(nil)
)

func (p *plan) String() string        { return fmt.Sprintf("<plan of %d rules>", len(p.rules)) }
func (p *plan) Type() string          { return "plan" }
func (p *plan) Freeze()               {}
func (p *plan) Truth() starlark.Bool  { return true }
func (p *plan) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: plan") }

func (p *plan) AttrNames() []string { return []string{"names", "rule", "rules"} }

func (p *plan) Attr(name string) (starlark.Value, error) {
	switch name {
	case "rules":
		l := make([]starlark.Value, len(p.rules))
		for i, r := range p.rules {
			l[i] = r
		}
		return starlark.NewList(l), nil
	case "names":
		return stringList(p.names()), nil
	case "rule":
		return starlark.NewBuiltin("rule", func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var n string
			if err := starlark.UnpackPositionalArgs("rule", args, kwargs, 1, &n); err != nil {
				return nil, err
			}
			for _, r := range p.rules {
				if r.rule.Info().Name == n {
					return r, nil
				}
			}
			msg := fmt.Sprintf("plan.rule: no rule named %q", n)
			if s := engine.Suggest(n, p.names()); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += fmt.Sprintf("; the rules are %s", strings.Join(p.names(), ", "))
			}
			return nil, fmt.Errorf("%s", msg)
		}), nil
	}
	return nil, nil
}

func (p *plan) names() []string {
	out := make([]string, len(p.rules))
	for i, r := range p.rules {
		out[i] = r.rule.Info().Name
	}
	return out
}

// planItems plans every rule once, as `ferry plan` would with the state of
// the workspace evaluated: the keys come from it.
func (p *plan) planItems() map[string]engine.PlanItem {
	p.once.Do(func() {
		p.keys = map[string]engine.PlanItem{}
		st, _ := engine.LoadState(p.ws, false)
		items, err := engine.NewEngine(p.ws, p.graph, st, p.events).Plan(p.ctx, p.graph.Names(), false)
		if err != nil {
			for _, n := range p.graph.Names() {
				p.keys[n] = engine.PlanItem{Rule: n, Err: err.Error()}
			}
			return
		}
		for _, it := range items {
			p.keys[it.Rule] = it
		}
	})
	return p.keys
}

// A ruleValue is one rule of a plan, as a test sees it.
type ruleValue struct {
	plan *plan
	rule engine.Rule
}

func (r *ruleValue) String() string {
	i := r.rule.Info()
	return fmt.Sprintf("<%s %q>", i.Kind, i.Name)
}
func (r *ruleValue) Type() string          { return "rule" }
func (r *ruleValue) Freeze()               {}
func (r *ruleValue) Truth() starlark.Bool  { return true }
func (r *ruleValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: rule") }

var ruleAttrs = []string{"attrs", "default", "deps", "doc", "inputs", "key", "key_error", "kind", "name", "outputs", "pos", "profiles"}

func (r *ruleValue) AttrNames() []string { return ruleAttrs }

func (r *ruleValue) Attr(name string) (starlark.Value, error) {
	i := r.rule.Info()
	switch name {
	case "kind":
		return starlark.String(i.Kind), nil
	case "name":
		return starlark.String(i.Name), nil
	case "doc":
		return starlark.String(i.Doc), nil
	case "pos":
		return starlark.String(i.Pos.String()), nil
	case "deps":
		return stringList(i.Deps), nil
	case "profiles":
		return stringList(i.Profiles), nil
	case "default":
		return starlark.Bool(i.Default), nil
	case "outputs":
		return stringList(r.rule.Outputs()), nil
	case "inputs":
		in, err := r.rule.Inputs(r.plan.ctx)
		if err != nil {
			return nil, fmt.Errorf("%s %q: inputs: %w", i.Kind, i.Name, err)
		}
		return stringList(in), nil
	case "attrs":
		d := starlark.NewDict(0)
		attrs := r.plan.res.Eval.Attrs(i.Name)
		for _, k := range sortedKeys(attrs) {
			d.SetKey(starlark.String(k), attrs[k])
		}
		d.Freeze()
		return d, nil
	case "key":
		it := r.plan.planItems()[i.Name]
		if it.Err != "" || it.Key.IsZero() {
			return starlark.None, nil
		}
		return starlark.String(it.Key.String()), nil
	case "key_error":
		it := r.plan.planItems()[i.Name]
		if it.Err == "" && it.Key.IsZero() {
			return starlark.String("no key: an input is made by a dep that has not run"), nil
		}
		return starlark.String(it.Err), nil
	}
	return nil, nil
}

func sortedKeys(d starlark.StringDict) []string {
	out := make([]string, 0, len(d))
	for k := range d {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// stringList returns ss as a frozen Starlark list.
func stringList(ss []string) *starlark.List {
	l := make([]starlark.Value, len(ss))
	for i, s := range ss {
		l[i] = starlark.String(s)
	}
	list := starlark.NewList(l)
	list.Freeze()
	return list
}
