package local

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	ferryengine "github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// benchFixture is rolloutFixture for a benchmark: the real Engine, or a
// skip without one.
func benchFixture(b *testing.B) *rolloutFixture {
	c := dockerapi.New()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		b.Skipf("no Docker Engine: %v", err)
	}
	f := &rolloutFixture{target: NewTarget(c, nil), project: "ferrytest-" + dockertest.RandomHex(b), image: versionImage(b)}
	b.Cleanup(func() { f.target.Down(context.Background(), f.project, true) })
	return f
}

// BenchmarkRollout measures a rolling update of 3 replicas of a server
// that is ready at once (an http check every 100ms), against starting the
// same 3 replicas afresh, the cost of the replace-at-once it supersedes.
//
//	go test ./builtins/docker/local -run '^$' -bench Rollout -benchtime 5x
func BenchmarkRollout(b *testing.B) {
	f := benchFixture(b)
	ctx := context.Background()
	b.Run("rolling-3", func(b *testing.B) {
		if err := f.target.Deploy(ctx, f.deployment(0, 3, map[string]string{"VERSION": "v0"}), io.Discard); err != nil {
			b.Fatal(err)
		}
		i := byte(0)
		for b.Loop() {
			i++
			if err := f.target.Deploy(ctx, f.deployment(i, 3, map[string]string{"VERSION": fmt.Sprint(i)}), io.Discard); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/rollout")
	})
	b.Run("fresh-3", func(b *testing.B) {
		var took time.Duration
		for b.Loop() {
			b.StopTimer()
			if _, err := f.target.RemoveExcept(ctx, f.project, nil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			if err := f.target.Deploy(ctx, f.deployment(0, 3, map[string]string{"VERSION": "v0"}), io.Discard); err != nil {
				b.Fatal(err)
			}
			took += time.Since(start)
		}
		b.ReportMetric(float64(took.Milliseconds())/float64(b.N), "ms/start")
	})
}

// BenchmarkCrashReport measures the delay from a container exiting (the
// Engine's FinishedAt) to Follow reporting it, and the part of it the
// Engine takes to send its die event (stamped with the Engine's time).
//
//	go test ./builtins/docker/local -run '^$' -bench CrashReport -benchtime 5x
func BenchmarkCrashReport(b *testing.B) {
	f := benchFixture(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reports := make(chan time.Time, 16)
	go f.target.Follow(ctx, f.project, ferryengine.NewBus(redact.New(), ferryengine.SinkFunc(func(e ferryengine.Event) {
		if e.Kind == ferryengine.EventServiceExit && strings.Contains(e.Text, "exited with code 1") {
			reports <- time.Now()
		}
	})))
	dies, _, err := f.target.c.ContainerEvents(ctx, map[string]string{objects.LabelProject: f.project}, []string{"die"}, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	d := f.deployment(0, 1, map[string]string{"CRASH_AFTER": "1s"})
	d.Spec.Restart, d.Spec.Health = "no", nil
	var delay, engine time.Duration
	for b.Loop() {
		if err := f.target.Deploy(ctx, d, io.Discard); err != nil {
			b.Fatal(err)
		}
		var at time.Time
		select {
		case at = <-reports:
		case <-time.After(30 * time.Second):
			b.Fatal("no report of the crash within 30s")
		}
		out, err := exec.Command("docker", "inspect", "-f", "{{.State.FinishedAt}}", f.project+"-web-1").Output()
		if err != nil {
			b.Fatal(err)
		}
		finished, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(out)))
		if err != nil {
			b.Fatal(err)
		}
		delay += at.Sub(finished)
		engine += (<-dies).Time.Sub(finished)
	}
	b.ReportMetric(float64(delay.Microseconds())/1000/float64(b.N), "ms-exit-to-report")
	b.ReportMetric(float64(engine.Microseconds())/1000/float64(b.N), "ms-exit-to-event")
}
