package startest

import (
	"errors"
	"fmt"
	"regexp"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/engine"
)

// assertModule is the assert module of test files. A failed assertion
// stops the test with an error; the runner reports it at the innermost
// position in the user's files, the assert call.
var assertModule = &starlarkstruct.Module{Name: "assert", Members: starlark.StringDict{
	"eq":       starlark.NewBuiltin("eq", assertEq),
	"ne":       starlark.NewBuiltin("ne", assertNe),
	"true":     starlark.NewBuiltin("true", assertTrue),
	"contains": starlark.NewBuiltin("contains", assertContains),
	"fails":    starlark.NewBuiltin("fails", assertFails),
}}

// assertEq fails unless got == want, showing both values.
func assertEq(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var got, want starlark.Value
	var msg string
	if err := starlark.UnpackArgs("assert.eq", args, kwargs, "got", &got, "want", &want, "msg?", &msg); err != nil {
		return nil, err
	}
	eq, err := starlark.Equal(got, want)
	if err != nil {
		return nil, failure(b, msg, "cannot compare %s with %s: %v", got.Type(), want.Type(), err)
	}
	if !eq {
		return nil, failure(b, msg, "the values differ\ngot:  %s\nwant: %s", got, want)
	}
	return starlark.None, nil
}

// assertNe fails when got == unwanted.
func assertNe(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var got, bad starlark.Value
	var msg string
	if err := starlark.UnpackArgs("assert.ne", args, kwargs, "got", &got, "unwanted", &bad, "msg?", &msg); err != nil {
		return nil, err
	}
	eq, err := starlark.Equal(got, bad)
	if err != nil {
		return nil, failure(b, msg, "cannot compare %s with %s: %v", got.Type(), bad.Type(), err)
	}
	if eq {
		return nil, failure(b, msg, "got %s, want any other value", got)
	}
	return starlark.None, nil
}

// assertTrue fails unless cond is true, as if would take it.
func assertTrue(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var cond starlark.Value
	var msg string
	if err := starlark.UnpackArgs("assert.true", args, kwargs, "cond", &cond, "msg?", &msg); err != nil {
		return nil, err
	}
	if !cond.Truth() {
		return nil, failure(b, msg, "got %s, want a true value", cond)
	}
	return starlark.None, nil
}

// assertContains fails unless item in container.
func assertContains(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var container, item starlark.Value
	var msg string
	if err := starlark.UnpackArgs("assert.contains", args, kwargs, "container", &container, "item", &item, "msg?", &msg); err != nil {
		return nil, err
	}
	in, err := starlark.Binary(syntax.IN, item, container)
	if err != nil {
		return nil, failure(b, msg, "cannot look for a %s in a %s: %v", item.Type(), container.Type(), err)
	}
	if !in.Truth() {
		return nil, failure(b, msg, "%s does not contain %s", container, item)
	}
	return starlark.None, nil
}

// assertFails calls fn and fails unless fn fails with an error matching
// pattern; it returns the error's message, positioned as ferry reports it.
func assertFails(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Callable
	var pattern, msg string
	if err := starlark.UnpackArgs("assert.fails", args, kwargs, "fn", &fn, "pattern", &pattern, "msg?", &msg); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, failure(b, msg, "pattern %q is not a regular expression (RE2): %v", pattern, err)
	}
	v, err := starlark.Call(thread, fn, nil, nil)
	if err == nil {
		return nil, failure(b, msg, "%s returned %s, want an error matching %q", fn.Name(), v, pattern)
	}
	text := err.Error()
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		// The error where fn failed, without the calls that led there.
		if pe, ok := engine.PositionError(ee).(*engine.Error); ok {
			text = (&engine.Error{Pos: pe.Pos, Msg: pe.Msg}).Error()
		}
	}
	if !re.MatchString(text) {
		return nil, failure(b, msg, "the error does not match %q:\n%s", pattern, text)
	}
	return starlark.String(text), nil
}

// failure returns the error of a failed assertion, msg first.
func failure(b *starlark.Builtin, msg, format string, args ...any) error {
	text := "assert." + b.Name() + ": " + fmt.Sprintf(format, args...)
	if msg != "" {
		text = msg + ": " + text
	}
	return errors.New(text)
}
