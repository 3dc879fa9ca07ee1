package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/pipeline"
	"github.com/ferryhq/ferry/builtins/seccheck"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/cireport"
)

func (a *app) ciCommand() *cobra.Command {
	c := &ciRun{a: a}
	cmd := &cobra.Command{
		Use:   "ci [PIPELINE] [-- --flag=value...]",
		Short: "Run a pipeline for CI: the security checks, then its stages in order, with JUnit and GitHub Actions reports",
		Long: `ferry ci runs a pipeline() of ferry.star without a terminal in mind: plain log
lines (or --log-format json), never the status view.

First the security checks of ferry lint (docs/security.md), with the same ignores:
an error finding fails ferry ci before any rule runs; warnings are printed and do
not fail. Then the pipeline's stages, one after the other: the rules of a stage run
in parallel with their deps, as ferry run runs them; its services and jobs are
deployed as ferry up --wait deploys them, and must be healthy before the next stage
starts. A failed stage stops the pipeline: the later stages' rules are reported as
skipped, unless --keep-going.

PIPELINE may be left out when ferry.star declares one pipeline; with none declared,
ferry ci runs the default pipeline: one stage of every build rule (what ferry run
runs). Under GitHub Actions (GITHUB_ACTIONS=true) each stage is a collapsible group
and findings and failed rules are annotations. --junit writes a JUnit XML report,
--sarif the findings of the security checks as SARIF 2.1.0 (for GitHub code
scanning); --sarif with --no-lint is a usage error, as there are no findings to
write. Every line and report passes through the secret redactor.

Exit codes: 0 everything passed; 1 an error finding, or a rule or a service's
health failed; 2 bad usage or ferry.star; 130 or 143 interrupted. See docs/ci.md.`,
		Example: `  ferry ci
  ferry ci release --junit ferry-junit.xml
  ferry ci --sarif ferry.sarif
  ferry ci --no-lint --keep-going -- --region=eu`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if c.noLint && c.lint.sarif != "" {
				// An empty report would tell code scanning that every alert was fixed.
				return fmt.Errorf("--sarif writes the findings of the security checks, which --no-lint skips; drop one of them")
			}
			names, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			if c.pl, err = a.ciPipeline(l, names); err != nil {
				return err
			}
			c.l = l
			return c.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&c.o.KeepGoing, "keep-going", "k", false, "after a failure, go on with the rules that do not depend on it, and with the later stages")
	f.BoolVar(&c.noLint, "no-lint", false, "skip the security checks")
	f.StringVar(&c.junit, "junit", "", "write a JUnit XML report to `FILE`: one test suite for the security checks and one per stage")
	f.DurationVar(&c.waitTimeout, "wait-timeout", defaultWaitTimeout, "how long the services of a stage have to be healthy")
	c.lint.add(cmd)
	return cmd
}

// ciPipeline returns the pipeline named by names (at most one), the only
// one declared when none is named, or the default pipeline when ferry.star
// declares none.
func (a *app) ciPipeline(l *loaded, names []string) (*pipeline.Pipeline, error) {
	declared := a.pipelines.List()
	var list []string
	for _, p := range declared {
		list = append(list, fmt.Sprintf("%s (%s)", p.Name, p.Pos))
	}
	switch {
	case len(names) > 1:
		return nil, fmt.Errorf("ferry ci runs one pipeline, got %d names (%s); config flags go after --", len(names), strings.Join(names, " "))
	case len(names) == 1:
		if p := a.pipelines.Find(names[0]); p != nil {
			return p, nil
		}
		if r := l.graph.Rule(names[0]); r != nil {
			return nil, fmt.Errorf("%q is a %s, not a pipeline: ferry ci runs a pipeline(), `ferry run %s` runs one rule", names[0], r.Info().Kind, names[0])
		}
		if len(declared) == 0 {
			return nil, fmt.Errorf("ferry.star declares no pipeline %q; declare it, as in pipeline(%q, stages = [[\"test\"]]), or run `ferry ci` with no name for the default pipeline (every build rule, in one stage)", names[0], names[0])
		}
		msg := fmt.Sprintf("ferry.star declares no pipeline %q", names[0])
		if s := engine.Suggest(names[0], a.pipelines.Names()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return nil, fmt.Errorf("%s; the pipelines are %s", msg, strings.Join(list, ", "))
	case len(declared) == 1:
		return declared[0], nil
	case len(declared) > 1:
		return nil, fmt.Errorf("ferry.star declares %d pipelines; name the one to run, as in `ferry ci %s`: %s", len(declared), declared[0].Name, strings.Join(list, ", "))
	}
	p := &pipeline.Pipeline{Name: "default"}
	if d := l.graph.DefaultNames(); len(d) > 0 {
		p.Stages = [][]string{d}
	}
	return p, nil
}

// ciRun is one run of `ferry ci`: its flags, and the report it builds.
type ciRun struct {
	a           *app
	l           *loaded
	pl          *pipeline.Pipeline
	o           engine.RunOptions
	lint        lintFlags
	noLint      bool
	junit       string
	waitTimeout time.Duration

	github bool // under GitHub Actions: groups and annotations
	rec    *cireport.Recorder
	report cireport.Report
	// rules counts the rules of the stages by outcome; stages counts the
	// stages by "passed", "failed" and "skipped".
	rules  map[cireport.Outcome]int
	stages map[string]int
	// reported are the rules reported by an earlier stage: when a later
	// stage finds one up to date (it is a dep there), it is not reported
	// again.
	reported map[string]bool
}

// run runs the security checks and the stages, writes the report and
// prints the summary.
func (c *ciRun) run(ctx context.Context) error {
	a := c.a
	start := time.Now()
	var report *os.File
	if c.junit != "" {
		// Created first, so a wrong path fails at once, not after the stages.
		var err error
		if report, err = os.Create(a.path(c.junit)); err != nil {
			return fmt.Errorf("--junit: %w; give a file in a folder you can write to", err)
		}
	}
	c.github = os.Getenv("GITHUB_ACTIONS") == "true"
	c.rec = cireport.NewRecorder()
	a.bus.Add(c.rec)
	c.report.Name = "ferry ci " + c.pl.Name
	c.rules, c.stages, c.reported = map[cireport.Outcome]int{}, map[string]int{}, map[string]bool{}
	if len(c.pl.Stages) == 0 {
		a.bus.Logf(engine.LevelWarn, "ferry.star declares no pipeline and no build rule: the default pipeline has nothing to run")
	} else {
		a.bus.Logf(engine.LevelInfo, "pipeline %s: the security checks, then %d stage(s)", c.pl.Name, len(c.pl.Stages))
	}
	err := c.securityChecks(ctx)
	if err == nil {
		err = c.runStages(ctx)
	} else {
		c.skipStages(0, "not run: the security checks failed")
	}
	c.report.Time = cireport.Seconds(time.Since(start))
	if report != nil {
		if werr := c.writeJUnit(report); werr != nil {
			if err != nil {
				a.bus.Logf(engine.LevelError, "%v", werr)
			} else {
				err = werr
			}
		}
	}
	c.summary(time.Since(start))
	return err
}

// securityChecks runs and prints the checks of `ferry lint`, and fails
// when a finding is an error.
func (c *ciRun) securityChecks(ctx context.Context) error {
	a := c.a
	suite := cireport.Suite{Name: "security checks"}
	const class = "ferry.security"
	if c.noLint {
		a.bus.Logf(engine.LevelWarn, "--no-lint: the security checks are skipped")
		suite.Cases = []cireport.Case{{Name: "security checks", Classname: class, Skipped: &cireport.Skipped{Message: "skipped with --no-lint"}}}
		c.report.Suites = append(c.report.Suites, suite)
		return nil
	}
	start := time.Now()
	c.command(cireport.Group("security checks"))
	rep, err := a.securityChecks(ctx, c.l, c.lint)
	if err != nil {
		c.command(cireport.EndGroup)
		return err
	}
	a.printFindings(rep)
	for _, f := range rep.Findings {
		cs := cireport.Case{Name: f.Rule + " " + f.Pos(), Classname: class, File: f.File, Line: f.Line,
			Properties: cireport.Props("severity", string(f.Severity))}
		if f.Severity == seccheck.Error {
			cs.Failure = &cireport.Failure{Message: f.Message, Type: f.Rule, Text: "fix: " + f.Fix}
		} else {
			cs.SystemOut = fmt.Sprintf("%s: %s\nfix: %s", f.Severity, f.Message, f.Fix)
		}
		suite.Cases = append(suite.Cases, cs)
		if f.Severity != seccheck.Info {
			an := cireport.Annotation{Level: string(f.Severity), File: f.File, Line: f.Line, Col: f.Col, Title: f.Rule, Message: f.Message + "; fix: " + f.Fix}
			if f.Commit != "" {
				// In git history, not in the checked-out file: no line to mark.
				an.File, an.Line, an.Col, an.Message = "", 0, 0, f.Pos()+": "+an.Message
			}
			c.command(an.String())
		}
	}
	c.command(cireport.EndGroup)
	if len(rep.Findings) == 0 {
		suite.Cases = []cireport.Case{{Name: "no findings", Classname: class}}
	}
	suite.Time = cireport.Seconds(time.Since(start))
	c.report.Suites = append(c.report.Suites, suite)
	if c.lint.sarif != "" {
		if err := a.writeSARIF(c.lint.sarif, rep); err != nil {
			return err
		}
	}
	if seccheck.Count(rep.Findings, seccheck.Error) > 0 {
		return &exitCodeError{code: exitFailed, msg: "ferry ci: the security checks found errors (above), so no stage ran; fix them, ignore them by id (docs/security.md), or skip the checks with --no-lint"}
	}
	return nil
}

// runStages runs the stages in order. A failed stage stops the later ones
// unless --keep-going; it returns engine.ErrFailed when a stage failed,
// and other errors (an interruption) at once, the later stages skipped.
func (c *ciRun) runStages(ctx context.Context) error {
	failed := 0 // the first stage that failed, from 1
	for i := range c.pl.Stages {
		if failed > 0 && !c.o.KeepGoing {
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
func (c *ciRun) stageTitle(i int) string {
	return fmt.Sprintf("stage %d: %s", i+1, strings.Join(c.pl.Stages[i], ", "))
}

// runStage runs the rules of stage i as `ferry run` does, then waits, as
// `ferry up --wait` does, until its services are healthy. It reports
// whether everything succeeded; the error is for what is not a rule's
// failure, such as an interruption.
func (c *ciRun) runStage(ctx context.Context, i int) (bool, error) {
	a, names := c.a, c.pl.Stages[i]
	title := c.stageTitle(i)
	c.rec.Reset()
	c.command(cireport.Group(title))
	defer c.command(cireport.EndGroup)
	a.bus.Logf(engine.LevelInfo, "%s", title)
	start := time.Now()
	err := a.runRules(ctx, c.l, names, c.o, nil)
	if err == nil {
		var bad []unhealthyService
		bad, err = a.unhealthy(ctx, c.l, names, c.waitTimeout)
		if err == nil && ctx.Err() != nil {
			// Interrupted while waiting: the services are not at fault.
			err = ctx.Err()
			bad = nil
		}
		for _, u := range bad {
			// Said here; the service event of its wait fails its case.
			a.bus.Logf(engine.LevelError, "%s", u.err)
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
			Properties: cireport.Props("kind", c.l.graph.Rule(r.Name).Info().Kind, "outcome", string(r.Outcome))}
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
		c.stages["failed"]++
		return false, err
	}
	c.stages["passed"]++
	return true, nil
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

// skipStages reports the rules of stage from (from 0) and the later ones
// as skipped, for reason.
func (c *ciRun) skipStages(from int, reason string) {
	for i := from; i < len(c.pl.Stages); i++ {
		suite := cireport.Suite{Name: c.stageTitle(i)}
		for _, n := range c.pl.Stages[i] {
			suite.Cases = append(suite.Cases, cireport.Case{Name: n, Classname: c.classname(i), Skipped: &cireport.Skipped{Message: reason}})
			c.rules[cireport.OutcomeSkipped]++
		}
		c.report.Suites = append(c.report.Suites, suite)
		c.stages["skipped"]++
	}
}

// classname is the JUnit class of the rules of stage i (from 0).
func (c *ciRun) classname(i int) string { return fmt.Sprintf("ferry.%s.stage%d", c.pl.Name, i+1) }

// command writes a GitHub Actions workflow command on its own line, among
// the log lines, when running under GitHub Actions.
func (c *ciRun) command(line string) {
	if c.github {
		fmt.Fprintln(c.a.stderr, line)
	}
}

// writeJUnit writes the report to f, the --junit file, through the
// redactor, and closes it.
func (c *ciRun) writeJUnit(f *os.File) error {
	return c.a.writeReport(f, "--junit", c.junit, "JUnit", c.report.Write)
}

// writeReport writes a report with write to f, opened from file (the value
// of flag), through the redactor, and closes it; kind names the report in
// the log ("JUnit").
func (a *app) writeReport(f *os.File, flag, file, kind string, write func(io.Writer) error) error {
	w := a.redactor.Writer(f)
	err := write(w)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w; the report is incomplete", flag, file, err)
	}
	a.bus.Logf(engine.LevelInfo, "%s report written to %s", kind, file)
	return nil
}

// summary logs the stages and rules by outcome, and the time taken.
func (c *ciRun) summary(d time.Duration) {
	level, verdict := engine.LevelInfo, "passed"
	if c.stages["failed"] > 0 || c.stages["skipped"] > 0 {
		level, verdict = engine.LevelError, "failed"
	}
	c.a.bus.Logf(level, "pipeline %s %s: %d stage(s): %d passed, %d failed, %d skipped; rules: %d ran, %d cached, %d failed, %d skipped; in %s",
		c.pl.Name, verdict, len(c.pl.Stages), c.stages["passed"], c.stages["failed"], c.stages["skipped"],
		c.rules[cireport.OutcomeRan], c.rules[cireport.OutcomeCached], c.rules[cireport.OutcomeFailed], c.rules[cireport.OutcomeSkipped],
		d.Round(time.Millisecond))
}
