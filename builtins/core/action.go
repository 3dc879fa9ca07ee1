package core

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ferryhq/ferry/engine"
)

// runAction calls the task's function with a context value.
func (t *Task) runAction(rc *engine.RunContext, dir string) error {
	thread, done := t.ev.NewRunTimeThread(rc, t.info.Name)
	defer done()
	ctx := newActionContext(t, rc, dir)
	_, err := starlark.Call(thread, t.fn, starlark.Tuple{ctx}, nil)
	if err != nil {
		return engine.PositionError(err)
	}
	return nil
}

// actionContext is the `ctx` passed to run-time actions.
type actionContext struct {
	task   *Task
	rc     *engine.RunContext
	dir    string
	attrs  starlark.StringDict
	frozen bool
}

func newActionContext(t *Task, rc *engine.RunContext, dir string) *actionContext {
	a := &actionContext{task: t, rc: rc, dir: dir}
	a.attrs = starlark.StringDict{
		"name":    starlark.String(t.info.Name),
		"srcs":    stringList(t.srcs),
		"outs":    stringList(t.outs),
		"changed": stringList(rc.Changed),
		"sh":      shBuiltin.Value(),
		"read":    readBuiltin.Value(),
	}
	return a
}

func stringList(xs []string) *starlark.List {
	vs := make([]starlark.Value, len(xs))
	for i, x := range xs {
		vs[i] = starlark.String(x)
	}
	l := starlark.NewList(vs)
	l.Freeze()
	return l
}

func (a *actionContext) String() string        { return fmt.Sprintf("<ctx %s>", a.task.info.Name) }
func (a *actionContext) Type() string          { return "ctx" }
func (a *actionContext) Freeze()               { a.frozen = true }
func (a *actionContext) Truth() starlark.Bool  { return true }
func (a *actionContext) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: ctx") }
func (a *actionContext) AttrNames() []string   { return a.attrs.Keys() }
func (a *actionContext) Attr(name string) (starlark.Value, error) {
	v, ok := a.attrs[name]
	if !ok {
		return nil, nil
	}
	if b, ok := v.(*starlark.Builtin); ok {
		return b.BindReceiver(a), nil
	}
	return v, nil
}

// actionDocs documents the ctx methods; they are bound to the ctx at run time.
var (
	shBuiltin = &engine.Builtin{
		Name:        "ctx.sh",
		Permission:  "commands",
		Doc:         "Runs a command in the task's folder, streaming its output into the log with the task's prefix. Fails the task on a non-zero exit unless `check = False`.",
		RunTimeOnly: true,
		Params: []engine.Param{
			{Name: "cmd", Type: engine.Command, Required: true, Positional: true, Doc: "A shell string or an argv list."},
			{Name: "env", Type: engine.StringDict, Default: "{}", Doc: "Extra environment variables, added to the task's environment (see `task(env =)`)."},
			{Name: "check", Type: engine.Bool, Default: "True", Doc: "Fail on a non-zero exit code."},
		},
		Returns: "a struct with `code` (int) and `stdout` (string; a `secret` when it holds the value of a secret ferry has read during the run, whole, encoded or within longer text, as the redactor finds them: see [secrets](secrets.md#an-opaque-value)).",
		Impl:    actionSh,
	}
	readBuiltin = &engine.Builtin{
		Name:        "ctx.read",
		Permission:  "files",
		Doc:         "Reads a file, relative to the workspace root (as `ctx.srcs` lists them).",
		RunTimeOnly: true,
		Params: []engine.Param{
			{Name: "path", Type: engine.String, Required: true, Positional: true, Doc: "Workspace-relative path."},
		},
		Returns: "the file's contents as a string; a `secret` when they hold the value of a secret ferry has read during the run, as for `ctx.sh`.",
		Impl:    actionRead,
	}
)

func actionSh(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
	a := c.Receiver.(*actionContext)
	env := map[string]string{}
	for k, v := range a.task.env {
		env[k] = v
	}
	for k, v := range c.StringMap("env") {
		env[k] = v
	}
	var out bytes.Buffer
	err := runCommand(a.rc, a.task.ev, c.Value("cmd").(engine.Cmd), a.dir, env, io.MultiWriter(a.rc.Stdout, &out), a.rc.Stderr, killGrace)
	code := 0
	if err != nil {
		if a.rc.Err() != nil || c.Bool("check", true) {
			return nil, fmt.Errorf("ctx.sh: %v", err)
		}
		var ee *exitError
		if !errors.As(err, &ee) {
			return nil, fmt.Errorf("ctx.sh: %v", err)
		}
		code = ee.code
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"code":   starlark.MakeInt(code),
		"stdout": a.text(out.String(), "the standard output of ctx.sh in task "+a.task.info.Name),
	}), nil
}

// text returns s as a string, or as a secret when it holds the value of a
// secret ferry has read, so that the value stays opaque in Starlark as it
// is in docker.inspect's results. from says where s was read.
func (a *actionContext) text(s, from string) starlark.Value {
	if a.task.found != nil {
		if sec, ok := a.task.found.Find(s, from); ok {
			return sec
		}
	}
	return starlark.String(s)
}

func actionRead(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
	a := c.Receiver.(*actionContext)
	p, err := engine.JoinPath("", c.String("path"))
	if err != nil {
		return nil, fmt.Errorf("ctx.read: %v", err)
	}
	b, err := a.rc.Workspace.Tree().ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("ctx.read: %v", readError(p, err))
	}
	return a.text(string(b), "file "+p), nil
}
