package engine

import (
	"fmt"
	"reflect"

	"go.starlark.net/starlark"
)

// A Plugin contributes builtins for one domain. Plugins hold no
// per-evaluation state: a plugin that declares something for later (the
// environments, the pipelines) implements StatePlugin, and its builtins
// record into the state of the evaluation they are called in (StateOf).
//
// The lifecycle of a plugin in one evaluation, as Session.Load runs it:
//
//  1. NewState (StatePlugin), once, before the main file is executed;
//  2. its builtins, called by ferry.star and the modules it loads: they
//     declare rules (Evaluation.AddRule) and record into their state;
//  3. CheckGraph (GraphChecker), of the plugin and of its state, once the
//     rules form a graph: a check that needs every declaration, such as a
//     pipeline naming a rule declared further down.
//
// The state then stays reachable from the evaluation (EvaluationState), so
// a command reads what the domain declared without holding it itself.
type Plugin interface {
	Builtins() []*Builtin
}

// A StatePlugin keeps state for each evaluation: what its builtins declare
// beyond rules.
type StatePlugin interface {
	Plugin
	// NewState returns the empty state of one evaluation, a pointer whose
	// type no other plugin's state has. Builtins reach it with StateOf;
	// they may run on several threads at once, so it guards itself.
	NewState() any
}

// A GraphChecker checks the rules of an evaluation once they form a graph.
// A Plugin, or the state a StatePlugin made, may implement it.
type GraphChecker interface {
	// CheckGraph returns an error, positioned at the declaration at fault,
	// when what was declared does not fit g.
	CheckGraph(g *Graph) error
}

// newStates makes the state of each StatePlugin for ev.
func (ev *Evaluation) newStates() error {
	ev.states = map[reflect.Type]any{}
	ev.stateOf = make([]any, len(ev.opts.Plugins))
	for i, p := range ev.opts.Plugins {
		sp, ok := p.(StatePlugin)
		if !ok {
			continue
		}
		st := sp.NewState()
		t := reflect.TypeOf(st)
		if _, dup := ev.states[t]; dup {
			return fmt.Errorf("two plugins keep a state of type %s: each state type belongs to one plugin", t)
		}
		ev.states[t], ev.stateOf[i] = st, st
	}
	return nil
}

// StateOf returns the state of type T that a StatePlugin made for the
// evaluation the thread belongs to, or T's zero value when there is none
// (the thread is not an evaluation's, or no plugin of it keeps a T).
func StateOf[T any](thread *starlark.Thread) T {
	return EvaluationState[T](EvaluationOf(thread))
}

// EvaluationState returns the state of type T that a StatePlugin made for
// ev, or T's zero value when there is none (ev is nil, or no plugin keeps a
// T).
func EvaluationState[T any](ev *Evaluation) T {
	var zero T
	if ev == nil {
		return zero
	}
	st, _ := ev.states[reflect.TypeFor[T]()].(T)
	return st
}

// CheckGraph runs the GraphChecker of each plugin, then of its state, on
// g, the graph of ev's rules, in the order of the plugins, and returns the
// first error.
func (ev *Evaluation) CheckGraph(g *Graph) error {
	for i, p := range ev.opts.Plugins {
		for _, x := range []any{p, ev.stateOf[i]} {
			if c, ok := x.(GraphChecker); ok {
				if err := c.CheckGraph(g); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
