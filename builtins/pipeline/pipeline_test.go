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
	p, g, err := loadGraph(t, src)
	if err != nil {
		return nil, err
	}
	return p, p.CheckGraph(g)
}

// loadGraph evaluates src after rules and returns its pipelines and graph.
func loadGraph(t *testing.T, src string) (*Pipelines, *engine.Graph, error) {
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
		return nil, nil, err
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		t.Fatal(err)
	}
	return engine.EvaluationState[*Pipelines](res.Eval), g, nil
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

func TestSelect(t *testing.T) {
	two := `pipeline("ci", stages = [["lint"]])
pipeline("release", stages = [["test"]])
`
	for _, tc := range []struct {
		name, src string
		names     []string
		want      string // the pipeline's name, or a part of the error
		stages    [][]string
	}{
		{"the only one", `pipeline("ci", stages = [["lint"]])`, nil, "ci", [][]string{{"lint"}}},
		{"named", two, []string{"release"}, "release", [][]string{{"test"}}},
		{"default", "", nil, "default", [][]string{{"lint", "test", "deploy"}}},
		{"two names", two, []string{"ci", "release"}, "ferry ci runs one pipeline, got 2 names (ci release); config flags go after --", nil},
		{"a rule", two, []string{"lint"}, `"lint" is a task, not a pipeline: ferry ci runs a pipeline(), ` + "`ferry run lint`", nil},
		{"none declared", "", []string{"ci"}, `ferry.star declares no pipeline "ci"; declare it, as in pipeline("ci", stages = [["test"]])`, nil},
		{"typo", two, []string{"relase"}, `ferry.star declares no pipeline "relase" (did you mean "release"?); the pipelines are ci (`, nil},
		{"which one", two, nil, "ferry.star declares 2 pipelines; name the one to run, as in `ferry ci ci`: ci (", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, g, err := loadGraph(t, tc.src+"\n")
			if err != nil {
				t.Fatal(err)
			}
			pl, err := p.Select(tc.names, g)
			if tc.stages == nil {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q in it", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pl.Name != tc.want || !reflect.DeepEqual(pl.Stages, tc.stages) {
				t.Errorf("selected %s %v, want %s %v", pl.Name, pl.Stages, tc.want, tc.stages)
			}
		})
	}
}
