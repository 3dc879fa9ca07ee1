package engine

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"go.starlark.net/starlark"
)

// hogPlugin has hog(), a builtin that holds 384 MiB, then waits until
// release is closed, ignoring cancellation as a long builtin call (a join
// of a huge list) does.
type hogPlugin struct{ release chan struct{} }

func (p hogPlugin) Builtins() []*Builtin {
	return []*Builtin{{
		Name: "hog",
		Impl: func(*starlark.Thread, *Call) (starlark.Value, error) {
			held := make([]byte, 384<<20)
			for i := range held {
				held[i] = 1
			}
			<-p.release
			return starlark.MakeInt(len(held)), nil
		},
	}}
}

func evaluateCapped(t *testing.T, star string, max uint64, plugins ...Plugin) error {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ferry.star": star})
	_, err := Evaluate(context.Background(), Options{
		Workspace: &Workspace{Root: dir, File: filepath.Join(dir, FileName)},
		Plugins:   plugins,
		MaxMemory: max,
	})
	return err
}

// An evaluation that allocates step by step is cancelled at the cap, at
// the position it reached.
func TestMemoryCapStopsSteps(t *testing.T) {
	err := evaluateCapped(t, "l = []\nfor i in range(1 << 40):\n    l.append(\"%d\" % i * 1000)\n", 64<<20)
	wantErr(t, err, "ferry.star:3:", "more than 64.0 MiB of memory", "--eval-memory", "FERRY_EVAL_MEMORY")
	if !errors.Is(err, ErrMaxMemory) || errors.Is(err, ErrAbandoned) {
		t.Errorf("got %v, want ErrMaxMemory and not ErrAbandoned", err)
	}
}

// An evaluation inside a builtin call that ignores cancellation is
// abandoned past the cap, with the position of the call.
func TestMemoryCapAbandonsBuiltin(t *testing.T) {
	p := hogPlugin{release: make(chan struct{})}
	defer close(p.release)
	err := evaluateCapped(t, "x = 1\ny = hog()\n", 256<<20, p)
	wantErr(t, err, "ferry.star:2:8", "more than 256.0 MiB of memory")
	if !errors.Is(err, ErrMaxMemory) || !errors.Is(err, ErrAbandoned) {
		t.Errorf("got %v, want ErrMaxMemory and ErrAbandoned", err)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{512: "512 bytes", 1536: "1.5 KiB", 200 << 20: "200.0 MiB", 2 << 30: "2.0 GiB", 3 << 40: "3.0 TiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
