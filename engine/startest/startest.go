// Package startest runs the tests of Starlark modules: the test_*
// functions of *_test.star files, with an assert module and evaluate(),
// which evaluates a workspace or a snippet in plan mode so that a test can
// check the rules a macro declares without running anything (`ferry test`).
package startest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/cireport"
	"github.com/ferryhq/ferry/engine/redact"
)

// Suffix ends the name of every test file.
const Suffix = "_test.star"

// Options configure a run.
type Options struct {
	// Root is the workspace root: test files are evaluated as files of
	// it, so their loads of //path resolve there.
	Root string
	// Paths are the test files and folders to run, absolute or relative
	// to Root; none means every test file under Root (see Find).
	Paths []string
	// Run, when set, selects the tests whose function name it matches.
	Run *regexp.Regexp
	// Plugins returns the plugins of one evaluation: their builtins are
	// predeclared in test files and in what evaluate() evaluates.
	Plugins func() []engine.Plugin
	// Sources are the module repositories beside the workspace (@std).
	Sources map[string]engine.ModuleSource
	// Modules resolves the shared modules of a workspace's ferry.mod, as
	// ferry plan does (nil: none): the test files and evaluate(src = ...)
	// load those of Root, evaluate(dir = ...) those of the folder it
	// evaluates, each with its own grants.
	Modules func(ctx context.Context, ws *engine.Workspace) (*engine.Modules, error)
	// Events receives what the files evaluate() evaluates print; nil
	// discards it. What tests print is in their Output.
	Events *engine.Bus
	// Out receives a line per test and per file, as `go test -v` prints.
	Out io.Writer
}

// A Report is the outcome of a run.
type Report struct {
	Files []*File
	Time  time.Duration
}

// A File is the outcome of one test file.
type File struct {
	Path  string // workspace-relative slash path
	Err   error  // the file could not be loaded: no test of it ran
	Tests []*Test
	Time  time.Duration
}

// A Test is the outcome of one test function.
type Test struct {
	Name string
	Pos  syntax.Position
	Time time.Duration
	Err  error // nil when it passed
	// Output holds what the test printed, a line per print() with its
	// position, as go test shows what a test logs.
	Output []string
}

// Failed reports whether a test failed.
func (r *Report) Failed() bool {
	for _, f := range r.Files {
		for _, t := range f.Tests {
			if t.Err != nil {
				return true
			}
		}
	}
	return false
}

// Broken reports whether a test file could not be loaded.
func (r *Report) Broken() bool {
	return slices.ContainsFunc(r.Files, func(f *File) bool { return f.Err != nil })
}

// Summary is the line that ends a run, as `ferry test` prints it: no test
// files, FAIL with the counts (and that a file did not load), or ok.
func (r *Report) Summary() string {
	passed, failed := r.Counts()
	switch {
	case len(r.Files) == 0:
		return fmt.Sprintf("no test files (*%s)", Suffix)
	case r.Broken():
		return fmt.Sprintf("FAIL: %d passed, %d failed; a test file did not load (%.3fs)", passed, failed, r.Time.Seconds())
	case failed > 0:
		return fmt.Sprintf("FAIL: %d passed, %d failed (%.3fs)", passed, failed, r.Time.Seconds())
	}
	return fmt.Sprintf("ok: %d passed in %d files (%.3fs)", passed, len(r.Files), r.Time.Seconds())
}

// Counts returns how many tests passed and failed.
func (r *Report) Counts() (passed, failed int) {
	for _, f := range r.Files {
		for _, t := range f.Tests {
			if t.Err != nil {
				failed++
			} else {
				passed++
			}
		}
	}
	return passed, failed
}

// JUnit returns the report as JUnit XML: a suite per file, a case per test;
// a file that could not be loaded is a failed case named "(load)".
func (r *Report) JUnit() *cireport.Report {
	out := &cireport.Report{Name: "ferry test", Time: cireport.Seconds(r.Time)}
	for _, f := range r.Files {
		s := cireport.Suite{Name: f.Path, Time: cireport.Seconds(f.Time)}
		if f.Err != nil {
			s.Cases = append(s.Cases, cireport.Case{Name: "(load)", Classname: f.Path, File: f.Path,
				Failure: &cireport.Failure{Message: firstLine(f.Err.Error()), Type: "load", Text: f.Err.Error()}})
		}
		for _, t := range f.Tests {
			c := cireport.Case{Name: t.Name, Classname: f.Path, File: f.Path, Line: int(t.Pos.Line), Time: cireport.Seconds(t.Time), SystemOut: strings.Join(t.Output, "\n")}
			if t.Err != nil {
				c.Failure = &cireport.Failure{Message: firstLine(t.Err.Error()), Text: t.Err.Error()}
			}
			s.Cases = append(s.Cases, c)
		}
		out.Suites = append(out.Suites, s)
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Find returns the test files that paths name (files must end in
// _test.star; folders are searched recursively), or every one under root
// when paths is empty, as engine.FindFiles finds them.
func Find(root string, paths []string) ([]string, error) {
	return engine.FindFiles(root, paths, func(base string) bool { return strings.HasSuffix(base, Suffix) }, "test files (*"+Suffix+")")
}

// runner is one run: the options and its context.
type runner struct {
	ctx context.Context
	o   Options
	// opened are the workspaces opened for the current test file, whose
	// folders are closed once its tests have run.
	opened []*engine.Workspace
	// modules are the module graphs resolved so far, by workspace root:
	// each is resolved once a run.
	modules map[string]*engine.Modules
}

// modulesOf returns the shared modules of the workspace ws, resolved once
// a run.
func (r *runner) modulesOf(ws *engine.Workspace) (*engine.Modules, error) {
	if r.o.Modules == nil {
		return nil, nil
	}
	if m, ok := r.modules[ws.Root]; ok {
		return m, nil
	}
	m, err := r.o.Modules(r.ctx, ws)
	if err != nil {
		return nil, err
	}
	r.modules[ws.Root] = m
	return m, nil
}

// workspace returns the workspace of root with main file file, closed
// when the current test file is done.
func (r *runner) workspace(root, file string) *engine.Workspace {
	ws := &engine.Workspace{Root: root, File: file}
	r.opened = append(r.opened, ws)
	return ws
}

// Run runs the tests of the files that o names and prints a line per test
// and per file on o.Out. Only a failure to find the files is an error:
// failed tests and files that do not load are in the Report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Events == nil {
		o.Events = engine.NewBus(redact.New())
	}
	if o.Plugins == nil {
		o.Plugins = func() []engine.Plugin { return nil }
	}
	files, err := Find(o.Root, o.Paths)
	if err != nil {
		return nil, err
	}
	r := &runner{ctx: ctx, o: o, modules: map[string]*engine.Modules{}}
	// The workspace's modules are resolved before any test file: an error
	// there (a module ferry.lock does not pin, under --locked) fails the
	// run, as it fails ferry plan.
	if _, err := r.modulesOf(&engine.Workspace{Root: o.Root}); err != nil {
		return nil, err
	}
	rep := &Report{}
	start := time.Now()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rep.Files = append(rep.Files, r.file(f))
	}
	rep.Time = time.Since(start)
	return rep, ctx.Err()
}

// file loads the test file at abs and runs its tests.
func (r *runner) file(abs string) *File {
	rel, _ := filepath.Rel(r.o.Root, abs)
	rel = filepath.ToSlash(rel)
	f := &File{Path: rel}
	start := time.Now()
	defer func() {
		for _, ws := range r.opened {
			ws.Tree().Close()
		}
		r.opened = nil
		f.Time = time.Since(start)
		switch {
		case f.Err != nil:
			fmt.Fprintf(r.o.Out, "FAIL\t%s [load failed]\n%s\n", rel, indent(f.Err.Error()))
		case slices.ContainsFunc(f.Tests, func(t *Test) bool { return t.Err != nil }):
			fmt.Fprintf(r.o.Out, "FAIL\t%s\t%.3fs\n", rel, f.Time.Seconds())
		case len(f.Tests) == 0:
			fmt.Fprintf(r.o.Out, "ok  \t%s\t%.3fs [no tests to run]\n", rel, f.Time.Seconds())
		default:
			fmt.Fprintf(r.o.Out, "ok  \t%s\t%.3fs\n", rel, f.Time.Seconds())
		}
	}()
	mods, err := r.modulesOf(&engine.Workspace{Root: r.o.Root})
	if err != nil {
		f.Err = err
		return f
	}
	res, err := engine.Evaluate(r.ctx, engine.Options{
		Workspace:   r.workspace(r.o.Root, abs),
		Plugins:     r.o.Plugins(),
		Sources:     r.o.Sources,
		Modules:     mods,
		Events:      r.o.Events,
		Predeclared: starlark.StringDict{"assert": assertModule, "evaluate": r.evaluateBuiltin(rel)},
	})
	if err != nil {
		f.Err = err
		return f
	}
	var tests []*starlark.Function
	for name, v := range res.Globals {
		fn, ok := v.(*starlark.Function)
		if !ok || !strings.HasPrefix(name, "test_") || fn.Position().Filename() != rel {
			continue
		}
		if r.o.Run != nil && !r.o.Run.MatchString(name) {
			continue
		}
		tests = append(tests, fn)
	}
	sort.Slice(tests, func(i, j int) bool { return tests[i].Position().Line < tests[j].Position().Line })
	for _, fn := range tests {
		t := r.test(fn)
		f.Tests = append(f.Tests, t)
		if t.Err != nil {
			fmt.Fprintf(r.o.Out, "--- FAIL: %s (%.2fs)\n", t.Name, t.Time.Seconds())
		} else {
			fmt.Fprintf(r.o.Out, "--- PASS: %s (%.2fs)\n", t.Name, t.Time.Seconds())
		}
		for _, line := range t.Output {
			fmt.Fprintln(r.o.Out, indent(line))
		}
		if t.Err != nil {
			fmt.Fprintln(r.o.Out, indent(t.Err.Error()))
		}
	}
	return f
}

// test calls one test function on a thread of its own.
func (r *runner) test(fn *starlark.Function) *Test {
	t := &Test{Name: fn.Name(), Pos: fn.Position()}
	if fn.NumParams() > 0 {
		t.Err = engine.Errorf(fn.Position(), "%s takes parameters; a test function takes none", fn.Name())
		return t
	}
	th := &starlark.Thread{Name: "test " + fn.Name(), Print: func(th *starlark.Thread, msg string) {
		if th.CallStackDepth() > 1 {
			msg = th.CallFrame(1).Pos.String() + ": " + msg
		}
		t.Output = append(t.Output, msg)
	}}
	th.SetMaxExecutionSteps(engine.DefaultMaxSteps)
	stop := context.AfterFunc(r.ctx, func() { th.Cancel("interrupted") })
	defer stop()
	start := time.Now()
	_, err := starlark.Call(th, fn, nil, nil)
	t.Time = time.Since(start)
	if err != nil {
		var ee *starlark.EvalError
		if errors.As(err, &ee) {
			err = engine.PositionError(ee)
		}
		t.Err = err
	}
	return t
}

// indent indents each line of s by four spaces, as go test indents a
// failure's message.
func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
