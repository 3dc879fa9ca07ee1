package console

import (
	"io"
	"os"

	"golang.org/x/term"
)

// TerminalFile returns the file under v, through a writer that wraps it
// (such as a redacting writer: one with Unwrap), to set a terminal's mode
// and size.
func TerminalFile(v any) (*os.File, bool) {
	if w, ok := v.(interface{ Unwrap() io.Writer }); ok {
		v = w.Unwrap()
	}
	f, ok := v.(*os.File)
	return f, ok
}

// IsTerminal reports whether v, a reader or writer, is a terminal (see
// TerminalFile).
func IsTerminal(v any) bool {
	f, ok := TerminalFile(v)
	return ok && term.IsTerminal(int(f.Fd()))
}
