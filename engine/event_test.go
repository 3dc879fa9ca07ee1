package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine/redact"
)

func TestNewBusPanicsWithoutRedactor(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewBus(nil) did not panic")
		}
	}()
	NewBus(nil)
}

func TestBusRedactsEvents(t *testing.T) {
	r := redact.New()
	var got []Event
	b := NewBus(r, SinkFunc(func(e Event) { got = append(got, e) }))
	if err := r.Add("tok", "value-of-the-token"); err != nil {
		t.Fatal(err)
	}
	b.Emit(Event{Kind: EventOutput, Text: "token=value-of-the-token", Err: "bad value-of-the-token", Reason: "value-of-the-token changed"})
	e := got[0]
	if e.Text != "token=[redacted tok]" || e.Err != "bad [redacted tok]" || e.Reason != "[redacted tok] changed" {
		t.Fatalf("got %+v", e)
	}
}

// TestEveryBusRedacts checks that no sink, of a bus or of its forks, sees
// a value its redactor knows, whichever way the event is emitted.
func TestEveryBusRedacts(t *testing.T) {
	const value = "value-of-the-token"
	r := redact.New()
	if err := r.Add("tok", value); err != nil {
		t.Fatal(err)
	}
	var seen []Event
	sink := SinkFunc(func(e Event) { seen = append(seen, e) })
	root := NewBus(r, sink)
	buses := map[string]*Bus{"new": root, "fork": root.Fork(sink), "fork of fork": root.Fork().Fork(sink)}
	for name, b := range buses {
		seen = nil
		b.Emit(Event{Kind: EventRuleFail, Rule: "r", Text: "t " + value, Err: "e " + value, Reason: "r " + value})
		b.Logf(LevelWarn, "log %s", value)
		w := b.RuleOutput("r", "stdout")
		w.Write([]byte("out " + value + "\n"))
		w.Flush()
		if len(seen) != 3 {
			t.Fatalf("%s: %d events, want 3", name, len(seen))
		}
		for _, e := range seen {
			j, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(j), value) || !strings.Contains(string(j), "[redacted tok]") {
				t.Errorf("%s: a sink saw %s", name, j)
			}
		}
	}
}

// A forked bus (the watch's status view) redacts with its parent's
// redactor, also a value added after the fork.
func TestForkedBusRedacts(t *testing.T) {
	r := redact.New()
	parent := NewBus(r)
	var got []Event
	b := parent.Fork(SinkFunc(func(e Event) { got = append(got, e) }))
	if err := r.Add("tok", "value-of-the-token"); err != nil {
		t.Fatal(err)
	}
	b.Emit(Event{Kind: EventLog, Text: "token=value-of-the-token"})
	var lines []string
	w := b.Output(func(line string) { lines = append(lines, line) })
	w.Write([]byte("out value-of-the-token\n"))
	w.Flush()
	if len(got) != 1 || got[0].Text != "token=[redacted tok]" {
		t.Errorf("event: %+v", got)
	}
	if len(lines) != 1 || lines[0] != "out [redacted tok]" {
		t.Errorf("output lines: %q", lines)
	}
}

// TestRuleOutputRedactedBeforeLines checks that cutting a rule's output
// into lines, and a long line into pieces, does not defeat redaction.
func TestRuleOutputRedactedBeforeLines(t *testing.T) {
	const value = "value-of-the-token"
	b64 := base64.StdEncoding.EncodeToString([]byte("user:" + value + ":end"))
	cases := map[string][]string{
		// The value straddles the place where a line over maxLine is
		// cut, as when a pipe is read 32 KiB at a time.
		"long line": {strings.Repeat("a", maxLine/2), strings.Repeat("a", maxLine/2-6) + value[:6], value[6:] + "\n"},
		// base64 wraps its output: the encoded value crosses a line break.
		"wrapped base64": {b64[:12] + "\n" + b64[12:] + "\n"},
	}
	for name, print := range cases {
		t.Run(name, func(t *testing.T) {
			r := &testRule{info: RuleInfo{Name: "t", Kind: "task", Default: true}, def: "v1", print: print}
			e, _ := newTestEngine(t, nil, r)
			red := redact.New()
			if err := red.Add("tok", value); err != nil {
				t.Fatal(err)
			}
			var events []Event
			e.Events = NewBus(red, SinkFunc(func(ev Event) { events = append(events, ev) }))
			if _, err := e.Run(context.Background(), []string{"t"}, RunOptions{}); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			for _, ev := range events {
				if ev.Kind == EventOutput {
					out.WriteString(ev.Text)
				}
			}
			for _, f := range redact.Forms(value) {
				if len(f) >= redact.MinLen && strings.Contains(out.String(), f) {
					t.Fatalf("output leaks %q", f)
				}
			}
			for _, part := range []string{value[:6], value[6:]} {
				if strings.Contains(out.String(), part) {
					t.Fatalf("output leaks %q", part)
				}
			}
			if !strings.Contains(out.String(), "[redacted tok]") {
				t.Fatalf("no [redacted tok] in %q", out.String()[max(0, out.Len()-200):])
			}
		})
	}
}

func TestOutputControlCharactersShown(t *testing.T) {
	in := "a\x1b]0;pwned\x07b\rc\x08d\x00e\x7ff\u009bg\tz\xff\n\x1b[31mred\x1b[0m \x1b[2J\n"
	for _, c := range []struct {
		color bool
		want  []string
	}{
		{false, []string{`a\x1b]0;pwned\x07b\rc\x08d\x00e\x7ff\u009bg` + "\tz\xff", `\x1b[31mred\x1b[0m \x1b[2J`}},
		{true, []string{`a\x1b]0;pwned\x07b\rc\x08d\x00e\x7ff\u009bg` + "\tz\xff", "\x1b[31mred\x1b[0m " + `\x1b[2J`}},
	} {
		var got []string
		w := NewOutputWriter(nil, func(l string) { got = append(got, l) })
		w.Color = c.color
		w.Write([]byte(in))
		w.Flush()
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("color %v: got %q, want %q", c.color, got, c.want)
		}
	}
}

func TestOutputRedactedThroughControlCharacters(t *testing.T) {
	r := redact.New()
	r.Add("pw", "Hunter2-Sesame")
	var got []string
	w := NewOutputWriter(r, func(l string) { got = append(got, l) })
	w.Write([]byte("pw=HUNT\x1b[1mER2\x1b[0m-"))
	w.Write([]byte("sesame\r\n"))
	w.Flush()
	if len(got) != 1 || got[0] != "pw=[redacted pw]" {
		t.Fatalf("got %q", got)
	}
}

func TestBusRuleOutput(t *testing.T) {
	t.Parallel()
	var got []Event
	b := NewBus(redact.New(), SinkFunc(func(e Event) { got = append(got, e) }))
	w := b.RuleOutput("api", "stderr")
	w.Write([]byte("one\ntwo"))
	w.Flush()
	if len(got) != 2 || got[0].Kind != EventOutput || got[0].Rule != "api" || got[0].Stream != "stderr" || got[0].Text != "one" || got[1].Text != "two" {
		t.Fatalf("events %+v, want api's stderr lines one and two", got)
	}
}
