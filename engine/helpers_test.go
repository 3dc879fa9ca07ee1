package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/ferryhq/ferry/engine/redact"
	"go.starlark.net/starlark"
)

// testRule is a minimal rule for engine tests: it records its runs and
// writes its outputs.
type testRule struct {
	info RuleInfo
	def  string
	srcs []string
	outs []string
	fail bool
	// print is written to the rule's standard output, one write each.
	print []string

	mu   sync.Mutex
	runs int
}

func (r *testRule) Info() *RuleInfo                               { return &r.info }
func (r *testRule) Definition(_ context.Context, h *Hasher) error { h.String(r.def); return nil }
func (r *testRule) Inputs(context.Context) ([]string, error)      { return r.srcs, nil }
func (r *testRule) Outputs() []string                             { return r.outs }
func (r *testRule) Run(rc *RunContext) error {
	r.mu.Lock()
	r.runs++
	r.mu.Unlock()
	for _, p := range r.print {
		if _, err := rc.Stdout.Write([]byte(p)); err != nil {
			return err
		}
	}
	if r.fail {
		return os.ErrInvalid
	}
	for _, o := range r.outs {
		if err := os.WriteFile(rc.Workspace.Path(o), []byte(r.info.Name), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// testPlugin declares testRules with rule(name, deps=[], srcs=[], outs=[]),
// and has an effectful builtin, effect(), for the load-time check.
type testPlugin struct{}

func (testPlugin) Builtins() []*Builtin {
	return []*Builtin{
		{
			Name: "rule",
			Params: []Param{
				{Name: "name", Type: String, Required: true, Positional: true},
				{Name: "deps", Type: StringList},
				{Name: "srcs", Type: StringList},
				{Name: "n", Type: Int},
			},
			Impl: func(thread *starlark.Thread, c *Call) (starlark.Value, error) {
				r := &testRule{info: RuleInfo{Name: c.String("name"), Kind: "rule", Pos: c.Pos, Deps: c.Strings("deps"), Default: true}, srcs: c.Strings("srcs")}
				return starlark.None, EvaluationOf(thread).AddRule(thread, r)
			},
		},
		{
			Name:        "net.fetch",
			RunTimeOnly: true,
			Impl:        func(*starlark.Thread, *Call) (starlark.Value, error) { return starlark.None, nil },
		},
	}
}

// writeFiles creates files under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// evaluate writes files into a temp workspace and evaluates its ferry.star,
// with a @lib repository served from memory.
func evaluate(t testing.TB, files map[string]string, lib map[string]string) (*Result, []Event, error) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	mfs := fstest.MapFS{}
	for k, v := range lib {
		mfs[k] = &fstest.MapFile{Data: []byte(v)}
	}
	var events []Event
	var mu sync.Mutex
	bus := NewBus(redact.New(), SinkFunc(func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }))
	res, err := Evaluate(context.Background(), Options{
		Workspace: &Workspace{Root: dir, File: filepath.Join(dir, FileName)},
		Plugins:   []Plugin{testPlugin{}},
		Sources:   map[string]ModuleSource{"lib": FSSource{Repo: "lib", FS: mfs}},
		Events:    bus,
	})
	return res, events, err
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}
