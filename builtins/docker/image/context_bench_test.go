package image

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// BenchmarkContextTar measures streaming a large build context (2,000
// files of 64 KiB on average, 128 MiB of incompressible bytes, read from
// the page cache) as the build does, with no secret known (no scan), and
// with 1 and 10 secret values to look for in every file.
//
//	go test ./builtins/docker/image -run '^$' -bench ContextTar -benchtime 10x
func BenchmarkContextTar(b *testing.B) {
	const files, mean = 2000, 64 << 10
	w := &testWorkspace{Workspace: &dockertest.Workspace{Root: b.TempDir(), Redactor: redact.New()}}
	pool := make([]byte, 4<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range pool {
		pool[i] = byte(r.Uint32())
	}
	var total int64
	for i := range files {
		size := mean/2 + r.IntN(mean)
		off := r.IntN(len(pool) - size)
		writeBench(b, w.Root, fmt.Sprintf("ctx/d%02d/f%04d.bin", i%40, i), pool[off:off+size])
		total += int64(size)
	}
	writeBench(b, w.Root, "ctx/Dockerfile", []byte("FROM scratch\nCOPY . /data\n"))
	writeBench(b, w.Root, "ferry.star", []byte(`image(name = "big", repo = "acme/big", context = "ctx")`+"\n"))
	e, err := w.Load(context.Background(), engine.NewBus(redact.New()))
	if err != nil {
		b.Fatal(err)
	}
	i := e.Graph.Rule("big").(*Image)
	bc, err := i.readContext(context.Background(), i.ws)
	if err != nil {
		b.Fatal(err)
	}
	df, err := i.parse()
	if err != nil {
		b.Fatal(err)
	}
	dockerfile := df.render(nil, nil)
	for _, n := range []int{0, 1, 10} {
		red := redact.New()
		for k := range n {
			red.Add(fmt.Sprint("s", k), fmt.Sprintf("not-in-the-context-%d-%016x", k, r.Uint64()))
		}
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			b.SetBytes(total)
			for range b.N {
				if err := bc.writeTar(context.Background(), io.Discard, i.ws, dockerfile, red.Matcher()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func writeBench(b *testing.B, root, name string, data []byte) {
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
}
