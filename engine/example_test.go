package engine_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"

	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// workspace writes a ferry.star into a new temporary folder and returns
// the folder.
func workspace(src string) string {
	dir, err := os.MkdirTemp("", "ferry-example")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, engine.FileName), []byte(src), 0o644); err != nil {
		log.Fatal(err)
	}
	return dir
}

// A command opens a session on the workspace, loads it (evaluates
// ferry.star and checks the graph), and runs rules. A rule whose key has
// not changed since its last success is not run again.
func Example() {
	dir := workspace(`task(name = "hello", cmd = "echo hello")` + "\n")
	defer os.RemoveAll(dir)

	// Every event (here, each line a rule prints) goes to the bus's sinks,
	// redacted by its redactor.
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) {
		if e.Kind == engine.EventOutput {
			fmt.Printf("%s: %s\n", e.Rule, e.Text)
		}
	}))
	s, err := engine.Open(engine.SessionOptions{
		Dir:     dir,
		Plugins: func(*engine.Session) []engine.Plugin { return []engine.Plugin{core.Plugin{}} },
		Events:  bus,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for range 2 {
		l, err := s.Load(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		sum, err := l.Run(ctx, nil, engine.RunOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("ran %v, cached %v\n", sum.Ran, sum.Cached)
	}
	// Output:
	// hello: hello
	// ran [hello], cached []
	// ran [], cached [hello]
}

// Plan says what a run would run, and why, without running anything.
func ExampleLoaded_Plan() {
	dir := workspace(`task(name = "build", cmd = "true")` + "\n")
	defer os.RemoveAll(dir)
	s, err := engine.Open(engine.SessionOptions{
		Dir:     dir,
		Plugins: func(*engine.Session) []engine.Plugin { return []engine.Plugin{core.Plugin{}} },
		Events:  engine.NewBus(redact.New()),
	})
	if err != nil {
		log.Fatal(err)
	}
	l, err := s.Load(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	items, err := l.Plan(context.Background(), nil, false)
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range items {
		fmt.Printf("%s %s: run %v (%s)\n", it.Kind, it.Rule, it.Run, engine.ReasonText(it.Reasons))
	}
	// Output:
	// task build: run true (never ran)
}

// No sink of a bus sees a value its redactor knows: the secret plugin
// feeds the redactor each secret it reads.
func ExampleNewBus() {
	r := redact.New()
	bus := engine.NewBus(r, engine.SinkFunc(func(e engine.Event) { fmt.Println(e.Text) }))
	if err := r.Add("token", "s3cr3t-value-42"); err != nil {
		log.Fatal(err)
	}
	bus.Logf(engine.LevelInfo, "logging in with s3cr3t-value-42")
	// Output:
	// logging in with [redacted token]
}

// notes is the per-evaluation state of notePlugin.
type notes struct {
	mu   sync.Mutex
	list []string
}

// notePlugin declares note(text), which records into the evaluation's
// notes instead of a field of the plugin: a plugin holds no state.
type notePlugin struct{}

func (notePlugin) NewState() any { return &notes{} }

func (notePlugin) Builtins() []*engine.Builtin {
	return []*engine.Builtin{{
		Name:   "note",
		Params: []engine.Param{{Name: "text", Type: engine.String, Required: true, Positional: true}},
		Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
			n := engine.StateOf[*notes](thread)
			n.mu.Lock()
			defer n.mu.Unlock()
			n.list = append(n.list, c.String("text"))
			return starlark.None, nil
		},
	}}
}

// A StatePlugin's builtins record what ferry.star declares into state made
// for each evaluation; a command reads it from the evaluation.
func ExampleStateOf() {
	dir := workspace(`note("first")` + "\n" + `note("second")` + "\n")
	defer os.RemoveAll(dir)
	s, err := engine.Open(engine.SessionOptions{
		Dir:     dir,
		Plugins: func(*engine.Session) []engine.Plugin { return []engine.Plugin{notePlugin{}} },
		Events:  engine.NewBus(redact.New()),
	})
	if err != nil {
		log.Fatal(err)
	}
	l, err := s.Load(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(engine.EvaluationState[*notes](l.Result.Eval).list)
	// Output:
	// [first second]
}
