package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/pipeline"
	"github.com/ferryhq/ferry/engine"
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
			if !cmd.Flags().Changed("locked") {
				a.locked = true
			}
			names, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			pl, err := engine.EvaluationState[*pipeline.Pipelines](l.Result.Eval).Select(names, l.Graph)
			if err != nil {
				return err
			}
			c.l = l
			return c.run(cmd.Context(), pl)
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

// ciRun is one run of `ferry ci`: its flags and its workspace.
type ciRun struct {
	a           *app
	l           *engine.Loaded
	o           engine.RunOptions
	lint        lintFlags
	noLint      bool
	junit       string
	waitTimeout time.Duration
}

// run runs pl with a pipeline.CI, writes the report and prints the
// summary.
func (c *ciRun) run(ctx context.Context, pl *pipeline.Pipeline) error {
	a := c.a
	// Created first, so a wrong path fails at once, not after the stages.
	report, err := a.create("--junit", c.junit)
	if err != nil {
		return err
	}
	work := &pipeline.Work{Loaded: c.l, Options: c.o, Checks: c.checks, Health: a.deployer(c.l.Session.Workspace, c.l.Session.Project), WaitTimeout: c.waitTimeout}
	ci := pipeline.NewCI(pl, work, a.bus.Logf)
	ci.KeepGoing, ci.NoLint = c.o.KeepGoing, c.noLint
	if os.Getenv("GITHUB_ACTIONS") == "true" {
		ci.Commands = a.stderr
	}
	a.bus.Add(ci)
	err = ci.Run(ctx)
	if errors.Is(err, pipeline.ErrLintFailed) {
		err = &exitCodeError{code: exitFailed, msg: err.Error()}
	}
	if werr := report.WriteReport("JUnit", ci.Report().Write, a.bus.Logf); werr != nil {
		if err != nil {
			a.bus.Logf(engine.LevelError, "%v", werr)
		} else {
			err = werr
		}
	}
	ci.Summarize()
	return err
}

// checks runs and prints the checks of `ferry lint`, and writes --sarif.
func (c *ciRun) checks(ctx context.Context) (pipeline.Findings, error) {
	rep, err := c.a.securityChecks(ctx, c.l, c.lint)
	if err != nil {
		return nil, err
	}
	rep.WriteText(c.a.stdout)
	if c.lint.sarif != "" {
		return rep, c.a.writeSARIF(c.lint.sarif, rep)
	}
	return rep, nil
}
