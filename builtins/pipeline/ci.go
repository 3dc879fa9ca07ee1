package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/cireport"
)

// ErrLintFailed is returned by CI.Run when the security checks found an
// error, so that no stage ran.
var ErrLintFailed = errors.New("ferry ci: the security checks found errors (above), so no stage ran; fix them, ignore them by id (docs/security.md), or skip the checks with --no-lint")

// Stages is the work a CI asks of the rest of ferry: the security checks,
// running rules, and waiting for services.
type Stages interface {
	// Lint runs the security checks, prints their findings and writes the
	// reports asked for. Findings returned with an error are reported,
	// then the error ends the run.
	Lint(ctx context.Context) (Findings, error)
	// Run runs the named rules and their deps as `ferry run` does, and
	// deploys the services and jobs among them; it returns an error
	// wrapping engine.ErrFailed when a rule failed.
	Run(ctx context.Context, names []string) error
	// Unhealthy waits until the services among names and what they depend
	// on are healthy, and returns those that are not.
	Unhealthy(ctx context.Context, names []string) ([]engine.UnhealthyService, error)
	// Kind returns the kind of the rule named name ("task", "service").
	Kind(name string) string
}

// Findings are the results of the security checks, as a CI reports them.
type Findings interface {
	// Cases returns them as JUnit test cases of class.
	Cases(class string) []cireport.Case
	// Annotations returns those worth a GitHub Actions annotation.
	Annotations() []cireport.Annotation
	// Failed reports whether one of them fails the run.
	Failed() bool
}

// Work is the Stages of an evaluated workspace: its rules run as `ferry
// run` runs them, and the security checks and the waits for health are
// asked of the domains that do them.
type Work struct {
	Loaded  *engine.Loaded
	Options engine.RunOptions // of the runs of the stages' rules
	// Checks runs the security checks (see Stages.Lint).
	Checks func(ctx context.Context) (Findings, error)
	// Health waits for the services of a stage, for at most WaitTimeout.
	Health      Health
	WaitTimeout time.Duration
}

// Health waits, for at most timeout, until the services among names and
// what they depend on are healthy, and returns those that are not, as
// `ferry up --wait` does: a deploy.Deployer is one.
type Health interface {
	Unhealthy(ctx context.Context, g *engine.Graph, names []string, timeout time.Duration) ([]engine.UnhealthyService, error)
}

// Lint runs w.Checks.
func (w *Work) Lint(ctx context.Context) (Findings, error) { return w.Checks(ctx) }

// Run runs the named rules and their deps on w.Loaded with w.Options.
func (w *Work) Run(ctx context.Context, names []string) error {
	_, err := w.Loaded.RunThen(ctx, names, w.Options, nil)
	return err
}

// Unhealthy asks w.Health for the services among names that are not
// healthy within w.WaitTimeout.
func (w *Work) Unhealthy(ctx context.Context, names []string) ([]engine.UnhealthyService, error) {
	return w.Health.Unhealthy(ctx, w.Loaded.Graph, names, w.WaitTimeout)
}

// Kind returns the kind of the rule named name in w.Loaded's graph.
func (w *Work) Kind(name string) string { return w.Loaded.Graph.Kind(name) }

// A CI runs a pipeline as `ferry ci` does: the security checks, then the
// stages one after the other, recorded as a JUnit report. Add it to the
// bus the rules report to (it is an engine.Sink), then call Run once.
type CI struct {
	pl     *Pipeline
	stages Stages
	logf   func(level, format string, args ...any)

	// KeepGoing runs the later stages after one failed.
	KeepGoing bool
	// NoLint skips the security checks.
	NoLint bool
	// Commands receives the GitHub Actions workflow commands (groups and
	// annotations), one a line; nil outside GitHub Actions.
	Commands io.Writer

	start  time.Time
	rec    *cireport.Recorder
	report cireport.Report
	// rules counts the rules of the stages by outcome; stageCount counts
	// the stages by "passed", "failed" and "skipped".
	rules      map[cireport.Outcome]int
	stageCount map[string]int
	// reported are the rules reported by an earlier stage: when a later
	// stage finds one up to date (it is a dep there), it is not reported
	// again.
	reported map[string]bool
}

// NewCI returns a CI of pl that asks s for the work and logs with logf
// (engine.Bus.Logf).
func NewCI(pl *Pipeline, s Stages, logf func(level, format string, args ...any)) *CI {
	return &CI{
		pl: pl, stages: s, logf: logf,
		rec:    cireport.NewRecorder(),
		report: cireport.Report{Name: "ferry ci " + pl.Name},
		rules:  map[cireport.Outcome]int{}, stageCount: map[string]int{}, reported: map[string]bool{},
	}
}

// Handle records e, an event of the stages' rules.
func (c *CI) Handle(e engine.Event) { c.rec.Handle(e) }

// Report returns the JUnit report: one suite for the security checks and
// one per stage.
func (c *CI) Report() *cireport.Report { return &c.report }

// Run runs the security checks and the stages. It returns ErrLintFailed
// when a finding is an error, an error wrapping engine.ErrFailed when a
// stage failed, and other errors (an interruption) as they come, the
// later stages reported as skipped.
func (c *CI) Run(ctx context.Context) error {
	c.start = time.Now()
	if len(c.pl.Stages) == 0 {
		c.logf(engine.LevelWarn, "ferry.star declares no pipeline and no build rule: the default pipeline has nothing to run")
	} else {
		c.logf(engine.LevelInfo, "pipeline %s: the security checks, then %d stage(s)", c.pl.Name, len(c.pl.Stages))
	}
	err := c.securityChecks(ctx)
	if err == nil {
		err = c.runStages(ctx)
	} else {
		c.skipStages(0, "not run: the security checks failed")
	}
	c.report.Time = cireport.Seconds(time.Since(c.start))
	return err
}

// securityChecks runs the checks, and fails when a finding is an error.
func (c *CI) securityChecks(ctx context.Context) error {
	suite := cireport.Suite{Name: "security checks"}
	const class = "ferry.security"
	if c.NoLint {
		c.logf(engine.LevelWarn, "--no-lint: the security checks are skipped")
		suite.Cases = []cireport.Case{{Name: "security checks", Classname: class, Skipped: &cireport.Skipped{Message: "skipped with --no-lint"}}}
		c.report.Suites = append(c.report.Suites, suite)
		return nil
	}
	start := time.Now()
	c.command(cireport.Group("security checks"))
	fs, err := c.stages.Lint(ctx)
	if fs == nil {
		c.command(cireport.EndGroup)
		return err
	}
	suite.Cases = fs.Cases(class)
	for _, an := range fs.Annotations() {
		c.command(an.String())
	}
	c.command(cireport.EndGroup)
	suite.Time = cireport.Seconds(time.Since(start))
	c.report.Suites = append(c.report.Suites, suite)
	if err != nil {
		return err
	}
	if fs.Failed() {
		return ErrLintFailed
	}
	return nil
}

// runStages runs the stages in order. A failed stage stops the later ones
// unless KeepGoing; it returns engine.ErrFailed when a stage failed, and
// other errors (an interruption) at once, the later stages skipped.
func (c *CI) runStages(ctx context.Context) error {
	failed := 0 // the first stage that failed, from 1
	for i := range c.pl.Stages {
		if failed > 0 && !c.KeepGoing {
			c.skipStages(i, fmt.Sprintf("not run: stage %d failed (--keep-going runs the later stages anyway)", failed))
			break
		}
		ok, err := c.runStage(ctx, i)
		if err != nil {
			reason := "not run: the pipeline was interrupted"
			if ctx.Err() == nil {
				reason = fmt.Sprintf("not run: stage %d could not run: %v", i+1, err)
			}
			c.skipStages(i+1, reason)
			return err
		}
		if !ok && failed == 0 {
			failed = i + 1
		}
	}
	if failed > 0 {
		return engine.ErrFailed
	}
	return nil
}

// stageTitle names stage i (from 0) and its rules.
func (c *CI) stageTitle(i int) string {
	return fmt.Sprintf("stage %d: %s", i+1, strings.Join(c.pl.Stages[i], ", "))
}

// runStage runs the rules of stage i, then waits until its services are
// healthy. It reports whether everything succeeded; the error is for what
// is not a rule's failure, such as an interruption.
func (c *CI) runStage(ctx context.Context, i int) (bool, error) {
	names := c.pl.Stages[i]
	title := c.stageTitle(i)
	c.rec.Reset()
	c.command(cireport.Group(title))
	defer c.command(cireport.EndGroup)
	c.logf(engine.LevelInfo, "%s", title)
	start := time.Now()
	err := c.stages.Run(ctx, names)
	if err == nil {
		var bad []engine.UnhealthyService
		bad, err = c.stages.Unhealthy(ctx, names)
		if err == nil && ctx.Err() != nil {
			// Interrupted while waiting: the services are not at fault.
			err = ctx.Err()
			bad = nil
		}
		for _, u := range bad {
			// Said here; the service event of its wait fails its case.
			c.logf(engine.LevelError, "%s", u.Err)
		}
	}
	suite := cireport.Suite{Name: title, Time: cireport.Seconds(time.Since(start))}
	ok := true
	for _, r := range c.rec.Results() {
		if r.Outcome == cireport.OutcomeCached && c.reported[r.Name] {
			continue
		}
		c.reported[r.Name] = true
		c.rules[r.Outcome]++
		cs := cireport.Case{Name: r.Name, Classname: c.classname(i), Time: cireport.Seconds(r.Duration),
			Properties: cireport.Props("kind", c.stages.Kind(r.Name), "outcome", string(r.Outcome))}
		switch r.Outcome {
		case cireport.OutcomeFailed:
			ok = false
			cs.Failure = &cireport.Failure{Message: r.Err, Type: failureType(r), Text: strings.Join(r.Output, "\n")}
			c.command(cireport.Annotation{Level: "error", Title: "rule " + r.Name, Message: r.Err}.String())
		case cireport.OutcomeSkipped:
			ok = false
			cs.Skipped = &cireport.Skipped{Message: r.Reason}
		case cireport.OutcomeCached:
			cs.SystemOut = "cached: up to date, so it did not run"
		}
		suite.Cases = append(suite.Cases, cs)
	}
	c.report.Suites = append(c.report.Suites, suite)
	if errors.Is(err, engine.ErrFailed) {
		err = nil
	}
	if err != nil || !ok {
		c.stageCount["failed"]++
		return false, err
	}
	c.stageCount["passed"]++
	return true, nil
}

// skipStages reports the rules of stage from (from 0) and the later ones
// as skipped, for reason.
func (c *CI) skipStages(from int, reason string) {
	for i := from; i < len(c.pl.Stages); i++ {
		suite := cireport.Suite{Name: c.stageTitle(i)}
		for _, n := range c.pl.Stages[i] {
			suite.Cases = append(suite.Cases, cireport.Case{Name: n, Classname: c.classname(i), Skipped: &cireport.Skipped{Message: reason}})
			c.rules[cireport.OutcomeSkipped]++
		}
		c.report.Suites = append(c.report.Suites, suite)
		c.stageCount["skipped"]++
	}
}

// classname is the JUnit class of the rules of stage i (from 0).
func (c *CI) classname(i int) string { return fmt.Sprintf("ferry.%s.stage%d", c.pl.Name, i+1) }

// command writes a GitHub Actions workflow command on its own line, when
// there is somewhere to write it.
func (c *CI) command(line string) {
	if c.Commands != nil {
		fmt.Fprintln(c.Commands, line)
	}
}

// Summarize logs the stages and rules by outcome, and the time taken
// since Run began.
func (c *CI) Summarize() {
	level, verdict := engine.LevelInfo, "passed"
	if c.stageCount["failed"] > 0 || c.stageCount["skipped"] > 0 {
		level, verdict = engine.LevelError, "failed"
	}
	c.logf(level, "pipeline %s %s: %d stage(s): %d passed, %d failed, %d skipped; rules: %d ran, %d cached, %d failed, %d skipped; in %s",
		c.pl.Name, verdict, len(c.pl.Stages), c.stageCount["passed"], c.stageCount["failed"], c.stageCount["skipped"],
		c.rules[cireport.OutcomeRan], c.rules[cireport.OutcomeCached], c.rules[cireport.OutcomeFailed], c.rules[cireport.OutcomeSkipped],
		time.Since(c.start).Round(time.Millisecond))
}

// failureType is the JUnit type of the failure of r: "rule failed", or
// for a service, "crash loop" or "unhealthy".
func failureType(r cireport.RuleResult) string {
	switch r.Failure {
	case engine.EventServiceCrashLoop:
		return "crash loop"
	case engine.EventServiceHealth:
		return "unhealthy"
	}
	return "rule failed"
}
