package engine

import (
	"time"

	"go.starlark.net/starlark"
)

// Argument types for Builtin parameters.
var (
	String     Type = stringType{}
	Bool       Type = boolType{}
	Int        Type = intType{}
	Duration   Type = durationType{}
	StringList Type = stringListType{}
	StringDict Type = stringDictType{}
	Command    Type = commandType{}
	Function   Type = callableType{}
	AnyValue   Type = anyType{}
)

type stringType struct{}

func (stringType) Describe() string { return "string" }
func (stringType) Convert(v starlark.Value) (any, bool) {
	s, ok := v.(starlark.String)
	return string(s), ok
}

type boolType struct{}

func (boolType) Describe() string { return "bool" }
func (boolType) Convert(v starlark.Value) (any, bool) {
	b, ok := v.(starlark.Bool)
	return bool(b), ok
}

type intType struct{}

func (intType) Describe() string { return "int" }
func (intType) Convert(v starlark.Value) (any, bool) {
	i, ok := v.(starlark.Int)
	if !ok {
		return nil, false
	}
	n, ok := i.Int64()
	return int(n), ok
}

// durationType accepts Go duration strings ("90s", "5m") or a number of seconds.
type durationType struct{}

func (durationType) Describe() string { return `duration ("30s", "5m") or seconds` }
func (durationType) Convert(v starlark.Value) (any, bool) {
	switch v := v.(type) {
	case starlark.String:
		d, err := time.ParseDuration(string(v))
		return d, err == nil && d >= 0
	case starlark.Int:
		n, ok := v.Int64()
		return time.Duration(n) * time.Second, ok && n >= 0
	case starlark.Float:
		return time.Duration(float64(v) * float64(time.Second)), v >= 0
	}
	return nil, false
}

type stringListType struct{}

func (stringListType) Describe() string { return "list of strings" }
func (stringListType) Convert(v starlark.Value) (any, bool) {
	return stringsOf(v)
}

func stringsOf(v starlark.Value) ([]string, bool) {
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return nil, false
	}
	if _, isStr := v.(starlark.String); isStr {
		return nil, false
	}
	out := make([]string, seq.Len())
	for i := range out {
		s, ok := seq.Index(i).(starlark.String)
		if !ok {
			return nil, false
		}
		out[i] = string(s)
	}
	return out, true
}

type stringDictType struct{}

func (stringDictType) Describe() string { return "dict of string to string" }
func (stringDictType) Convert(v starlark.Value) (any, bool) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, d.Len())
	for _, item := range d.Items() {
		k, ok1 := item[0].(starlark.String)
		val, ok2 := item[1].(starlark.String)
		if !ok1 || !ok2 {
			return nil, false
		}
		out[string(k)] = string(val)
	}
	return out, true
}

// Cmd is a command given either as a shell string or as an argv list.
type Cmd struct {
	Shell string   // run by /bin/sh -c when Argv is nil
	Argv  []string // run directly, no shell
}

type commandType struct{}

func (commandType) Describe() string {
	return "string (run by /bin/sh -c) or list of strings (argv)"
}
func (commandType) Convert(v starlark.Value) (any, bool) {
	if s, ok := v.(starlark.String); ok {
		return Cmd{Shell: string(s)}, true
	}
	argv, ok := stringsOf(v)
	return Cmd{Argv: argv}, ok
}

type callableType struct{}

func (callableType) Describe() string { return "function" }
func (callableType) Convert(v starlark.Value) (any, bool) {
	c, ok := v.(starlark.Callable)
	return c, ok
}

type anyType struct{}

func (anyType) Describe() string                     { return "any value" }
func (anyType) Convert(v starlark.Value) (any, bool) { return v, true }
