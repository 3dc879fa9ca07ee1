package engine

import (
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// An Error is a user-facing error tied to a position in a Starlark file.
type Error struct {
	Pos syntax.Position
	Msg string
	// Trace lists the calls that led here, outermost first, when more than
	// one Starlark frame was involved.
	Trace []string
}

func (e *Error) Error() string {
	var sb strings.Builder
	if e.Pos.IsValid() {
		fmt.Fprintf(&sb, "%s: ", e.Pos)
	}
	sb.WriteString(e.Msg)
	for _, t := range e.Trace {
		sb.WriteString("\n    " + t)
	}
	return sb.String()
}

// Errorf returns an *Error at pos.
func Errorf(pos syntax.Position, format string, args ...any) error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// PositionError converts an error from parsing or executing Starlark into an
// *Error that names the innermost Starlark position. Other errors are
// returned unchanged.
func PositionError(err error) error {
	var pe *Error
	var ee *starlark.EvalError
	var se syntax.Error
	var rl resolve.ErrorList
	switch {
	case errors.As(err, &ee):
		// A load failure wraps the loaded module's own positioned error:
		// report that one, where the user has to look.
		if errors.As(ee.Unwrap(), &pe) {
			return pe
		}
		return fromEvalError(ee)
	case errors.As(err, &pe):
		return pe
	case errors.As(err, &se):
		return &Error{Pos: se.Pos, Msg: "syntax error: " + se.Msg}
	case errors.As(err, &rl) && len(rl) > 0:
		return &Error{Pos: rl[0].Pos, Msg: rl[0].Msg}
	}
	return err
}

func fromEvalError(ee *starlark.EvalError) *Error {
	out := &Error{Msg: ee.Msg}
	var frames []starlark.CallFrame
	for _, fr := range ee.CallStack {
		if fr.Pos.Filename() != "<builtin>" && fr.Pos.IsValid() {
			frames = append(frames, fr)
		}
	}
	if len(frames) == 0 {
		return out
	}
	// Point at the innermost frame in the user's own files: an error inside
	// a macro from another repository (@std//...) is the caller's to fix.
	at := len(frames) - 1
	for i := len(frames) - 1; i >= 0; i-- {
		if !strings.HasPrefix(frames[i].Pos.Filename(), "@") {
			at = i
			break
		}
	}
	out.Pos = frames[at].Pos
	for i := len(frames) - 1; i >= 0; i-- {
		if i == at {
			continue
		}
		rel := "called from"
		if i > at {
			rel = "inside"
		}
		out.Trace = append(out.Trace, fmt.Sprintf("%s %s in %s", rel, frames[i].Pos, frames[i].Name))
	}
	out.Trace = boundTrace(out.Trace)
	return out
}

// traceEnds is how many lines of a long trace are kept at each end.
const traceEnds = 10

// boundTrace keeps the first and last traceEnds lines of a trace, so that
// deep recursion (up to Starlark's 100,000 frames) reports a few lines.
func boundTrace(trace []string) []string {
	if len(trace) <= 2*traceEnds+1 {
		return trace
	}
	omitted := len(trace) - 2*traceEnds
	out := append(trace[:traceEnds:traceEnds], fmt.Sprintf("… %d frames omitted", omitted))
	return append(out, trace[len(trace)-traceEnds:]...)
}
