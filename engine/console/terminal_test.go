package console

import (
	"bytes"
	"os"
	"testing"

	"github.com/ferryhq/ferry/engine/redact"
)

func TestTerminalFile(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if f, ok := TerminalFile(redact.New().Writer(w)); !ok || f != w {
		t.Fatalf("TerminalFile of a redacting writer = %v, %v; want the file under it", f, ok)
	}
	if _, ok := TerminalFile(&bytes.Buffer{}); ok {
		t.Fatal("a buffer has a file")
	}
	if IsTerminal(w) || IsTerminal(r) || IsTerminal(&bytes.Buffer{}) {
		t.Fatal("a pipe or a buffer is a terminal")
	}
}
