package pipeline

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/cireport"
)

// fakeFindings are findings with fixed cases and annotations.
type fakeFindings struct {
	failed bool
	notes  []string
}

func (f fakeFindings) Cases(class string) []cireport.Case {
	var cs []cireport.Case
	for _, n := range f.notes {
		cs = append(cs, cireport.Case{Name: n, Classname: class})
	}
	return cs
}

func (f fakeFindings) Annotations() []cireport.Annotation {
	var as []cireport.Annotation
	for _, n := range f.notes {
		as = append(as, cireport.Annotation{Level: "warning", Message: n})
	}
	return as
}

func (f fakeFindings) Failed() bool { return f.failed }

// fakeStages runs rules by emitting their events to ci: the rules in fail
// fail, those in cached are up to date, and the services in unhealthy do
// not become healthy.
type fakeStages struct {
	ci        *CI
	findings  Findings
	lintErr   error
	fail      map[string]bool
	cached    map[string]bool
	unhealthy map[string]bool
	deps      map[string][]string // rules that run with a rule, before it
	runErr    func(ctx context.Context, names []string) error
	cancel    context.CancelFunc // called while waiting, when set

	linted bool
	ran    [][]string // the names of each Run, in order
	waited [][]string
}

func (f *fakeStages) Lint(context.Context) (Findings, error) {
	f.linted = true
	return f.findings, f.lintErr
}

func (f *fakeStages) Run(ctx context.Context, names []string) error {
	f.ran = append(f.ran, names)
	if f.runErr != nil {
		if err := f.runErr(ctx, names); err != nil {
			return err
		}
	}
	failed := false
	for _, n := range names {
		for _, r := range append(append([]string{}, f.deps[n]...), n) {
			switch {
			case f.cached[r]:
				f.ci.Handle(engine.Event{Kind: engine.EventCached, Rule: r})
			case f.fail[r]:
				failed = true
				f.ci.Handle(engine.Event{Kind: engine.EventOutput, Rule: r, Text: r + " says why"})
				f.ci.Handle(engine.Event{Kind: engine.EventRuleFail, Rule: r, Err: "exit code 1"})
			default:
				f.ci.Handle(engine.Event{Kind: engine.EventRuleDone, Rule: r, Duration: time.Millisecond})
				f.cached[r] = true
			}
		}
	}
	if failed {
		return fmt.Errorf("run: %w", engine.ErrFailed)
	}
	return nil
}

func (f *fakeStages) Unhealthy(_ context.Context, names []string) ([]engine.UnhealthyService, error) {
	f.waited = append(f.waited, names)
	if f.cancel != nil {
		f.cancel()
	}
	var bad []engine.UnhealthyService
	for _, n := range names {
		if f.unhealthy[n] {
			err := fmt.Errorf("service %s is not healthy", n)
			bad = append(bad, engine.UnhealthyService{Rule: n, Err: err})
			if f.cancel == nil {
				// As a Deployer's wait does: its health event fails the case.
				f.ci.Handle(engine.Event{Kind: engine.EventServiceHealth, Reason: err.Error(), Service: &engine.ServiceState{Name: n, Health: "unhealthy"}})
			}
		}
	}
	return bad, nil
}

func (f *fakeStages) Kind(name string) string {
	if strings.HasPrefix(name, "svc") {
		return "service"
	}
	return "task"
}

// logLines collects what a CI logs.
type logLines []string

func (l *logLines) logf(level, format string, args ...any) {
	*l = append(*l, level+": "+fmt.Sprintf(format, args...))
}

func (l logLines) has(part string) bool {
	for _, line := range l {
		if strings.Contains(line, part) {
			return true
		}
	}
	return false
}

// newCI returns a CI of stages with fake stages.
func newCI(stages ...[]string) (*CI, *fakeStages, *logLines) {
	f := &fakeStages{findings: fakeFindings{}, fail: map[string]bool{}, cached: map[string]bool{}, unhealthy: map[string]bool{}, deps: map[string][]string{}}
	logs := &logLines{}
	f.ci = NewCI(&Pipeline{Name: "ci", Stages: stages}, f, logs.logf)
	return f.ci, f, logs
}

// outcomes returns, for each suite of rep, its cases as "name=outcome",
// where the outcome is "failed", "skipped" or "passed".
func outcomes(rep *cireport.Report) map[string][]string {
	out := map[string][]string{}
	for _, s := range rep.Suites {
		out[s.Name] = []string{}
		for _, c := range s.Cases {
			o := "passed"
			switch {
			case c.Failure != nil:
				o = "failed"
			case c.Skipped != nil:
				o = "skipped"
			}
			out[s.Name] = append(out[s.Name], c.Name+"="+o)
		}
	}
	return out
}

func TestCIRunsStagesInOrder(t *testing.T) {
	ci, f, logs := newCI([]string{"a", "b"}, []string{"c"})
	f.deps["c"] = []string{"a"}
	if err := ci.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !f.linted {
		t.Error("the security checks did not run")
	}
	if want := [][]string{{"a", "b"}, {"c"}}; !reflect.DeepEqual(f.ran, want) || !reflect.DeepEqual(f.waited, want) {
		t.Errorf("ran %v, waited %v; want %v for both", f.ran, f.waited, want)
	}
	want := map[string][]string{
		"security checks": {},
		"stage 1: a, b":   {"a=passed", "b=passed"},
		"stage 2: c":      {"c=passed"}, // a, c's dep, cached there: reported in stage 1 only
	}
	if got := outcomes(ci.Report()); !reflect.DeepEqual(got, want) {
		t.Errorf("report %v, want %v", got, want)
	}
	c := ci.Report().Suites[2].Cases[0]
	if c.Classname != "ferry.ci.stage2" || c.Properties == nil || len(c.Properties.List) != 2 || c.Properties.List[0].Value != "task" || c.Properties.List[1].Value != "ran" {
		t.Errorf("case c: %+v, properties %+v", c, c.Properties)
	}
	ci.Summarize()
	if !logs.has("info: pipeline ci passed: 2 stage(s): 2 passed, 0 failed, 0 skipped; rules: 3 ran, 0 cached, 0 failed, 0 skipped") {
		t.Errorf("summary: %q", *logs)
	}
}

func TestCIFailedStageStopsTheLaterOnes(t *testing.T) {
	for _, keepGoing := range []bool{false, true} {
		t.Run(fmt.Sprint("keep-going=", keepGoing), func(t *testing.T) {
			ci, f, logs := newCI([]string{"a", "bad"}, []string{"c"}, []string{"d"})
			ci.KeepGoing = keepGoing
			f.fail["bad"] = true
			err := ci.Run(context.Background())
			if !errors.Is(err, engine.ErrFailed) {
				t.Fatalf("err = %v, want ErrFailed", err)
			}
			ci.Summarize()
			rep := outcomes(ci.Report())
			if !reflect.DeepEqual(rep["stage 1: a, bad"], []string{"a=passed", "bad=failed"}) {
				t.Errorf("stage 1: %v", rep["stage 1: a, bad"])
			}
			bad := ci.Report().Suites[1].Cases[1].Failure
			if bad.Message != "exit code 1" || bad.Text != "bad says why" {
				t.Errorf("bad's failure: %+v", bad)
			}
			if keepGoing {
				if len(f.ran) != 3 || rep["stage 3: d"][0] != "d=passed" {
					t.Errorf("with KeepGoing, ran %v; report %v", f.ran, rep)
				}
				if !logs.has("error: pipeline ci failed: 3 stage(s): 2 passed, 1 failed, 0 skipped; rules: 3 ran, 0 cached, 1 failed, 0 skipped") {
					t.Errorf("summary: %q", *logs)
				}
				return
			}
			if len(f.ran) != 1 {
				t.Errorf("ran %v after stage 1 failed", f.ran)
			}
			for _, s := range ci.Report().Suites[2:] {
				if c := s.Cases[0]; c.Skipped == nil || c.Skipped.Message != "not run: stage 1 failed (--keep-going runs the later stages anyway)" {
					t.Errorf("%s: %+v", s.Name, c)
				}
			}
			if !logs.has("error: pipeline ci failed: 3 stage(s): 0 passed, 1 failed, 2 skipped; rules: 1 ran, 0 cached, 1 failed, 2 skipped") {
				t.Errorf("summary: %q", *logs)
			}
		})
	}
}

func TestCIUnhealthyServiceFailsItsStage(t *testing.T) {
	ci, f, logs := newCI([]string{"svc"}, []string{"after"})
	f.unhealthy["svc"] = true
	if err := ci.Run(context.Background()); !errors.Is(err, engine.ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	c := ci.Report().Suites[1].Cases[0]
	if c.Failure == nil || c.Failure.Message != "service svc is not healthy" || c.Properties.List[0].Value != "service" {
		t.Errorf("svc's case: %+v", c)
	}
	if !logs.has("error: service svc is not healthy") {
		t.Errorf("logs: %q", *logs)
	}
	if len(f.ran) != 1 {
		t.Errorf("the stage after an unhealthy one ran: %v", f.ran)
	}
}

func TestCILint(t *testing.T) {
	t.Run("error finding", func(t *testing.T) {
		ci, f, _ := newCI([]string{"a"})
		f.findings = fakeFindings{failed: true, notes: []string{"FERRY-X001 Dockerfile:1"}}
		var cmds strings.Builder
		ci.Commands = &cmds
		if err := ci.Run(context.Background()); !errors.Is(err, ErrLintFailed) {
			t.Fatalf("err = %v, want ErrLintFailed", err)
		}
		if len(f.ran) != 0 {
			t.Errorf("rules ran after an error finding: %v", f.ran)
		}
		want := map[string][]string{"security checks": {"FERRY-X001 Dockerfile:1=passed"}, "stage 1: a": {"a=skipped"}}
		if got := outcomes(ci.Report()); !reflect.DeepEqual(got, want) {
			t.Errorf("report %v, want %v", got, want)
		}
		if want := "::group::security checks\n::warning::FERRY-X001 Dockerfile:1\n::endgroup::\n"; cmds.String() != want {
			t.Errorf("commands %q, want %q", cmds.String(), want)
		}
	})
	t.Run("no lint", func(t *testing.T) {
		ci, f, logs := newCI([]string{"a"})
		ci.NoLint = true
		if err := ci.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if f.linted || !logs.has("warn: --no-lint") {
			t.Errorf("linted %v with NoLint; logs %q", f.linted, *logs)
		}
		if c := ci.Report().Suites[0].Cases[0]; c.Skipped == nil || c.Classname != "ferry.security" {
			t.Errorf("skipped checks: %+v", c)
		}
	})
	t.Run("report not written", func(t *testing.T) {
		ci, f, _ := newCI([]string{"a"})
		f.findings, f.lintErr = fakeFindings{notes: []string{"n"}}, errors.New("--sarif: disk full")
		if err := ci.Run(context.Background()); err != f.lintErr {
			t.Fatalf("err = %v, want %v", err, f.lintErr)
		}
		if got := outcomes(ci.Report()); !reflect.DeepEqual(got["security checks"], []string{"n=passed"}) || got["stage 1: a"][0] != "a=skipped" {
			t.Errorf("report %v", got)
		}
	})
	t.Run("checks could not run", func(t *testing.T) {
		ci, f, _ := newCI([]string{"a"})
		f.findings, f.lintErr = nil, errors.New("--ignore: no rule X")
		if err := ci.Run(context.Background()); err != f.lintErr {
			t.Fatalf("err = %v, want %v", err, f.lintErr)
		}
		if got := outcomes(ci.Report()); len(ci.Report().Suites) != 1 || got["stage 1: a"][0] != "a=skipped" {
			t.Errorf("report %v", got)
		}
	})
}

func TestCIInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ci, f, _ := newCI([]string{"svc"}, []string{"b"})
	f.unhealthy["svc"] = true
	f.cancel = cancel
	if err := ci.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// Interrupted while waiting: the service is not at fault.
	want := map[string][]string{"security checks": {}, "stage 1: svc": {"svc=passed"}, "stage 2: b": {"b=skipped"}}
	if got := outcomes(ci.Report()); !reflect.DeepEqual(got, want) {
		t.Errorf("report %v, want %v", got, want)
	}
	if c := ci.Report().Suites[2].Cases[0]; c.Skipped.Message != "not run: the pipeline was interrupted" {
		t.Errorf("b: %+v", c.Skipped)
	}
}

func TestCIStageCouldNotRun(t *testing.T) {
	ci, f, _ := newCI([]string{"a"}, []string{"b"})
	f.runErr = func(context.Context, []string) error { return errors.New("state locked") }
	if err := ci.Run(context.Background()); err == nil || err.Error() != "state locked" {
		t.Fatalf("err = %v", err)
	}
	if c := ci.Report().Suites[2].Cases[0]; c.Skipped == nil || c.Skipped.Message != "not run: stage 1 could not run: state locked" {
		t.Errorf("b: %+v", c)
	}
}

func TestCIGitHubCommands(t *testing.T) {
	ci, f, _ := newCI([]string{"a", "bad"})
	f.fail["bad"] = true
	var cmds strings.Builder
	ci.Commands = &cmds
	if err := ci.Run(context.Background()); !errors.Is(err, engine.ErrFailed) {
		t.Fatal(err)
	}
	want := "::group::security checks\n::endgroup::\n::group::stage 1: a, bad\n::error title=rule bad::exit code 1\n::endgroup::\n"
	if cmds.String() != want {
		t.Errorf("commands:\n%s\nwant:\n%s", cmds.String(), want)
	}
}

func TestCIEmptyDefaultPipeline(t *testing.T) {
	ci, _, logs := newCI()
	if err := ci.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !logs.has("warn: ferry.star declares no pipeline and no build rule") {
		t.Errorf("logs: %q", *logs)
	}
}
