// Package pipeline provides pipeline(), which declares the stages that
// `ferry ci` runs in order, checks them against the workspace's rules, and
// runs them (CI): the security checks first, then each stage's rules and
// services, recorded as a JUnit report.
package pipeline

import (
	"fmt"
	"strings"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/engine"
)

// A Pipeline is a named list of stages; each stage names rules that run in
// parallel, and the stages run one after the other.
type Pipeline struct {
	Name   string
	Stages [][]string
	Doc    string
	Pos    syntax.Position // where it is declared
}

// Pipelines collects the pipeline() declarations of one evaluation: the
// Plugin's state (engine.EvaluationState[*Pipelines] reads it), checked
// against the graph once evaluation is done.
type Pipelines struct {
	mu   sync.Mutex
	list []*Pipeline
}

// List returns the pipelines in declaration order.
func (p *Pipelines) List() []*Pipeline {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Pipeline{}, p.list...)
}

// Names returns the pipelines' names in declaration order.
func (p *Pipelines) Names() []string {
	var names []string
	for _, pl := range p.List() {
		names = append(names, pl.Name)
	}
	return names
}

// Find returns the pipeline named name, or nil.
func (p *Pipelines) Find(name string) *Pipeline {
	for _, pl := range p.List() {
		if pl.Name == name {
			return pl
		}
	}
	return nil
}

// Select returns the pipeline `ferry ci` runs for names (at most one): the
// one named, the only one declared when none is named, or, when none is
// declared, the default pipeline: one stage of every build rule of g.
func (p *Pipelines) Select(names []string, g *engine.Graph) (*Pipeline, error) {
	declared := p.List()
	var list []string
	for _, pl := range declared {
		list = append(list, fmt.Sprintf("%s (%s)", pl.Name, pl.Pos))
	}
	switch {
	case len(names) > 1:
		return nil, fmt.Errorf("ferry ci runs one pipeline, got %d names (%s); config flags go after --", len(names), strings.Join(names, " "))
	case len(names) == 1:
		if pl := p.Find(names[0]); pl != nil {
			return pl, nil
		}
		if r := g.Rule(names[0]); r != nil {
			return nil, fmt.Errorf("%q is a %s, not a pipeline: ferry ci runs a pipeline(), `ferry run %s` runs one rule", names[0], r.Info().Kind, names[0])
		}
		if len(declared) == 0 {
			return nil, fmt.Errorf("ferry.star declares no pipeline %q; declare it, as in pipeline(%q, stages = [[\"test\"]]), or run `ferry ci` with no name for the default pipeline (every build rule, in one stage)", names[0], names[0])
		}
		msg := fmt.Sprintf("ferry.star declares no pipeline %q", names[0])
		if s := engine.Suggest(names[0], p.Names()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, fmt.Errorf("%s; the pipelines are %s", msg, strings.Join(list, ", "))
	case len(declared) == 1:
		return declared[0], nil
	case len(declared) > 1:
		return nil, fmt.Errorf("ferry.star declares %d pipelines; name the one to run, as in `ferry ci %s`: %s", len(declared), declared[0].Name, strings.Join(list, ", "))
	}
	pl := &Pipeline{Name: "default"}
	if d := g.DefaultNames(); len(d) > 0 {
		pl.Stages = [][]string{d}
	}
	return pl, nil
}

func (p *Pipelines) add(pl *Pipeline) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, prev := range p.list {
		if prev.Name == pl.Name {
			return fmt.Errorf("pipeline %q is declared twice: it is already declared at %s; rename one or merge their stages", pl.Name, prev.Pos)
		}
	}
	p.list = append(p.list, pl)
	return nil
}

// CheckGraph reports, at the position of the pipeline() call, a stage that
// names no rule of g (with a suggestion) or names a serve task, which
// never finishes, so no later stage could start.
func (p *Pipelines) CheckGraph(g *engine.Graph) error {
	for _, pl := range p.List() {
		for i, stage := range pl.Stages {
			for _, name := range stage {
				r := g.Rule(name)
				if r == nil {
					msg := fmt.Sprintf("pipeline %q: stage %d names no rule %q", pl.Name, i+1, name)
					if s := engine.Suggest(name, g.Names()); s != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", s)
					} else {
						msg += "; `ferry graph` lists the rules"
					}
					return engine.Errorf(pl.Pos, "%s", msg)
				}
				if info := r.Info(); info.Serve {
					return engine.Errorf(pl.Pos, "pipeline %q: stage %d names %q, a serve task (declared at %s) that runs until it is stopped, so the pipeline could never go on; "+
						"leave it out, and put the tasks that need the server in one task that starts and stops it", pl.Name, i+1, name, info.Pos)
				}
			}
		}
	}
	return nil
}

// Plugin declares pipeline(), recording into the evaluation's Pipelines.
type Plugin struct{}

// NewState returns the Pipelines of one evaluation.
func (Plugin) NewState() any { return &Pipelines{} }

// Builtins returns pipeline.
func (p Plugin) Builtins() []*engine.Builtin {
	return []*engine.Builtin{{
		Name: "pipeline",
		// A pipeline chooses which of the workspace's rules ferry ci runs,
		// manual ones included: a shared module needs to be trusted with
		// running commands to choose that.
		Permission: "commands",
		Doc: "Declares a pipeline for `ferry ci`: stages that run one after the other, each a list of rules that run in parallel, with their deps, " +
			"as `ferry run` runs them; services and jobs in a stage are deployed as `ferry up --wait` deploys them, and must be healthy before the next stage starts. " +
			"A failed stage stops the pipeline unless `ferry ci --keep-going`. Serve tasks cannot be in a stage; manual rules can. See [CI](ci.md).",
		Params: []engine.Param{
			{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "The name given to `ferry ci NAME`."},
			{Name: "stages", Type: stagesType{}, Required: true, Doc: "The stages in order: a list of lists of rule names, such as `[[\"lint\", \"test\"], [\"api-image\"], [\"api\"]]`."},
			{Name: "doc", Type: engine.String, Doc: "What it is for."},
		},
		Returns: "the name.",
		Impl:    p.declare,
	}}
}

func (p Plugin) declare(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
	if _, err := engine.Declaring(thread, c); err != nil {
		return nil, err
	}
	pl := &Pipeline{Name: c.String("name"), Stages: c.Value("stages").([][]string), Doc: c.String("doc"), Pos: c.Pos}
	if pl.Name == "" || strings.ContainsAny(pl.Name, " \t\n,") {
		return nil, c.Errorf("name must be non-empty, with no spaces or commas")
	}
	if len(pl.Stages) == 0 {
		return nil, c.Errorf("stages is empty; give at least one stage, as in stages = [[\"test\"]]")
	}
	where := map[string]int{}
	for i, stage := range pl.Stages {
		if len(stage) == 0 {
			return nil, c.Errorf("stage %d is empty; name the rules it runs, or remove it", i+1)
		}
		for _, name := range stage {
			if j, ok := where[name]; ok {
				return nil, c.Errorf("rule %q is in stage %d and again in stage %d; a rule runs once per pipeline, so keep it in one stage", name, j+1, i+1)
			}
			where[name] = i
		}
	}
	if err := engine.StateOf[*Pipelines](thread).add(pl); err != nil {
		return nil, err
	}
	return starlark.String(pl.Name), nil
}

// stagesType is a list of lists of strings.
type stagesType struct{}

func (stagesType) Describe() string { return "list of lists of rule names" }

func (stagesType) Convert(v starlark.Value) (any, bool) {
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return nil, false
	}
	if _, isStr := v.(starlark.String); isStr {
		return nil, false
	}
	out := make([][]string, seq.Len())
	for i := range out {
		stage, ok := engine.StringList.Convert(seq.Index(i))
		if !ok {
			return nil, false
		}
		out[i] = stage.([]string)
	}
	return out, true
}
