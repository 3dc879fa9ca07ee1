package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ferryhq/ferry/engine/redact"
)

// FuzzLoad evaluates arbitrary bytes as a workspace's ferry.star, which may
// load a module beside it, and checks that evaluation neither panics nor
// hangs, that each error it returns names a position in a file, and that
// it accepts no file that Starlark would misread (see checkSource). Run it
// with `make fuzz`; its seeds, in testdata/fuzz/FuzzLoad, run with go test.
func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	writeFiles(f, dir, map[string]string{"lib/a.star": "a = 'a'\ndef f(x):\n    return x + 1\n"})
	ws := &Workspace{Root: dir, File: filepath.Join(dir, FileName)}
	f.Fuzz(func(t *testing.T, src []byte) {
		if err := os.WriteFile(ws.File, src, 0o644); err != nil {
			t.Fatal(err)
		}
		// The step limit ends a long evaluation; the deadline is there
		// only to report one that the limit did not end.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := Evaluate(ctx, Options{
			Workspace: ws,
			Plugins:   []Plugin{testPlugin{}},
			MaxSteps:  100_000,
			Events:    NewBus(redact.New(), SinkFunc(func(Event) {})),
		})
		if err == nil {
			if text := bytes.TrimPrefix(src, utf8BOM); bytes.IndexByte(text, 0) >= 0 || !utf8.Valid(text) {
				t.Fatal("evaluated a file with a NUL byte or invalid UTF-8, which Starlark misreads")
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("evaluation ran past the step limit until its deadline: %v", err)
		}
		var pe *Error
		if !errors.As(err, &pe) || !pe.Pos.IsValid() {
			t.Fatalf("error without a position: %v", err)
		}
	})
}
