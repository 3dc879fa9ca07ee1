package engine

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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

	// Service events report what happens to a running service; Service
	// says which, and what, and Text, when set, says it for people.
	EventServiceHealth    EventKind = "service.health"    // its health: Service.Health, Reason when not healthy
	EventServiceReplicas  EventKind = "service.replicas"  // how many replicas run: Service.Replicas
	EventServiceExit      EventKind = "service.exit"      // a replica died unasked: Service.Replica, Service.Exit
	EventServiceRestart   EventKind = "service.restart"   // the target restarted a replica: Service.Replica, Service.Restarts
	EventServiceCrashLoop EventKind = "service.crashloop" // a replica keeps crashing: Service.Replica, Service.Restarts, Service.Exit, Reason
	EventServiceScale     EventKind = "service.scale"     // the autoscaler decided, also to keep the count: Service.Scale, Reason

	// EventImagePull reports how a pull of an image for Rule stands:
	// Pull, and Text saying it for people.
	EventImagePull EventKind = "image.pull"
)

// Levels for EventLog events.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// An Event is one thing the engine reports. Every sink (console, JSON log,
// the --events file, CI reports, /metrics and the watch view) consumes the
// same stream.
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
	Service  *ServiceState `json:"service,omitempty"` // for service events
	Pull     *PullState    `json:"pull,omitempty"`    // for image.pull
}

// A PullState is how far a pull of Image has come: its layers, in the
// order the registry listed them, and, once Done, the Digest it resolved
// to (repo@sha256:…). Bytes count what the layers known so far have
// downloaded and will download.
type PullState struct {
	Image  string       `json:"image"`
	Layers []PullLayer  `json:"layers"`
	Bytes  ByteProgress `json:"bytes"`
	Done   bool         `json:"done,omitempty"`
	Digest string       `json:"digest,omitempty"`
}

// A PullLayer is one layer of a pull: Status as the Engine says it
// ("Waiting", "Downloading", "Extracting", "Pull complete", "Already
// exists"…), and its bytes downloaded (or extracted) out of Total.
type PullLayer struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Current int64  `json:"current,omitempty"`
	Total   int64  `json:"total,omitempty"`
}

// A ByteProgress is Current bytes out of Total.
type ByteProgress struct {
	Current int64 `json:"current"`
	Total   int64 `json:"total"`
}

// A ServiceState is what a service event reports about one service. Name
// is always set; the other fields are set by the kinds that report them
// (see the EventService kinds), and their JSON names are stable.
type ServiceState struct {
	Name string `json:"name"`
	// Replica names the replica (container or task) the event is about,
	// when it is about one.
	Replica string `json:"replica,omitempty"`
	// Health is starting, healthy or unhealthy (service.health).
	Health string `json:"health,omitempty"`
	// Restarts counts the target's restarts of the replica within the
	// time a crash loop is counted over (service.restart, service.crashloop).
	Restarts int            `json:"restarts,omitempty"`
	Exit     *ExitState     `json:"exit,omitempty"`
	Replicas *ReplicaCount  `json:"replicas,omitempty"`
	Scale    *ScaleDecision `json:"scale,omitempty"`
}

// An UnhealthyService is a service that did not become healthy, and why:
// what the deploy targets' waits find and a CI reports.
type UnhealthyService struct {
	Rule string
	Err  error
}

// An ExitState is how a replica's run ended.
type ExitState struct {
	Code int  `json:"code"`
	OOM  bool `json:"oom"` // it ran out of memory and was killed
}

// A ReplicaCount is how many replicas of a service run and how many
// should.
type ReplicaCount struct {
	Ready  int `json:"ready"`  // running (and healthy, for a target that says so)
	Wanted int `json:"wanted"` // what the service declares, or the autoscaler chose
}

// A ScaleDecision is one decision of the autoscaler: From replicas ran,
// To should; equal when it keeps the count. Value is the per-replica
// value of Metric it measured (nil when it has none yet), Target the
// value per replica it aims at.
type ScaleDecision struct {
	Metric string   `json:"metric"`
	Value  *float64 `json:"value"`
	Target float64  `json:"target"`
	From   int      `json:"from"`
	To     int      `json:"to"`
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

// A Flusher is a sink that may hold back what it writes: the bus calls
// Flush after each event, and after each write of output (which emits an
// event per line), so that a sink can write all those lines at once.
type Flusher interface {
	Flush()
}

// A Bus delivers each event to every sink, one event at a time, in order,
// with the secret values its redactor knows removed. Make one with NewBus
// (or Fork); a nil *Bus drops every event.
type Bus struct {
	mu       sync.Mutex
	sinks    []Sink
	redactor *redact.Redactor
	color    bool      // outputs keep their colour sequences
	batch    int       // writes of output under way: Emit leaves flushing to them
	now      time.Time // when the latest of them began: the time of the lines it emits
}

// NewBus returns a Bus feeding sinks that removes r's secret values from
// the text of every event before any sink sees it: no bus delivers events
// unredacted. A nil r is a programming error, and NewBus panics on it; a
// bus with no secrets to hide takes redact.New().
func NewBus(r *redact.Redactor, sinks ...Sink) *Bus {
	if r == nil {
		panic("engine.NewBus: nil redactor (every bus redacts; pass redact.New() when there is nothing to hide)")
	}
	return &Bus{sinks: sinks, redactor: r}
}

// Fork returns a new bus feeding sinks that redacts with b's redactor and
// keeps colour as b does: a bus for another view of the same events (the
// watch's status view) hides the same secrets.
func (b *Bus) Fork(sinks ...Sink) *Bus {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := NewBus(b.redactor, sinks...)
	f.color = b.color
	return f
}

// Add attaches another sink.
func (b *Bus) Add(s Sink) {
	b.mu.Lock()
	b.sinks = append(b.sinks, s)
	b.mu.Unlock()
}

// KeepColor makes the outputs made by Output keep their colour sequences
// (see OutputWriter.Color).
func (b *Bus) KeepColor(on bool) {
	b.mu.Lock()
	b.color = on
	b.mu.Unlock()
}

// Emit stamps e with the time if it has none and delivers it.
func (b *Bus) Emit(e Event) { b.emit(e, false) }

// EmitLine is Emit for an event whose Text is a line that an OutputWriter
// made by Output passed on: redacted already, it is not scanned again.
func (b *Bus) EmitLine(e Event) { b.emit(e, true) }

func (b *Bus) emit(e Event, line bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = b.now
		if b.batch == 0 {
			e.Time = time.Now()
		}
	}
	if !line {
		e.Text = b.redactor.String(e.Text)
	}
	e.Err, e.Reason = b.redactor.String(e.Err), b.redactor.String(e.Reason)
	for _, s := range b.sinks {
		s.Handle(e)
	}
	if b.batch == 0 {
		b.flush()
	}
}

// flush flushes the sinks that hold back what they write; b.mu is held.
func (b *Bus) flush() {
	for _, s := range b.sinks {
		if f, ok := s.(Flusher); ok {
			f.Flush()
		}
	}
}

// begin starts a write of output: the events it emits are flushed by end,
// all at once, and those without a time are stamped with the time the
// write began (or a later one's, when writes overlap), not each its own.
func (b *Bus) begin() {
	now := time.Now()
	b.mu.Lock()
	b.batch++
	b.now = now
	b.mu.Unlock()
}

func (b *Bus) end() {
	b.mu.Lock()
	b.batch--
	b.flush()
	b.mu.Unlock()
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
	w     io.Writer // red, or lines when there is no redactor
	red   *redact.Writer
	lines *lineWriter
	bus   *Bus // whose sinks are flushed after each write, if any
	// Color keeps the colour and style sequences (SGR: ESC [ ... m) of
	// the output; other control characters are shown escaped all the
	// same (see Printable). Set it before the first Write.
	Color bool
}

// RuleOutput returns an OutputWriter emitting each line as output of rule
// on stream ("stdout" or "stderr"), as the rule's own output is shown.
func (b *Bus) RuleOutput(rule, stream string) *OutputWriter {
	return b.Output(func(line string) {
		b.EmitLine(Event{Kind: EventOutput, Rule: rule, Stream: stream, Text: line})
	})
}

// Output returns an OutputWriter passing each line of output, redacted by
// the bus's redactor, to emit, which should pass it on with EmitLine. The
// sinks are flushed once per write, not per line.
func (b *Bus) Output(emit func(line string)) *OutputWriter {
	if b == nil {
		return NewOutputWriter(nil, emit)
	}
	b.mu.Lock()
	r, color := b.redactor, b.color
	b.mu.Unlock()
	w := NewOutputWriter(r, emit)
	w.Color, w.bus = color, b
	return w
}

// NewOutputWriter returns an OutputWriter passing each line of output,
// with r's values removed (none when r is nil), to emit.
func NewOutputWriter(r *redact.Redactor, emit func(line string)) *OutputWriter {
	w := &OutputWriter{}
	w.lines = &lineWriter{emit: func(line string) { emit(Printable(line, w.Color)) }}
	w.w = w.lines
	if r != nil {
		w.red = r.Writer(w.lines)
		w.w = w.red
	}
	return w
}

// Write takes the next bytes of output, and emits the lines they end.
func (w *OutputWriter) Write(p []byte) (int, error) {
	if w.bus != nil {
		w.bus.begin()
		defer w.bus.end()
	}
	return w.w.Write(p)
}

// Flush emits what is held back and a final unterminated line.
func (w *OutputWriter) Flush() {
	if w.bus != nil {
		w.bus.begin()
		defer w.bus.end()
	}
	if w.red != nil {
		w.red.Flush()
	}
	w.lines.Flush()
}

// Printable returns s with the characters a terminal would act on instead
// of showing written as Go escapes, so that output cannot move the cursor,
// rewrite or erase what is shown, set the window title or hide text:
// C0 controls but tab and newline (\x1b, \r, \x08, \x00...), DEL (\x7f),
// C1 controls (\u009b, or \x9b when not in UTF-8). With color, colour and
// style sequences (SGR: ESC [ digits and ';' or ':' m) are kept as they
// are. s is returned as is, without copying, when it has none.
func Printable(s string, color bool) string {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		// Eight bytes at once: none below 0x20, none at or above 0x7f.
		x := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
		if (x-0x2020202020202020|x|(x+0x0101010101010101))&0x8080808080808080 != 0 {
			break
		}
	}
	for i < len(s) && !unsafeByte[s[i]] {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		switch {
		case !unsafeByte[c]:
			b.WriteByte(c)
			i++
			continue
		case c == '\r':
			b.WriteString(`\r`)
			i++
			continue
		case c == 0x1b && color:
			if n := sgr(s[i:]); n > 0 {
				b.WriteString(s[i : i+n])
				i += n
				continue
			}
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch {
			case r >= 0x80 && r <= 0x9f:
				fmt.Fprintf(&b, `\u%04x`, r)
			case r == utf8.RuneError && n == 1 && c <= 0x9f:
				fmt.Fprintf(&b, `\x%02x`, c)
			default:
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		fmt.Fprintf(&b, `\x%02x`, c)
		i++
	}
	return b.String()
}

// unsafeByte marks the bytes that Printable looks at: controls, DEL, and
// the bytes of non-ASCII characters (among which the C1 controls).
var unsafeByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c < 0x20 && c != '\t' && c != '\n' || c >= 0x7f
	}
	return t
}()

// sgr returns the length of the SGR sequence at the start of s, or 0.
func sgr(s string) int {
	if len(s) < 3 || s[1] != '[' {
		return 0
	}
	for i := 2; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'm':
			return i + 1
		case c != ';' && c != ':' && (c < '0' || c > '9'):
			return 0
		}
	}
	return 0
}

// String says for people how far the pull has come, with a bar:
// "pulling reg/pg:16 [######······] 48% of 31.2 MB, 2/5 layers", and once
// done "pulled reg/pg:16 (reg/pg@sha256:…)".
func (p *PullState) String() string {
	if p.Done {
		if p.Digest == "" {
			return "pulled " + p.Image
		}
		return fmt.Sprintf("pulled %s (%s)", p.Image, p.Digest)
	}
	done := 0
	for _, l := range p.Layers {
		if l.Status == "Pull complete" || l.Status == "Already exists" {
			done++
		}
	}
	layers := fmt.Sprintf("%d/%d layers", done, len(p.Layers))
	if p.Bytes.Total <= 0 {
		return fmt.Sprintf("pulling %s, %s", p.Image, layers)
	}
	const width = 20
	pct := min(100, int(p.Bytes.Current*100/p.Bytes.Total))
	bar := strings.Repeat("#", pct*width/100) + strings.Repeat("·", width-pct*width/100)
	return fmt.Sprintf("pulling %s [%s] %d%% of %s, %s", p.Image, bar, pct, pullSize(p.Bytes.Total), layers)
}

// pullSize writes n bytes for people: "812 kB", "31.2 MB".
func pullSize(n int64) string {
	if n < 1e6 {
		return fmt.Sprintf("%d kB", (n+999)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
