package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// benchWorkspace writes 50 chains of 10 tasks with 20 source files each
// (10,000 files), as the benchmark describes.
func benchWorkspace(b *testing.B) *engine.Workspace {
	b.Helper()
	dir := b.TempDir()
	var star strings.Builder
	for c := 0; c < 50; c++ {
		for t := 0; t < 10; t++ {
			sub := fmt.Sprintf("c%02d/t%d", c, t)
			os.MkdirAll(filepath.Join(dir, sub), 0o755)
			for f := 0; f < 20; f++ {
				os.WriteFile(filepath.Join(dir, sub, fmt.Sprintf("f%02d.txt", f)), []byte(sub+"\n"), 0o644)
			}
			deps := ""
			if t > 0 {
				deps = fmt.Sprintf(", deps = [\"c%02d_t%d\"]", c, t-1)
			}
			fmt.Fprintf(&star, "task(name = \"c%02d_t%d\", cmd = \"true\", srcs = glob([\"%s/*.txt\"])%s)\n", c, t, sub, deps)
		}
	}
	os.WriteFile(filepath.Join(dir, "ferry.star"), []byte(star.String()), 0o644)
	old := time.Now().Add(-time.Hour)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	return &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")}
}

func evaluate(b *testing.B, ws *engine.Workspace) *engine.Graph {
	res, err := engine.Evaluate(context.Background(), engine.Options{Workspace: ws, Plugins: []engine.Plugin{core.Plugin{}}})
	if err != nil {
		b.Fatal(err)
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkEvaluate500 evaluates the 500-rule ferry.star (target: < 30 ms).
func BenchmarkEvaluate500(b *testing.B) {
	ws := benchWorkspace(b)
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		evaluate(b, ws)
	}
	reportCPU(b, cpu)
}

// BenchmarkNoOp500 measures a whole no-op run after a warm-up (evaluate,
// load state, check every key, nothing to save), and reports it as a ratio
// to the physical floor measured in the same process: one stat of each of
// the 10,000 source files.
func BenchmarkNoOp500(b *testing.B) {
	ws := benchWorkspace(b)
	noop := func(cold bool) {
		g := evaluate(b, ws)
		st, err := engine.LoadState(ws, true)
		if err != nil {
			b.Fatal(err)
		}
		e := engine.NewEngine(ws, g, st, engine.NewBus(redact.New()))
		sum, err := e.Run(context.Background(), nil, engine.RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Save(); err != nil {
			b.Fatal(err)
		}
		if !cold && len(sum.Ran) > 0 {
			b.Fatalf("a no-op run ran %d rules", len(sum.Ran))
		}
	}
	noop(true)
	var files []string
	filepath.Walk(ws.Root, func(p string, fi os.FileInfo, _ error) error {
		if strings.HasSuffix(p, ".txt") {
			files = append(files, p)
		}
		return nil
	})
	start := time.Now()
	for _, f := range files {
		os.Stat(f)
	}
	floor := time.Since(start)

	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		noop(false)
	}
	b.StopTimer()
	reportCPU(b, cpu)
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(floor), "x-stat-floor")
	b.ReportMetric(float64(floor.Microseconds())/1000, "stat-floor-ms")
}
