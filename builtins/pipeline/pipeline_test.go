package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
)

const rules = `task(name = "lint", cmd = "true")
task(name = "test", cmd = "true")
task(name = "dev", cmd = "sleep 100", serve = True)
task(name = "deploy", cmd = "true", trigger = "manual")
`

// load evaluates src after rules and checks its pipelines against the graph.
func load(t *testing.T, src string) (*Pipelines, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ferry.star"), []byte(rules+src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		Plugins:   []engine.Plugin{core.Plugin{}, Plugin{}},
	})
	if err != nil {
		return nil, err
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		t.Fatal(err)
	}
	return engine.EvaluationState[*Pipelines](res.Eval), res.Eval.CheckGraph(g)
}

func TestPipeline(t *testing.T) {
	p, err := load(t, `pipeline("ci", stages = [["lint", "test"], ["deploy"]], doc = "what CI runs")
pipeline(name = "quick", stages = [["test"]])
`)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Names(); !reflect.DeepEqual(got, []string{"ci", "quick"}) {
		t.Errorf("names = %v", got)
	}
	ci := p.Find("ci")
	if want := [][]string{{"lint", "test"}, {"deploy"}}; !reflect.DeepEqual(ci.Stages, want) {
		t.Errorf("stages = %v, want %v", ci.Stages, want)
	}
	if ci.Doc != "what CI runs" || !strings.HasSuffix(ci.Pos.String(), "ferry.star:5:9") {
		t.Errorf("doc %q, pos %s", ci.Doc, ci.Pos)
	}
	if p.Find("nope") != nil {
		t.Error("Find of an undeclared pipeline is not nil")
	}
}

func TestPipelineErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`pipeline("ci", stages = [["lint", "tset"]])`, `ferry.star:5:9: pipeline "ci": stage 1 names no rule "tset" (did you mean "test"?)`},
		{`pipeline("ci", stages = [["zzzzzz"]])`, "names no rule \"zzzzzz\"; `ferry graph` lists the rules"},
		{`pipeline("ci", stages = [["test"], ["dev"]])`, `ferry.star:5:9: pipeline "ci": stage 2 names "dev", a serve task (declared at `},
		{`pipeline("ci", stages = [["test"]])` + "\n" + `pipeline("ci", stages = [["lint"]])`, `ferry.star:6:9: pipeline "ci" is declared twice: it is already declared at `},
		{`pipeline("ci", stages = [])`, `ferry.star:5:9: pipeline "ci": stages is empty`},
		{`pipeline("ci", stages = [["test"], []])`, `ferry.star:5:9: pipeline "ci": stage 2 is empty`},
		{`pipeline("ci", stages = [["test"], ["lint", "test"]])`, `rule "test" is in stage 1 and again in stage 2`},
		{`pipeline("ci", stages = ["test"])`, `stages: got list, want list of lists of rule names`},
		{`pipeline("a b", stages = [["test"]])`, `name must be non-empty`},
		{`pipeline("ci")`, `missing required argument "stages"`},
	} {
		_, err := load(t, tc.src+"\n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\ngot  %v\nwant an error with %q", tc.src, err, tc.want)
		}
	}
}
