package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"go.starlark.net/starlark"
)

// tags is the state of tagPlugin: the names given to tag(), which must
// name rules.
type tags struct {
	mu    sync.Mutex
	names []string
}

func (t *tags) CheckGraph(g *Graph) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range t.names {
		if g.Rule(n) == nil {
			return fmt.Errorf("tag %q names no rule", n)
		}
	}
	return nil
}

// tagPlugin declares tag(name), which records into its state.
type tagPlugin struct{}

func (tagPlugin) NewState() any { return &tags{} }

func (tagPlugin) Builtins() []*Builtin {
	return []*Builtin{{
		Name:   "tag",
		Params: []Param{{Name: "name", Type: String, Required: true, Positional: true}},
		Impl: func(thread *starlark.Thread, c *Call) (starlark.Value, error) {
			t := StateOf[*tags](thread)
			t.mu.Lock()
			t.names = append(t.names, c.String("name"))
			t.mu.Unlock()
			return starlark.None, nil
		},
	}}
}

// TestPluginState checks that each evaluation gets its own state, that
// builtins reach it from the thread and commands from the evaluation, and
// that the state checks the graph.
func TestPluginState(t *testing.T) {
	eval := func(src string) (*Result, error) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{FileName: src})
		return Evaluate(context.Background(), Options{
			Workspace: &Workspace{Root: dir, File: filepath.Join(dir, FileName)},
			Plugins:   []Plugin{testPlugin{}, tagPlugin{}},
		})
	}
	a, err := eval("rule('a')\ntag('a')\n")
	if err != nil {
		t.Fatal(err)
	}
	b, err := eval("rule('b')\ntag('c')\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := EvaluationState[*tags](a.Eval).names; !slices.Equal(got, []string{"a"}) {
		t.Errorf("first evaluation: %v", got)
	}
	if got := EvaluationState[*tags](b.Eval).names; !slices.Equal(got, []string{"c"}) {
		t.Errorf("second evaluation: %v", got)
	}
	if EvaluationState[*Workspace](a.Eval) != nil || EvaluationState[*tags](nil) != nil {
		t.Error("a state no plugin keeps is not nil")
	}
	for _, c := range []struct {
		res  *Result
		want string
	}{{a, ""}, {b, `tag "c" names no rule`}} {
		g, err := NewGraph(c.res.Rules)
		if err != nil {
			t.Fatal(err)
		}
		err = c.res.Eval.CheckGraph(g)
		if got := fmt.Sprint(err); c.want == "" && err != nil || c.want != "" && got != c.want {
			t.Errorf("CheckGraph: %v, want %q", err, c.want)
		}
	}
}

func TestPluginStatesOfOneType(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{FileName: ""})
	_, err := Evaluate(context.Background(), Options{
		Workspace: &Workspace{Root: dir, File: filepath.Join(dir, FileName)},
		Plugins:   []Plugin{tagPlugin{}, tagPlugin{}},
	})
	wantErr(t, err, "two plugins keep a state of type *engine.tags")
}
