package console

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferryhq/ferry/engine"
)

var events = []engine.Event{
	{Kind: engine.EventPrint, Text: "hello", Pos: "ferry.star:3:6"},
	{Kind: engine.EventRuleStart, Rule: "api", Reason: "src/a.go changed"},
	{Kind: engine.EventOutput, Rule: "api", Stream: "stdout", Text: "compiling"},
	{Kind: engine.EventCached, Rule: "gen"},
	{Kind: engine.EventRetry, Rule: "api", Attempt: 1, Err: "exit code 1"},
	{Kind: engine.EventRuleFail, Rule: "api", Err: "exit code 2", Duration: 1500 * time.Millisecond},
	{Kind: engine.EventSkipped, Rule: "web", Reason: "dep api did not succeed"},
	{Kind: engine.EventRunDone, Summary: &engine.Summary{Cached: []string{"gen"}, Failed: []string{"api"}, Skipped: []string{"web"}, Duration: 2 * time.Second}},
}

func render(t *testing.T, format string) string {
	t.Helper()
	var buf bytes.Buffer
	s, err := New(Options{Out: &buf, Format: format, Level: zerolog.InfoLevel})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		s.Handle(e)
	}
	return buf.String()
}

func TestConsole(t *testing.T) {
	got := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d `).ReplaceAllString(render(t, "console"), "")
	want := `ferry.star:3:6: hello
api │ started: src/a.go changed
api │ compiling
WARN api │ attempt 1 failed, retrying: exit code 1
ERROR api │ failed after 1.5s: exit code 2
WARN web │ skipped: dep api did not succeed
ERROR 0 ran, 1 up to date, 1 failed, 1 skipped in 2s; failed: api
`
	if got != want {
		t.Errorf("console output:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(got, "\x1b[") {
		t.Error("colour codes without Color")
	}
}

func TestJSON(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(render(t, "json")), "\n")
	if len(lines) != 7 { // the cached event is debug
		t.Fatalf("got %d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	var fail map[string]any
	if err := json.Unmarshal([]byte(lines[4]), &fail); err != nil {
		t.Fatal(err)
	}
	if fail["level"] != "error" || fail["rule"] != "api" || fail["error"] != "exit code 2" || fail["duration"] != 1500.0 {
		t.Errorf("failure event = %v", fail)
	}
	var sum map[string]any
	json.Unmarshal([]byte(lines[6]), &sum)
	if sum["summary"] != true || sum["failed"] != 1.0 || sum["cached"] != 1.0 {
		t.Errorf("summary event = %v", sum)
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := New(Options{Format: "xml"}); err == nil || !strings.Contains(err.Error(), "want console or json") {
		t.Errorf("format xml: %v", err)
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Error("level loud accepted")
	}
}

func TestConsoleShowsControlCharacters(t *testing.T) {
	for _, raw := range []bool{false, true} {
		var buf bytes.Buffer
		s, err := New(Options{Out: &buf, Level: zerolog.InfoLevel, RawColor: raw})
		if err != nil {
			t.Fatal(err)
		}
		s.Handle(engine.Event{Kind: engine.EventPrint, Text: "\x1b]0;pwned\x07\x1b[31mred\x1b[0m\r12:00:00 fake"})
		s.Handle(engine.Event{Kind: engine.EventOutput, Rule: "t", Text: "\x1b[2J\x1b[32mgreen"})
		s.Flush()
		want := []string{`\x1b]0;pwned\x07\x1b[31mred\x1b[0m\r12:00:00 fake`, `\x1b[2J\x1b[32mgreen`}
		if raw {
			want = []string{`\x1b]0;pwned\x07` + "\x1b[31mred\x1b[0m" + `\r12:00:00 fake`, `\x1b[2J` + "\x1b[32mgreen"}
		}
		for _, w := range want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("raw %v: no %q in %q", raw, w, buf.String())
			}
		}
		if strings.Contains(buf.String(), "\x1b]") || strings.Contains(buf.String(), "\r") || strings.Contains(buf.String(), "\x1b[2J") {
			t.Errorf("raw %v: a control sequence reached the console: %q", raw, buf.String())
		}
	}
}

// Service events show as "service: text" at their level; those without
// text only at debug level, described.
func TestConsoleServiceEvents(t *testing.T) {
	v := 35.0
	evs := []engine.Event{
		{Kind: engine.EventServiceExit, Level: engine.LevelWarn, Text: "web-1 exited with code 3", Service: &engine.ServiceState{Name: "web", Replica: "web-1", Exit: &engine.ExitState{Code: 3}}},
		{Kind: engine.EventServiceRestart, Service: &engine.ServiceState{Name: "web", Replica: "web-1", Restarts: 4}},
		{Kind: engine.EventServiceCrashLoop, Level: engine.LevelError, Text: "web-1 is in a crash loop", Reason: "exited with code 3", Service: &engine.ServiceState{Name: "web", Replica: "web-1", Restarts: 3, Exit: &engine.ExitState{Code: 3}}},
		{Kind: engine.EventServiceHealth, Reason: "connection refused", Service: &engine.ServiceState{Name: "web", Health: "unhealthy"}},
		{Kind: engine.EventServiceReplicas, Service: &engine.ServiceState{Name: "web", Replicas: &engine.ReplicaCount{Ready: 1, Wanted: 2}}},
		{Kind: engine.EventServiceScale, Level: engine.LevelInfo, Text: "2 → 5 replicas: queue_depth 35 per replica", Service: &engine.ServiceState{Name: "api", Scale: &engine.ScaleDecision{Metric: "queue_depth", Value: &v, Target: 10, From: 2, To: 5}}},
		{Kind: engine.EventServiceScale, Reason: "queue_depth 10 per replica", Service: &engine.ServiceState{Name: "api", Scale: &engine.ScaleDecision{Metric: "queue_depth", Value: &v, Target: 10, From: 5, To: 5}}},
	}
	for _, tt := range []struct {
		level zerolog.Level
		want  string
	}{
		{zerolog.InfoLevel, `WARN web: web-1 exited with code 3
ERROR web: web-1 is in a crash loop
autoscale api: 2 → 5 replicas: queue_depth 35 per replica
`},
		{zerolog.DebugLevel, `WARN web: web-1 exited with code 3
debug web: web-1 restarted (restart 4)
ERROR web: web-1 is in a crash loop
debug web: unhealthy: connection refused
debug web: 1/2 replicas ready
autoscale api: 2 → 5 replicas: queue_depth 35 per replica
debug autoscale api: keeping 5 replicas: queue_depth 10 per replica
`},
	} {
		var buf bytes.Buffer
		s, err := New(Options{Out: &buf, Format: "console", Level: tt.level})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			s.Handle(e)
		}
		if got := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d `).ReplaceAllString(buf.String(), ""); got != tt.want {
			t.Errorf("at %s:\n%s\nwant:\n%s", tt.level, got, tt.want)
		}
	}
}

// A pull's progress reads on the console as the rule's line, the fields
// that JSON logs carry left out.
func TestConsolePullEvents(t *testing.T) {
	var buf bytes.Buffer
	s, err := New(Options{Out: &buf, Format: "console", Level: zerolog.InfoLevel})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*engine.PullState{
		{Image: "reg/pg:16", Layers: []engine.PullLayer{{ID: "a1", Status: "Downloading", Current: 5e6, Total: 10e6}}, Bytes: engine.ByteProgress{Current: 5e6, Total: 10e6}},
		{Image: "reg/pg:16", Done: true, Digest: "reg/pg@sha256:9c1e", Bytes: engine.ByteProgress{Current: 10e6, Total: 10e6}},
	} {
		s.Handle(engine.Event{Kind: engine.EventImagePull, Rule: "db", Pull: p, Text: p.String()})
	}
	want := `db │ pulling reg/pg:16 [##########··········] 50% of 10.0 MB, 0/1 layers
db │ pulled reg/pg:16 (reg/pg@sha256:9c1e)
`
	if got := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d `).ReplaceAllString(buf.String(), ""); got != want {
		t.Errorf("console output:\n%s\nwant:\n%s", got, want)
	}
}
