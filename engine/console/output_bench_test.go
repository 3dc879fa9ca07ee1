package console

import (
	"encoding/base64"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// BenchmarkOutputPath measures a task's output on its way from the pipe
// to a file: redacted (five secrets known), cut into lines, one event per
// line on the bus, rendered by the console sink and redacted again on the
// way out, as ferry run does. The task writes base64 text, 76 columns
// wide, in 32 KiB reads, as `base64 /dev/urandom` through a pipe would.
// MB/cpu-s is the throughput per second of CPU the process used (the
// garbage collector's too), which a busy machine changes less than MB/s.
func BenchmarkOutputPath(b *testing.B) {
	raw := make([]byte, 24<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	text := []byte(lines(base64.StdEncoding.EncodeToString(raw), 76, "\n"))
	chunk := text[:32<<10]
	for _, format := range []string{"console", "json"} {
		b.Run(format, func(b *testing.B) {
			red := redact.New()
			for i := range 5 {
				red.Add("s"+strconv.Itoa(i), "secret-value-number-"+strconv.Itoa(i)+"-xyzzy")
			}
			f, err := os.Create(filepath.Join(b.TempDir(), "out"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			out := red.Writer(f)
			s, err := New(Options{Out: out, Format: format, Level: zerolog.InfoLevel})
			if err != nil {
				b.Fatal(err)
			}
			bus := engine.NewBus(red, s)
			w := bus.Output(func(l string) {
				bus.EmitLine(engine.Event{Kind: engine.EventOutput, Rule: "gen", Stream: "stdout", Text: l})
			})
			b.SetBytes(int64(len(chunk)))
			cpu := cpuTime()
			for b.Loop() {
				w.Write(chunk)
			}
			w.Flush()
			out.Flush()
			if cpu = cpuTime() - cpu; cpu > 0 {
				b.ReportMetric(float64(b.N)*float64(len(chunk))/1e6/cpu.Seconds(), "MB/cpu-s")
			}
		})
	}
}

// lines returns s broken into lines of width bytes.
func lines(s string, width int, eol string) string {
	var out []byte
	for len(s) > width {
		out = append(append(out, s[:width]...), eol...)
		s = s[width:]
	}
	return string(append(append(out, s...), eol...))
}
