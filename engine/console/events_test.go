package console

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ferryhq/ferry/engine"
)

func TestEventLogLines(t *testing.T) {
	var b bytes.Buffer
	l := NewEventLog(&b)
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("CET", 3600))
	l.Handle(engine.Event{Time: at, Kind: engine.EventRuleDone, Rule: "api", Duration: 1500 * time.Microsecond})
	l.Handle(engine.Event{Time: at, Kind: engine.EventRunDone, Summary: &engine.Summary{Ran: []string{"api"}, Duration: 2 * time.Second}})
	l.Handle(engine.Event{Time: at, Kind: engine.EventOutput, Rule: "api", Stream: "stderr", Text: "a \"quoted\"\nline"})
	want := `{"time":"2026-01-02T02:04:05.0000006Z","kind":"rule.done","rule":"api","duration_ms":1.5}
{"time":"2026-01-02T02:04:05.0000006Z","kind":"run.done","summary":{"ran":["api"],"cached":[],"failed":[],"skipped":[],"interrupted":false,"duration_ms":2000}}
{"time":"2026-01-02T02:04:05.0000006Z","kind":"rule.output","rule":"api","text":"a \"quoted\"\nline","stream":"stderr"}
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// failWriter fails every write.
type failWriter struct{ n int }

func (w *failWriter) Write([]byte) (int, error) {
	w.n++
	return 0, bytes.ErrTooLarge
}

func TestEventLogStopsAfterError(t *testing.T) {
	w := &failWriter{}
	l := NewEventLog(w)
	l.Handle(engine.Event{Kind: engine.EventLog, Text: "a"})
	l.Handle(engine.Event{Kind: engine.EventLog, Text: "b"})
	if w.n != 1 || l.Err() == nil || !strings.Contains(l.Err().Error(), "too large") {
		t.Errorf("writes %d, Err %v; want 1 write and the error", w.n, l.Err())
	}
}

func BenchmarkEventLog(b *testing.B) {
	var buf bytes.Buffer
	l := NewEventLog(&buf)
	e := engine.Event{Time: time.Now(), Kind: engine.EventOutput, Rule: "api", Stream: "stdout", Text: "compiling github.com/acme/api/internal/server"}
	for b.Loop() {
		buf.Reset()
		l.Handle(e)
	}
}

// A service event's JSON line carries what it reports under "service",
// with every field of its kind, zero or not.
func TestEventLogServiceEvents(t *testing.T) {
	var b bytes.Buffer
	l := NewEventLog(&b)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l.Handle(engine.Event{Time: at, Kind: engine.EventServiceCrashLoop, Level: engine.LevelError, Text: "web-1 is in a crash loop", Reason: "exited with code 3",
		Service: &engine.ServiceState{Name: "web", Replica: "web-1", Restarts: 3, Exit: &engine.ExitState{Code: 3}}})
	l.Handle(engine.Event{Time: at, Kind: engine.EventServiceReplicas, Service: &engine.ServiceState{Name: "web", Replicas: &engine.ReplicaCount{Ready: 0, Wanted: 2}}})
	l.Handle(engine.Event{Time: at, Kind: engine.EventServiceScale, Reason: "no CPU observed yet", Service: &engine.ServiceState{Name: "api", Scale: &engine.ScaleDecision{Metric: "cpu", Target: 50, From: 1, To: 1}}})
	want := `{"time":"2026-01-02T03:04:05Z","kind":"service.crashloop","level":"error","text":"web-1 is in a crash loop","reason":"exited with code 3","service":{"name":"web","replica":"web-1","restarts":3,"exit":{"code":3,"oom":false}}}
{"time":"2026-01-02T03:04:05Z","kind":"service.replicas","service":{"name":"web","replicas":{"ready":0,"wanted":2}}}
{"time":"2026-01-02T03:04:05Z","kind":"service.scale","reason":"no CPU observed yet","service":{"name":"api","scale":{"metric":"cpu","value":null,"target":50,"from":1,"to":1}}}
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestImagePullEvents(t *testing.T) {
	p := &engine.PullState{Image: "reg/pg:16", Layers: []engine.PullLayer{{ID: "a1", Status: "Downloading", Current: 5e6, Total: 10e6}}, Bytes: engine.ByteProgress{Current: 5e6, Total: 10e6}}
	e := engine.Event{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Kind: engine.EventImagePull, Rule: "db", Pull: p, Text: p.String()}
	var b bytes.Buffer
	NewEventLog(&b).Handle(e)
	want := `{"time":"2026-01-02T03:04:05Z","kind":"image.pull","rule":"db","text":"pulling reg/pg:16 [##########··········] 50% of 10.0 MB, 0/1 layers","pull":{"image":"reg/pg:16","layers":[{"id":"a1","status":"Downloading","current":5000000,"total":10000000}],"bytes":{"current":5000000,"total":10000000}}}
`
	if b.String() != want {
		t.Errorf("events file:\n%s\nwant:\n%s", b.String(), want)
	}
	var out bytes.Buffer
	s, err := New(Options{Out: &out, Level: zerolog.InfoLevel})
	if err != nil {
		t.Fatal(err)
	}
	s.Handle(e)
	s.Flush()
	if !strings.Contains(out.String(), "db │ pulling reg/pg:16 [##########··········] 50% of 10.0 MB") {
		t.Errorf("console: %q", out.String())
	}
}
