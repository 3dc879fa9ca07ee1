package console

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// EventLog writes every engine event as one JSON object per line
// (NDJSON), for tools. Each line reaches w in a single Write, so a reader
// following the file (tail -f) never sees half an event.
type EventLog struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

// NewEventLog returns an EventLog writing to w.
func NewEventLog(w io.Writer) *EventLog { return &EventLog{w: w} }

// Record is the JSON form of one event. Its field names are stable:
// docs/watch.md lists them.
type Record struct {
	Time       string         `json:"time"` // RFC 3339 with nanoseconds, UTC
	Kind       string         `json:"kind"`
	Rule       string         `json:"rule,omitempty"`
	Level      string         `json:"level,omitempty"`
	Text       string         `json:"text,omitempty"`
	Stream     string         `json:"stream,omitempty"`
	Pos        string         `json:"pos,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Error      string         `json:"error,omitempty"`
	Attempt    int            `json:"attempt,omitempty"`
	DurationMS *float64       `json:"duration_ms,omitempty"`
	Summary    *SummaryRecord `json:"summary,omitempty"`
	// Service is what a service event (kind service.*) reports.
	Service *engine.ServiceState `json:"service,omitempty"`
	// Pull is how far a pull has come (kind image.pull).
	Pull *engine.PullState `json:"pull,omitempty"`
}

// SummaryRecord is the JSON form of a run's summary.
type SummaryRecord struct {
	Ran         []string `json:"ran"`
	Cached      []string `json:"cached"`
	Failed      []string `json:"failed"`
	Skipped     []string `json:"skipped"`
	Interrupted bool     `json:"interrupted"`
	DurationMS  float64  `json:"duration_ms"`
	LiveUpdated []string `json:"live_updated,omitempty"`
}

// Handle writes e as one line. After a write error it writes nothing more
// (Err reports it).
func (l *EventLog) Handle(e engine.Event) {
	line, _ := json.Marshal(RecordOf(e)) // a Record always encodes
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		_, l.err = l.w.Write(line)
	}
}

// Err returns the first write error, if any.
func (l *EventLog) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// RecordOf converts an event to its JSON form.
func RecordOf(e engine.Event) Record {
	r := Record{
		Time: e.Time.UTC().Format(time.RFC3339Nano), Kind: string(e.Kind), Rule: e.Rule, Level: e.Level, Text: e.Text,
		Stream: e.Stream, Pos: e.Pos, Reason: e.Reason, Error: e.Err, Attempt: e.Attempt, Service: e.Service, Pull: e.Pull,
	}
	if e.Kind == engine.EventRuleDone || e.Kind == engine.EventRuleFail || e.Kind == engine.EventLiveUpdated {
		ms := millis(e.Duration)
		r.DurationMS = &ms
	}
	if s := e.Summary; s != nil {
		r.Summary = &SummaryRecord{Ran: nonNil(s.Ran), Cached: nonNil(s.Cached), Failed: nonNil(s.Failed), Skipped: nonNil(s.Skipped),
			Interrupted: s.Interrupted, DurationMS: millis(s.Duration), LiveUpdated: s.LiveUpdated}
	}
	return r
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// nonNil makes an empty list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
