package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/startest"
)

func (a *app) testCommand() *cobra.Command {
	var run, junit string
	cmd := &cobra.Command{
		Use:   "test [FILE | FOLDER...]",
		Short: "Run the test_* functions of the *_test.star files: tests of Starlark modules and macros, without running any rule",
		Long: `ferry test runs the test functions (test_*) of the workspace's *_test.star files,
or of the files and folders given (hidden folders, testdata and node_modules are
skipped); outside a workspace (a module's repository with no ferry.star), those of
the current folder (or -C DIR). A test file sees every builtin of ferry.star and
loads the shared modules of ferry.mod as ferry plan does (--locked holds), plus:

  assert.eq(got, want), assert.ne, assert.true, assert.contains(container, item),
  assert.fails(fn, pattern)   fail the test with both values and the position
  evaluate(src = "..." | dir = "testdata/ws", flags = {})
                              evaluates a snippet (as a file beside the test) or a
                              workspace in plan mode and returns its rules (kind,
                              name, attrs, deps, inputs, outputs, key), so macros are
                              tested without Docker

It prints a line per test and per file, as go test -v does. Exit codes: 0 every test
passed; 1 a test failed; 2 bad usage or a test file that does not load. See
docs/testing.md.`,
		Example: `  ferry test
  ferry test lib/ -run 'test_go_.*'
  ferry test --junit star-junit.xml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := startest.Options{Out: a.stdout, Events: a.bus, Sources: moduleSources(), Modules: a.modules}
			if run != "" {
				re, err := regexp.Compile(run)
				if err != nil {
					return fmt.Errorf("-run %q: %v; give a regular expression (RE2)", run, err)
				}
				o.Run = re
			}
			root, project, err := a.starRoot()
			if err != nil {
				return err
			}
			o.Root = root
			o.Plugins = func() []engine.Plugin { return a.plugins(project) }
			o.Paths = a.paths(args)
			// Created first, so a wrong path fails at once.
			report, err := a.create("--junit", junit)
			if err != nil {
				return err
			}
			rep, err := startest.Run(cmd.Context(), o)
			if err != nil {
				report.Close()
				return err
			}
			if err := report.WriteReport("JUnit", rep.JUnit().Write, a.bus.Logf); err != nil {
				return err
			}
			return testOutcome(a, rep)
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "run only the tests whose function name matches `REGEXP` (-run, as go test takes it, works too)")
	cmd.Flags().StringVar(&junit, "junit", "", "write a JUnit XML report to `FILE`: a test suite per file")
	return cmd
}

// testOutcome prints the summary line of a run and returns its exit code.
func testOutcome(a *app, rep *startest.Report) error {
	fmt.Fprintln(a.stdout, rep.Summary())
	switch {
	case rep.Broken():
		return &exitCodeError{code: exitConfig, msg: "ferry test: a test file did not load; fix the error above"}
	case rep.Failed():
		return &exitCodeError{code: exitFailed}
	}
	return nil
}

// starRoot returns the folder whose Starlark files test, fmt and doc work
// on: the workspace's root, or, in a folder of no workspace (a module's
// repository, which may have no ferry.star), the folder -C names.
func (a *app) starRoot() (root, project string, err error) {
	s, err := a.session()
	if err == nil {
		return s.Workspace.Root, s.Project, nil
	}
	if !errors.Is(err, engine.ErrNoWorkspace) || a.file != "" {
		return "", "", err
	}
	root, err = filepath.Abs(a.dir)
	return root, "", err
}
