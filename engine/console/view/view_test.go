package view

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// feed builds a model from a fake event stream of a watch: build ran,
// image failed, seed is manual, api is running, web serves.
func feed() *Model {
	m := NewModel("ferry watch · /src/shop")
	m.SetRules([]RuleMeta{{Name: "build", Kind: "task"}, {Name: "api-image", Kind: "image"}, {Name: "seed", Kind: "task", Manual: true},
		{Name: "api", Kind: "service"}, {Name: "web", Kind: "task"}, {Name: "lint", Kind: "task"}})
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, e := range []engine.Event{
		{Time: at(0), Kind: engine.EventRunStart, Text: "5 rules selected"},
		{Time: at(0), Kind: engine.EventRuleStart, Rule: "build", Reason: "never ran"},
		{Time: at(5), Kind: engine.EventOutput, Rule: "build", Text: "compiling"},
		{Time: at(1200), Kind: engine.EventRuleDone, Rule: "build", Duration: 1200 * time.Millisecond},
		{Time: at(1200), Kind: engine.EventRuleStart, Rule: "api-image", Reason: "never ran"},
		{Time: at(4600), Kind: engine.EventRuleFail, Rule: "api-image", Duration: 3400 * time.Millisecond, Err: "build failed: step 2: exit status 1\nfull output follows"},
		{Time: at(4600), Kind: engine.EventRuleStart, Rule: "api", Reason: "image changed"},
		{Time: at(4700), Kind: engine.EventRuleStart, Rule: "web", Reason: "never ran"},
		{Time: at(4800), Kind: "rule.serving", Rule: "web"},
		{Time: at(4800), Kind: engine.EventCached, Rule: "lint"},
		{Time: at(4800), Kind: engine.EventRuleDone, Rule: "unknown-rule"},
		{Time: at(5000), Kind: engine.EventServiceReplicas, Service: &engine.ServiceState{Name: "api", Replicas: &engine.ReplicaCount{Ready: 1, Wanted: 2}}},
		{Time: at(5000), Kind: engine.EventServiceCrashLoop, Reason: "api-2 is in a crash loop: Docker restarted it 3 times in 2.4s, last exit code 3\nits last lines",
			Service: &engine.ServiceState{Name: "api", Replica: "api-2", Restarts: 3, Exit: &engine.ExitState{Code: 3}}},
		{Time: at(5000), Kind: engine.EventServiceHealth, Service: &engine.ServiceState{Name: "api", Replica: "api-1", Health: "healthy"}},
		{Time: at(5000), Kind: engine.EventServiceReplicas, Service: &engine.ServiceState{Name: "unknown-service", Replicas: &engine.ReplicaCount{Ready: 1, Wanted: 1}}},
	} {
		m.Handle(e)
	}
	m.Write([]byte("03:04:05 build │ started: never ran\n03:04:05 build │ compiling\n03:04:06 build │ done in 1.2s\n"))
	m.Write([]byte("03:04:09 ERROR api-image │ failed after 3.4s: build failed: step 2: exit status 1; a very long line that does not fit\n03:04:09 api │ sta"))
	m.Write([]byte("rted: image changed\n"))
	return m
}

func TestRenderGolden(t *testing.T) {
	m := feed()
	m.Move(2) // seed
	for _, tt := range []struct {
		name string
		w, h int
	}{{"wide", 80, 16}, {"narrow", 40, 10}} {
		got := strings.Join(m.Render(tt.w, tt.h, t0.Add(6*time.Second), false), "\n") + "\n"
		golden := filepath.Join("testdata", "render-"+tt.name+".golden")
		if *update {
			os.WriteFile(golden, []byte(got), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s render:\n%s\nwant:\n%s", tt.name, got, want)
		}
		for i, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
			if n := len([]rune(l)); n > tt.w {
				t.Errorf("%s line %d is %d wide, more than %d: %q", tt.name, i, n, tt.w, l)
			}
		}
		if n := strings.Count(got, "\n"); n != tt.h {
			t.Errorf("%s: %d lines, want the height %d", tt.name, n, tt.h)
		}
	}
}

// Colour paints the state only, and keeps the line within the width.
func TestRenderColor(t *testing.T) {
	lines := feed().Render(80, 16, t0.Add(6*time.Second), true)
	if !strings.Contains(lines[2], "\x1b[31mfailed  \x1b[0m") {
		t.Errorf("failed state not painted red: %q", lines[2])
	}
}

// A service's row says what the service events said: its replicas, its
// health, and its trouble until it is healthy again.
func TestServiceNote(t *testing.T) {
	m := NewModel("ferry watch")
	m.SetRules([]RuleMeta{{Name: "api", Kind: "service"}})
	svc := func(kind engine.EventKind, reason string, st engine.ServiceState) {
		st.Name = "api"
		m.Handle(engine.Event{Kind: kind, Reason: reason, Service: &st})
	}
	note := func() string { return m.byName["api"].note() }
	svc(engine.EventServiceReplicas, "", engine.ServiceState{Replicas: &engine.ReplicaCount{Ready: 0, Wanted: 2}})
	svc(engine.EventServiceHealth, "", engine.ServiceState{Health: "starting"})
	if got := note(); got != "0/2 ready · starting" {
		t.Errorf("got %q", got)
	}
	svc(engine.EventServiceHealth, "probe: connection refused\nmore", engine.ServiceState{Health: "unhealthy"})
	svc(engine.EventServiceReplicas, "", engine.ServiceState{Replicas: &engine.ReplicaCount{Ready: 2, Wanted: 2}})
	if got := note(); got != "2/2 ready · unhealthy · probe: connection refused" {
		t.Errorf("got %q", got)
	}
	svc(engine.EventServiceHealth, "", engine.ServiceState{Health: "healthy"})
	if got := note(); got != "2/2 ready · healthy" {
		t.Errorf("got %q", got)
	}
	// The autoscaler's measure and target, once it has one.
	svc(engine.EventServiceScale, "no CPU observed yet", engine.ServiceState{Scale: &engine.ScaleDecision{Metric: "cpu", Target: 50, From: 2, To: 2}})
	if got := note(); got != "2/2 ready · healthy" {
		t.Errorf("got %q", got)
	}
	v := 48.25
	svc(engine.EventServiceScale, "CPU 48.2% per replica", engine.ServiceState{Scale: &engine.ScaleDecision{Metric: "cpu", Value: &v, Target: 50, From: 2, To: 2}})
	if got := note(); got != "2/2 ready · cpu 48.2/50 · healthy" {
		t.Errorf("got %q", got)
	}
	svc(engine.EventServiceCrashLoop, "api-1 is in a crash loop: restarted 3 times", engine.ServiceState{Replica: "api-1", Restarts: 3})
	if got := note(); got != "2/2 ready · cpu 48.2/50 · api-1 is in a crash loop: restarted 3 times" {
		t.Errorf("got %q", got)
	}
	m.Handle(engine.Event{Kind: engine.EventRuleFail, Rule: "api", Err: "deploy failed"})
	if got := note(); got != "deploy failed" {
		t.Errorf("a failed rule's error comes first: got %q", got)
	}
}

func TestSetRulesKeepsStatesAndSelection(t *testing.T) {
	m := feed()
	m.Move(1) // api-image
	m.SetRules([]RuleMeta{{Name: "new", Kind: "task"}, {Name: "api-image", Kind: "image"}, {Name: "build", Kind: "task", Manual: true}})
	if m.Selected() != "api-image" {
		t.Errorf("selected %q after SetRules, want api-image", m.Selected())
	}
	want := map[string]string{"new": StatePending, "api-image": StateFailed, "build": StateOK}
	for n, s := range want {
		if got := m.byName[n].state; got != s {
			t.Errorf("%s: state %q, want %q", n, got, s)
		}
	}
	m.Move(10)
	if m.Selected() != "build" {
		t.Errorf("Move past the end selected %q", m.Selected())
	}
	m.Move(-10)
	if m.Selected() != "new" {
		t.Errorf("Move past the start selected %q", m.Selected())
	}
}

func TestLogIsBounded(t *testing.T) {
	m := NewModel("x")
	for range maxLog + 10 {
		m.Write([]byte("line\n"))
	}
	if len(m.log) != maxLog {
		t.Errorf("%d log lines kept, want %d", len(m.log), maxLog)
	}
}

func TestReadKey(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("q\x03\r\x1b[A\x1b[B\x1bOAt\x1b[5~j"))
	var got []string
	for {
		k, err := readKey(r)
		if err != nil {
			break
		}
		got = append(got, k)
	}
	want := "q ctrl-c enter up down up t  j"
	if strings.Join(got, " ") != want {
		t.Errorf("keys %q, want %q", strings.Join(got, " "), want)
	}
}

// BenchmarkRender draws a screen of 40 rules over a full log, as the view
// does at most 20 times a second.
func BenchmarkRender(b *testing.B) {
	m := NewModel("ferry watch · /src/big")
	var rules []RuleMeta
	for i := range 40 {
		rules = append(rules, RuleMeta{Name: strings.Repeat("r", i%12+1) + string(rune('a'+i%26)), Kind: "task"})
	}
	m.SetRules(rules)
	for range maxLog {
		m.Write([]byte("03:04:05 build │ compiling github.com/acme/api/internal/server with a long line of output\n"))
	}
	now := time.Now()
	for b.Loop() {
		m.Render(120, 50, now, true)
	}
}

// Log lines lose what would break the layout: colours, control
// characters, all but the last state of a progress bar.
func TestLogLinesArePrintable(t *testing.T) {
	m := NewModel("x")
	m.Write([]byte("\x1b[32mok\x1b[0m\tdone\x07\r\n 10%\r 55%\r100%\n"))
	want := []string{"ok done", "100%"}
	if !slices.Equal(m.log, want) {
		t.Errorf("log %q, want %q", m.log, want)
	}
}

// A live update shows as its own state, with its duration.
func TestLiveUpdatedState(t *testing.T) {
	m := NewModel("ferry watch")
	m.SetRules([]RuleMeta{{Name: "site-image", Kind: "image"}})
	m.Handle(engine.Event{Time: t0, Kind: engine.EventRuleStart, Rule: "site-image"})
	m.Handle(engine.Event{Time: t0, Kind: engine.EventLiveUpdated, Rule: "site-image", Duration: 95 * time.Millisecond})
	if r := m.byName["site-image"]; r.state != StateLive || r.last != 95*time.Millisecond {
		t.Errorf("state %q, last %s; want %q, 95ms", r.state, r.last, StateLive)
	}
}
