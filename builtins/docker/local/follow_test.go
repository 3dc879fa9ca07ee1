package local

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// The crash tracker's reports for sequences of Engine events: each step is
// an event at a time (seconds after t0) and what it must say, as "level
// kind: text prefix" of its events with text, or "" for none. Every
// restart by Docker is a service.restart event, said or not.
func TestCrashTracker(t *testing.T) {
	t.Parallel()
	type step struct {
		at     float64
		action string
		exit   int
		want   string
	}
	crash := func(at float64) []step {
		return []step{{at, "die", 1, "warn service.exit: web-1 exited with code 1"}}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a crash loop, reported once per quiet period", append(append(append([]step{
			{0, "start", -1, ""}},
			crash(1)...),
			step{1.1, "start", -1, "info service.restart: Docker restarted web-1 (restart 1 within 1m0s)"},
			step{2, "die", 1, "warn service.exit: web-1 exited with code 1"},
			step{2.3, "start", -1, "info service.restart: Docker restarted web-1 (restart 2 within 1m0s)"},
			step{3, "die", 2, "warn service.exit: web-1 exited with code 2"},
			step{3.5, "start", -1, "error service.crashloop: web-1 is in a crash loop: Docker restarted it 3 times in 2.4s, last exit code 2"},
			step{4, "die", 2, ""},
			step{5, "start", -1, ""},
			step{20, "die", 2, ""},
			step{34, "start", -1, "error service.crashloop: web-1 is in a crash loop: Docker restarted it 5 times in 32.9s, last exit code 2"},
		),
			// The loop ended: the container ran for more than a minute.
			crash(200)...)},
		{"deaths that were asked for", []step{
			{0, "start", -1, ""},
			{1, "kill", -1, ""},
			{1.1, "die", 143, ""},
			{2, "start", -1, ""},
		}},
		{"out of memory", []step{
			{0, "start", -1, ""},
			{1, "oom", -1, ""},
			{1, "die", 137, "warn service.exit: web-1 ran out of memory and was killed (exit code 137)"},
		}},
		{"restarts spread out are no loop", []step{
			{0, "die", 1, "warn service.exit: web-1 exited with code 1"},
			{1, "start", -1, "info service.restart: Docker restarted web-1 (restart 1 within 1m0s)"},
			{40, "die", 1, "warn service.exit: web-1 exited with code 1"},
			{41, "start", -1, "info service.restart: Docker restarted web-1 (restart 2 within 1m0s)"},
			{80, "die", 1, "warn service.exit: web-1 exited with code 1"},
			{81, "start", -1, "info service.restart: Docker restarted web-1 (restart 2 within 1m0s)"},
		}},
		{"exec health", []step{
			{0, "health_status: unhealthy", -1, "warn service.health: web-1 is unhealthy (its health.exec check fails)"},
			{1, "health_status: unhealthy", -1, ""},
			{2, "health_status: healthy", -1, "info service.health: web-1 is healthy again"},
			{3, "health_status: healthy", -1, ""},
		}},
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newCrashTracker()
			died := false // a death not asked for (no kill before it): Docker's start next is a restart
			for i, s := range tc.steps {
				e := dockerapi.ContainerEvent{Time: t0.Add(time.Duration(s.at * float64(time.Second))), Action: s.action, ID: "c1", Name: "web-1",
					Labels: map[string]string{objects.LabelRule: "web"}, ExitCode: s.exit}
				got, restarts := "", 0
				for _, r := range tr.observe(e) {
					if r.Service == nil || r.Service.Name != "web" || r.Service.Replica != "web-1" {
						t.Errorf("step %d: service %+v, want web's web-1", i, r.Service)
					}
					if r.Kind == engine.EventServiceRestart {
						restarts++
					}
					if r.Text != "" {
						got += fmt.Sprintf("%s %s: %s", r.Level, r.Kind, r.Text)
					}
				}
				if s.want == "" && got != "" || !strings.HasPrefix(got, s.want) {
					t.Errorf("step %d (%s at %gs): got %q, want %q", i, s.action, s.at, got, s.want)
				}
				switch s.action {
				case "die":
					died = i == 0 || tc.steps[i-1].action != "kill"
				case "start":
					if want := died; (restarts == 1) != want {
						t.Errorf("step %d (%s at %gs): %d restart events", i, s.action, s.at, restarts)
					}
					died = false
				}
			}
		})
	}
}

// Against the real Engine: Follow reports a replica killed for lack of
// memory, with its last lines, and not one that ferry stops on purpose.
func TestFollowEngine(t *testing.T) {
	t.Parallel()
	f := newRolloutFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reports := make(chan engine.Event, 16)
	fctx, stop := context.WithCancel(ctx)
	followed := make(chan error, 1)
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) { reports <- e }))
	go func() { followed <- f.target.Follow(fctx, f.project, bus) }()

	calm := f.deployment(1, 1, map[string]string{"VERSION": "v1"})
	calm.Spec.Name, calm.Spec.Health = "calm", nil
	if err := f.target.Deploy(ctx, calm, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := f.target.RemoveExcept(ctx, f.project, nil); err != nil {
		t.Fatal(err)
	}
	hungry := f.deployment(2, 1, map[string]string{"EAT_AFTER": "1s"})
	hungry.Spec.Name, hungry.Spec.Health, hungry.Spec.Restart, hungry.Spec.Memory = "hungry", nil, "no", 32<<20
	if err := f.target.Deploy(ctx, hungry, io.Discard); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-reports:
		want := f.project + "-hungry-1 ran out of memory and was killed (exit code 137)"
		if r.Kind != engine.EventServiceExit || r.Service.Name != "hungry" || *r.Service.Exit != (engine.ExitState{Code: 137, OOM: true}) ||
			r.Level != engine.LevelWarn || !strings.HasPrefix(r.Text, want) || !strings.HasSuffix(r.Text, "its last log lines:\n    eating memory") {
			t.Errorf("got report %+v (%+v), want a service.exit of hungry starting %q and ending with its last line", r, r.Service, want)
		}
	case <-ctx.Done():
		t.Fatal("no report of the container killed for lack of memory")
	}
	stop()
	if err := <-followed; err != context.Canceled {
		t.Errorf("Follow returned %v after its context was cancelled", err)
	}
	close(reports)
	for r := range reports {
		t.Errorf("unexpected report: %+v", r)
	}
}

// Without an Engine to follow, Follow says so once, keeps trying, and ends
// with its context.
func TestFollowUnreachable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+t.TempDir()+"/none.sock")
	target := NewTarget(dockerapi.New(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), followRetry*2+followRetry/2)
	defer cancel()
	var reports []engine.Event
	err := target.Follow(ctx, "p", engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) { reports = append(reports, e) })))
	if err != context.DeadlineExceeded {
		t.Errorf("Follow returned %v, want its context's error", err)
	}
	if len(reports) != 1 || reports[0].Kind != engine.EventLog || reports[0].Level != engine.LevelWarn || !strings.Contains(reports[0].Text, "cannot reach the Docker Engine at unix://") ||
		!strings.HasSuffix(reports[0].Text, "; ferry tries again every 2s") {
		t.Errorf("got reports %+v, want one warning that the Engine cannot be reached", reports)
	}
}

// TestLinesColor: the lines of ferry logs keep their colour sequences
// only when asked to (--raw-color); other control characters are always
// escaped, and secrets are redacted through the colour codes.
func TestLinesColor(t *testing.T) {
	t.Parallel()
	red := redact.New()
	red.Add("tok", "Hunter2-Sesame-Value")
	tg := NewTarget(nil, red)
	out := "\x1b[31mred\x1b[0m title\x1b]0;pwned\x07 Hunter2-\x1b[1mSesame\x1b[0m-Value\n"
	for _, c := range []struct {
		color bool
		want  string
	}{
		{false, `web-1 | \x1b[31mred\x1b[0m title\x1b]0;pwned\x07 [redacted tok]`},
		{true, "web-1 | \x1b[31mred\x1b[0m title\\x1b]0;pwned\\x07 [redacted tok]"},
	} {
		var sb strings.Builder
		err := tg.Lines("web-1 | ", &sb, c.color, func(w io.Writer) error {
			_, err := io.WriteString(w, out)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sb.String(), c.want) {
			t.Errorf("color %v: got %q, want it to begin with %q", c.color, sb.String(), c.want)
		}
	}
}
