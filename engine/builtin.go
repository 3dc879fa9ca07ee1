package engine

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// A Builtin is one Starlark builtin function defined once: its parameters drive
// argument checking, `ferry doc` and the generated reference page.
type Builtin struct {
	Name    string // "task", or "os.env" for a member of a module
	Doc     string // first sentence is the summary
	Params  []Param
	Returns string // what the call returns, for the reference; empty for None
	// RunTimeOnly builtins have effects; evaluation rejects them at load time
	// and they work only inside run-time actions (task(run = fn)).
	RunTimeOnly bool
	// Permission, when set, is the permission (one of Permissions) that a
	// shared module must have for the builtin to be called while the
	// module's code is on the call stack.
	Permission string
	// WorkspaceOnly builtins change how ferry treats the whole workspace
	// (which security findings it ignores): no shared module may call
	// them, whatever it is granted.
	WorkspaceOnly bool
	// Reusable builtins depend, while ferry.star is evaluated, on nothing
	// but their arguments and what they record (files read with
	// RecordFile, paths looked up with RecordLookup, environment variables
	// read through Getenv), and have no effect a run must repeat. Calling
	// any other builtin during evaluation makes the next run evaluate
	// again rather than trust a no-op record (see Session.UpToDate).
	Reusable bool
	Impl     func(thread *starlark.Thread, c *Call) (starlark.Value, error)
	// Constant, when set, makes the entry a documented value instead of a function.
	Constant starlark.Value
}

// A Param is one parameter of a Builtin. Every parameter may be passed by
// keyword; the first Positional ones may also be passed by position.
type Param struct {
	Name       string
	Type       Type
	Required   bool
	Positional bool
	Default    string // shown in the reference
	Doc        string
}

// A Type checks and converts a Starlark argument.
type Type interface {
	// Describe names the type for messages and docs ("list of strings").
	Describe() string
	// Convert returns the Go value for v, or false when v has the wrong type.
	Convert(v starlark.Value) (any, bool)
}

// A Call holds the checked arguments of one call to a Builtin.
type Call struct {
	Builtin  *Builtin
	Pos      syntax.Position // position of the caller
	Receiver starlark.Value  // the value a method is bound to, or nil
	args     map[string]any
	raw      map[string]starlark.Value
}

// Has reports whether the argument was given.
func (c *Call) Has(name string) bool { _, ok := c.args[name]; return ok }

// Raw returns the argument as the Starlark value that was passed, or nil.
func (c *Call) Raw(name string) starlark.Value { return c.raw[name] }

// String returns a string argument, or "" when absent.
func (c *Call) String(name string) string { s, _ := c.args[name].(string); return s }

// Strings returns a list-of-strings argument, or nil when absent.
func (c *Call) Strings(name string) []string { s, _ := c.args[name].([]string); return s }

// StringMap returns a dict-of-strings argument, or nil when absent.
func (c *Call) StringMap(name string) map[string]string {
	m, _ := c.args[name].(map[string]string)
	return m
}

// Int returns an int argument, or def when absent.
func (c *Call) Int(name string, def int) int {
	if v, ok := c.args[name].(int); ok {
		return v
	}
	return def
}

// Bool returns a bool argument, or def when absent.
func (c *Call) Bool(name string, def bool) bool {
	if v, ok := c.args[name].(bool); ok {
		return v
	}
	return def
}

// Duration returns a duration argument, or def when absent.
func (c *Call) Duration(name string, def time.Duration) time.Duration {
	if v, ok := c.args[name].(time.Duration); ok {
		return v
	}
	return def
}

// Value returns the converted argument as is, or nil.
func (c *Call) Value(name string) any { return c.args[name] }

// Errorf returns an error prefixed with the call's subject, such as `task "api": `.
func (c *Call) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", c.subject(), fmt.Sprintf(format, args...))
}

func (c *Call) subject() string {
	if name, ok := c.raw["name"].(starlark.String); ok {
		return fmt.Sprintf("%s %q", c.Builtin.Name, string(name))
	}
	return c.Builtin.Name
}

// Value returns the Starlark value for the builtin.
func (b *Builtin) Value() starlark.Value {
	if b.Constant != nil {
		return b.Constant
	}
	short := b.Name[strings.LastIndex(b.Name, ".")+1:]
	return starlark.NewBuiltin(short, func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if b.RunTimeOnly && !IsRunTime(thread) {
			return nil, fmt.Errorf("%s has effects, so it works only inside a run-time action (task(run = fn)), never while ferry.star is evaluated; move the call into the action's function", b.Name)
		}
		if b.Permission != "" {
			if err := Permit(thread, b.Permission, b.Name); err != nil {
				return nil, err
			}
		}
		if b.WorkspaceOnly {
			if alias, pos := sharedOnStack(thread); alias != "" {
				return nil, fmt.Errorf("%s: module @%s (%s) cannot call it: it is for the workspace's own files, which decide how ferry treats the workspace", b.Name, alias, pos)
			}
		}
		if !b.Reusable && !IsRunTime(thread) {
			if ev := EvaluationOf(thread); ev != nil {
				ev.NotReusable(b.Name)
			}
		}
		c, err := b.unpack(thread, args, kwargs)
		if err != nil {
			return nil, err
		}
		c.Receiver = fn.Receiver()
		v, err := b.Impl(thread, c)
		if err == nil {
			if ev := EvaluationOf(thread); ev != nil {
				ev.recordAttrs(c)
			}
		}
		return v, err
	})
}

func (b *Builtin) unpack(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (*Call, error) {
	c := &Call{Builtin: b, args: map[string]any{}, raw: map[string]starlark.Value{}}
	if thread.CallStackDepth() > 1 {
		c.Pos = thread.CallFrame(1).Pos
	}
	nPos := 0
	for _, p := range b.Params {
		if p.Positional {
			nPos++
		}
	}
	if len(args) > nPos {
		return nil, fmt.Errorf("%s: got %d positional arguments, want at most %d", b.Name, len(args), nPos)
	}
	for i, v := range args {
		c.raw[b.Params[i].Name] = v
	}
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		if b.param(k) == nil {
			names := make([]string, len(b.Params))
			for i, p := range b.Params {
				names[i] = p.Name
			}
			msg := fmt.Sprintf("unexpected keyword argument %q", k)
			if s := Suggest(k, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, fmt.Errorf("%s: %s", (&Call{Builtin: b, raw: c.raw}).subject(), msg)
		}
		if _, dup := c.raw[k]; dup {
			return nil, fmt.Errorf("%s: got multiple values for %q", b.Name, k)
		}
		c.raw[k] = kv[1]
	}
	for _, p := range b.Params {
		v, ok := c.raw[p.Name]
		if !ok || v == starlark.None {
			if p.Required {
				return nil, c.Errorf("missing required argument %q (%s)", p.Name, p.Type.Describe())
			}
			delete(c.raw, p.Name)
			continue
		}
		if err := checkSecrets(p, v); err != nil {
			return nil, c.Errorf("%v", err)
		}
		if holdsSecret(v) {
			if err := Permit(thread, "secrets", b.Name+" with a secret in "+p.Name); err != nil {
				return nil, err
			}
		}
		conv, ok := p.Type.Convert(v)
		if !ok {
			return nil, c.Errorf("%s: got %s, want %s", p.Name, v.Type(), p.Type.Describe())
		}
		c.args[p.Name] = conv
	}
	return c, nil
}

func (b *Builtin) param(name string) *Param {
	for i := range b.Params {
		if b.Params[i].Name == name {
			return &b.Params[i]
		}
	}
	return nil
}

// Markdown renders the builtin's reference entry.
func (b *Builtin) Markdown() string {
	var sb strings.Builder
	var sig []string
	for _, p := range b.Params {
		switch {
		case p.Required:
			sig = append(sig, p.Name)
		case p.Default != "":
			sig = append(sig, p.Name+" = "+p.Default)
		default:
			sig = append(sig, p.Name+" = None")
		}
	}
	if b.Constant != nil {
		fmt.Fprintf(&sb, "### `%s`\n\n%s\n", b.Name, b.Doc)
		return sb.String()
	}
	fmt.Fprintf(&sb, "### `%s(%s)`\n\n%s\n", b.Name, strings.Join(sig, ", "), b.Doc)
	if b.RunTimeOnly {
		sb.WriteString("\nAvailable only inside run-time actions (`task(run = fn)`).\n")
	}
	if b.Permission != "" {
		fmt.Fprintf(&sb, "\nA shared module needs permission `%s` to call it (see docs/modules.md).\n", b.Permission)
	}
	if b.WorkspaceOnly {
		sb.WriteString("\nOnly the workspace's own files may call it, never a shared module (see docs/modules.md).\n")
	}
	if len(b.Params) > 0 {
		sb.WriteString("\n| parameter | type | required | description |\n|---|---|---|---|\n")
		for _, p := range b.Params {
			req := ""
			if p.Required {
				req = "yes"
			}
			fmt.Fprintf(&sb, "| `%s` | %s | %s | %s |\n", p.Name, p.Type.Describe(), req, p.Doc)
		}
	}
	if b.Returns != "" {
		fmt.Fprintf(&sb, "\nReturns %s\n", b.Returns)
	}
	return sb.String()
}

// Predeclare groups builtins that share a dotted prefix into Starlark modules and
// returns the predeclared names they define.
func Predeclare(builtins []*Builtin) starlark.StringDict {
	out := starlark.StringDict{}
	modules := map[string]starlark.StringDict{}
	for _, b := range builtins {
		mod, name, ok := strings.Cut(b.Name, ".")
		if !ok {
			out[b.Name] = b.Value()
			continue
		}
		if modules[mod] == nil {
			modules[mod] = starlark.StringDict{}
		}
		modules[mod][name] = b.Value()
	}
	for name, members := range modules {
		out[name] = &starlarkstruct.Module{Name: name, Members: members}
	}
	return out
}

// SortBuiltins orders builtins by name, for the reference.
func SortBuiltins(bs []*Builtin) {
	sort.Slice(bs, func(i, j int) bool { return bs[i].Name < bs[j].Name })
}
