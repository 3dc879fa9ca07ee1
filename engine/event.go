package engine

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ferryhq/ferry/engine/redact"
)

// An EventKind says what an Event reports.
type EventKind string

// The kinds of events the engine reports.
const (
	EventPrint     EventKind = "print"      // print() in Starlark: Text, Pos
	EventLog       EventKind = "log"        // an engine message: Level, Text
	EventRunStart  EventKind = "run.start"  // a run begins: Total rules selected
	EventRuleStart EventKind = "rule.start" // a rule starts: Rule, Reason, Attempt
	EventOutput    EventKind = "rule.output"
	EventRuleDone  EventKind = "rule.done"    // Rule succeeded: Duration
	EventCached    EventKind = "rule.cached"  // Rule was up to date
	EventRuleFail  EventKind = "rule.failed"  // Rule failed: Err, Duration
	EventSkipped   EventKind = "rule.skipped" // Rule not run: Reason
	EventRetry     EventKind = "rule.retry"   // Rule failed and will run again: Err, Attempt
	EventRunDone   EventKind = "run.done"     // a run ended: Summary
	// EventLiveUpdated: Rule updated what runs in place instead of
	// rebuilding (see ErrLiveUpdated): Duration.
	EventLiveUpdated EventKind = "rule.live_updated"
)

// Levels for EventLog events.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// An Event is one thing the engine reports. Every sink (console, JSON log,
// later CI reports and the watch view) consumes the same stream.
type Event struct {
	Time     time.Time     `json:"time"`
	Kind     EventKind     `json:"kind"`
	Rule     string        `json:"rule,omitempty"`
	Level    string        `json:"level,omitempty"`
	Text     string        `json:"text,omitempty"`
	Stream   string        `json:"stream,omitempty"` // "stdout" or "stderr" for output
	Pos      string        `json:"pos,omitempty"`    // Starlark file:line:col
	Reason   string        `json:"reason,omitempty"`
	Err      string        `json:"error,omitempty"`
	Attempt  int           `json:"attempt,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	Summary  *Summary      `json:"summary,omitempty"`
}

// A Summary totals a run.
type Summary struct {
	Ran         []string      `json:"ran"`
	Cached      []string      `json:"cached"`
	Failed      []string      `json:"failed"`
	Skipped     []string      `json:"skipped"`
	LiveUpdated []string      `json:"live_updated,omitempty"`
	Interrupted bool          `json:"interrupted,omitempty"`
	Duration    time.Duration `json:"duration"`
}

// A Sink consumes events. Handle is called from one goroutine at a time.
type Sink interface {
	Handle(Event)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(Event)

// Handle calls f.
func (f SinkFunc) Handle(e Event) { f(e) }

// A Bus delivers each event to every sink, one event at a time, in order.
type Bus struct {
	mu       sync.Mutex
	sinks    []Sink
	redactor *redact.Redactor
}

// NewBus returns a Bus feeding sinks.
func NewBus(sinks ...Sink) *Bus { return &Bus{sinks: sinks} }

// Add attaches another sink.
func (b *Bus) Add(s Sink) {
	b.mu.Lock()
	b.sinks = append(b.sinks, s)
	b.mu.Unlock()
}

// Redact makes the bus remove r's secret values from the text of every
// event before any sink sees it.
func (b *Bus) Redact(r *redact.Redactor) {
	b.mu.Lock()
	b.redactor = r
	b.mu.Unlock()
}

// Emit stamps e with the time if it has none and delivers it.
func (b *Bus) Emit(e Event) {
	if b == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.redactor; r != nil {
		e.Text, e.Err, e.Reason = r.String(e.Text), r.String(e.Err), r.String(e.Reason)
	}
	for _, s := range b.sinks {
		s.Handle(e)
	}
}

// Logf emits an EventLog at level.
func (b *Bus) Logf(level, format string, args ...any) {
	b.Emit(Event{Kind: EventLog, Level: level, Text: fmt.Sprintf(format, args...)})
}

// An OutputWriter takes one stream of output, such as a rule's or a
// container's: a redactor removes the secrets from the byte stream first,
// and only then is it cut into lines, so that neither the cut of a line
// longer than maxLine nor a value (or an encoding of it, such as wrapped
// base64) running across lines escapes redaction, and what is added to
// each line afterwards (a container's name) cannot split a value.
type OutputWriter struct {
	io.Writer // red, or lines when there is no redactor
	red       *redact.Writer
	lines     *lineWriter
}

// Output returns an OutputWriter passing each line of output, redacted by
// the bus's redactor, to emit. Each event is redacted again on the bus,
// line by line.
func (b *Bus) Output(emit func(line string)) *OutputWriter {
	var r *redact.Redactor
	if b != nil {
		b.mu.Lock()
		r = b.redactor
		b.mu.Unlock()
	}
	return NewOutputWriter(r, emit)
}

// NewOutputWriter returns an OutputWriter passing each line of output,
// with r's values removed (none when r is nil), to emit.
func NewOutputWriter(r *redact.Redactor, emit func(line string)) *OutputWriter {
	w := &OutputWriter{lines: &lineWriter{emit: emit}}
	w.Writer = w.lines
	if r != nil {
		w.red = r.Writer(w.lines)
		w.Writer = w.red
	}
	return w
}

// Flush emits what is held back and a final unterminated line.
func (w *OutputWriter) Flush() {
	if w.red != nil {
		w.red.Flush()
	}
	w.lines.Flush()
}
