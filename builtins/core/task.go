package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

// Task is a build rule that runs a command or a run-time action.
type Task struct {
	info engine.RuleInfo
	cmd  engine.Cmd
	fn   starlark.Callable // run-time action, when cmd is empty
	srcs []string
	outs []string
	dir  string
	env  map[string]string
	// secrets are added to env when the task runs.
	secrets map[string]engine.Secret
	ev      *engine.Evaluation
	// found recognises secret values in what ctx.sh and ctx.read return;
	// nil for none.
	found engine.SecretFinder
	// grace is how long a serve task's processes have between SIGTERM
	// and SIGKILL when it is stopped.
	grace time.Duration
}

var taskBuiltin = &engine.Builtin{
	Name:       "task",
	Permission: "commands",
	Reusable:   true,
	Doc: "Declares a build rule that runs a command, or a Starlark function at run time. " +
		"It reruns only when its key changes: its definition, the contents of `srcs`, or the keys of `deps`; " +
		"or when a declared output is missing or was modified. Paths are relative to the folder of the file that declares the task.",
	Params: append([]engine.Param{
		{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "Unique name of the rule."},
		{Name: "cmd", Type: engine.Command, Doc: "The command: a string runs with `/bin/sh -c`, a list runs as argv with no shell. Give `cmd` or `run`."},
		{Name: "run", Type: engine.Function, Doc: "A function `fn(ctx)` called when the rule runs, instead of `cmd`; see [run-time actions](#run-time-actions)."},
		{Name: "srcs", Type: engine.StringList, Default: "[]", Doc: "Input files or folders (folders count every file below them); usually `glob(...)`. " +
			"A symbolic link counts by its target string, and a linked folder is not entered: see [symbolic links](getting-started.md#symbolic-links)."},
		{Name: "outs", Type: engine.StringList, Default: "[]", Doc: "Files the task must write; a missing or modified one reruns it."},
		{Name: "deps", Type: engine.StringList, Default: "[]", Doc: "Names of rules that must succeed first; their keys are part of this one's."},
		{Name: "dir", Type: engine.String, Default: `"."`, Doc: "Working folder of the command."},
		{Name: "env", Type: engine.StringDict, Default: "{}", Doc: "Environment variables added to ferry's own, which lacks the variables that `secret(env = ...)` reads: give those in `secrets`."},
		{Name: "secrets", Type: engine.SecretDict, Default: "{}", Doc: "Environment variables whose values are `secret()`s, read when the task runs; " +
			"the key counts each secret's name and source, not its value. See [secrets](secrets.md)."},
		{Name: "timeout", Type: engine.Duration, Doc: "Kill the command and every process it started after this long."},
		{Name: "retries", Type: engine.Int, Default: "0", Doc: "Run again this many times after a failure."},
		{Name: "cache", Type: engine.Bool, Default: "True", Doc: "False: run every time the task is selected (deploy steps, say)."},
		{Name: "serve", Type: engine.Bool, Default: "False", Doc: "True: `cmd` is a long-running process, such as a dev server; see [dev servers](watch.md#dev-servers). " +
			"`ferry watch` starts it once its deps succeed and restarts it when its key changes; `ferry run NAME` runs it in the foreground until it exits or Ctrl-C. " +
			"A serve task is not run by `ferry run` with no names, has no `outs`, `timeout`, `retries` or `run`, and no rule can depend on it."},
		{Name: "grace", Type: engine.Duration, Default: `"5s"`, Doc: "For a serve task: how long its processes have to exit after SIGTERM before SIGKILL, when it is stopped or restarted."},
		{Name: "doc", Type: engine.String, Doc: "One line shown by `ferry graph` and `ferry plan`."},
	}, engine.RuleAttrParams...),
	Returns: "the rule's name, to use in `deps`.",
	// Impl is set by Plugin.Builtins, to declareTask with its SecretFinder.
}

func declareTask(thread *starlark.Thread, c *engine.Call, found engine.SecretFinder) (starlark.Value, error) {
	ev, err := engine.Declaring(thread, c)
	if err != nil {
		return nil, err
	}
	dir := engine.ModuleDir(thread)
	t := &Task{
		info: engine.RuleInfo{
			Name:    c.String("name"),
			Kind:    "task",
			Pos:     c.Pos,
			Deps:    c.Strings("deps"),
			Doc:     c.String("doc"),
			Default: true,
			Timeout: c.Duration("timeout", 0),
			Retries: c.Int("retries", 0),
			NoCache: !c.Bool("cache", true),
		},
		env:     c.StringMap("env"),
		secrets: secretsOf(c),
		ev:      ev,
		found:   found,
		grace:   c.Duration("grace", defaultGrace),
	}
	if t.info.Name == "" || strings.ContainsAny(t.info.Name, " \t\n,") {
		return nil, c.Errorf("name must be non-empty, with no spaces or commas")
	}
	if err := engine.SetRuleAttrs(c, &t.info); err != nil {
		return nil, err
	}
	if t.info.Retries < 0 {
		return nil, c.Errorf("retries: got %d, want 0 or more", t.info.Retries)
	}
	switch {
	case c.Has("cmd") && c.Has("run"):
		return nil, c.Errorf("give cmd or run, not both")
	case c.Has("cmd"):
		t.cmd = c.Value("cmd").(engine.Cmd)
		if t.cmd.Argv == nil && strings.TrimSpace(t.cmd.Shell) == "" || t.cmd.Argv != nil && len(t.cmd.Argv) == 0 {
			return nil, c.Errorf("cmd must not be empty")
		}
	case c.Has("run"):
		t.fn = c.Value("run").(starlark.Callable)
	default:
		return nil, c.Errorf("missing cmd (a shell string or an argv list) or run (a function)")
	}
	if t.srcs, err = wsPaths(dir, c.Strings("srcs")); err != nil {
		return nil, c.Errorf("srcs: %v", err)
	}
	if t.outs, err = wsPaths(dir, c.Strings("outs")); err != nil {
		return nil, c.Errorf("outs: %v", err)
	}
	if t.dir, err = engine.JoinPath(dir, c.String("dir")); err != nil {
		return nil, c.Errorf("dir: %v", err)
	}
	if err := checkServe(c, t); err != nil {
		return nil, err
	}
	if err := checkSecrets(c, t); err != nil {
		return nil, err
	}
	if err := ev.AddRule(thread, t); err != nil {
		return nil, err
	}
	return starlark.String(t.info.Name), nil
}

// Info returns the rule's metadata.
func (t *Task) Info() *engine.RuleInfo { return &t.info }

// Inputs returns the task's srcs.
func (t *Task) Inputs(context.Context) ([]string, error) { return t.srcs, nil }

// Outputs returns the task's outs.
func (t *Task) Outputs() []string { return t.outs }

// Definition adds the command, environment, folder and outputs to h.
func (t *Task) Definition(_ context.Context, h *engine.Hasher) error {
	h.String(t.cmd.Shell).String(fmt.Sprint(len(t.cmd.Argv)))
	for _, a := range t.cmd.Argv {
		h.String(a)
	}
	if t.fn != nil {
		h.String(functionID(t.ev, t.fn))
	}
	h.String(t.dir)
	keys := make([]string, 0, len(t.env))
	for k := range t.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.String(k).String(t.env[k])
	}
	for _, k := range slices.Sorted(maps.Keys(t.secrets)) {
		h.String("secret").String(k).String(t.secrets[k].SecretName()).String(t.secrets[k].Source())
	}
	for _, o := range t.outs {
		h.String(o)
	}
	if t.info.Serve {
		h.String("serve")
	}
	return nil
}

// Run runs the command or the run-time action.
func (t *Task) Run(rc *engine.RunContext) error {
	tree := rc.Workspace.Tree()
	var le *engine.LinkError
	switch fi, err := tree.Stat(t.dir); {
	case errors.As(err, &le):
		return fmt.Errorf("its folder (dir = %q at %s): %w", t.dir, t.info.Pos, err)
	case err != nil || !fi.IsDir():
		return fmt.Errorf("its folder %s (dir = %q at %s) does not exist; create it or fix dir", t.dir, t.dir, t.info.Pos)
	}
	dir := rc.Workspace.Path(t.dir)
	if t.fn != nil {
		return t.runAction(rc, dir)
	}
	env, err := t.environ(rc)
	if err != nil {
		return err
	}
	if t.info.Serve {
		return t.serve(rc, dir, env)
	}
	for _, o := range t.outs {
		if err := tree.MkdirAll(path.Dir(o), 0o755); err != nil {
			return fmt.Errorf("the folder of its output %s (declared at %s): %w", o, t.info.Pos, err)
		}
	}
	return runCommand(rc, t.ev, t.cmd, dir, env, rc.Stdout, rc.Stderr, killGrace)
}

// functionID identifies what a run-time action does: the source of every
// module holding a function it can reach (through the values it closes over,
// its parameter defaults and its module's globals), and those values. It is
// computed after evaluation, when globals are final.
func functionID(ev *engine.Evaluation, c starlark.Callable) string {
	w := &fnWalker{ev: ev, seen: map[starlark.Value]bool{}}
	w.value(c)
	return w.sb.String()
}

type fnWalker struct {
	ev   *engine.Evaluation
	sb   strings.Builder
	seen map[starlark.Value]bool
}

func (w *fnWalker) value(v starlark.Value) {
	switch v := v.(type) {
	case *starlark.Function:
		if w.seen[v] {
			return
		}
		w.seen[v] = true
		pos := v.Position()
		fmt.Fprintf(&w.sb, "func %s@%s:%s\n", v.Name(), pos, w.ev.SourceDigest(pos.Filename()))
		for i := 0; i < v.NumFreeVars(); i++ {
			b, fv := v.FreeVar(i)
			fmt.Fprintf(&w.sb, "free %s=", b.Name)
			w.value(fv)
		}
		for i := 0; i < v.NumParams(); i++ {
			if d := v.ParamDefault(i); d != nil {
				fmt.Fprintf(&w.sb, "default %d=", i)
				w.value(d)
			}
		}
		globals := v.Globals()
		for _, k := range globals.Keys() {
			fmt.Fprintf(&w.sb, "global %s=", k)
			w.value(globals[k])
		}
	case *starlark.List, starlark.Tuple, *starlark.Dict:
		if w.seen[v] {
			return
		}
		if _, isTuple := v.(starlark.Tuple); !isTuple {
			w.seen[v] = true
		}
		fmt.Fprintf(&w.sb, "%s[\n", v.Type())
		iter := v.(starlark.Iterable).Iterate()
		defer iter.Done()
		var x starlark.Value
		for iter.Next(&x) {
			w.value(x)
			if d, ok := v.(*starlark.Dict); ok {
				val, _, _ := d.Get(x)
				w.value(val)
			}
		}
		w.sb.WriteString("]\n")
	default:
		fmt.Fprintf(&w.sb, "%s\n", v)
	}
}

// wsPaths joins each of ps as engine.JoinPath does.
func wsPaths(dir string, ps []string) ([]string, error) {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		j, err := engine.JoinPath(dir, p)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}
