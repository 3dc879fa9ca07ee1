// Package console renders the engine's event stream as logs through zerolog:
// readable, optionally coloured lines for people, or JSON for machines.
package console

import (
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/ferryhq/ferry/engine"
)

// Options configure a sink.
type Options struct {
	Out    io.Writer
	Format string // "console" (default) or "json"
	Level  zerolog.Level
	Color  bool // colour console output
	// RawColor keeps the colour sequences (SGR) of the text of events,
	// such as a task's coloured output; other control characters are
	// shown escaped all the same (see engine.Printable).
	RawColor bool
}

// ColorFor reports whether console output to w should be coloured: only on
// a terminal, and never under CI or with NO_COLOR set.
func ColorFor(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false
	}
	return os.Getenv("CI") == "" && os.Getenv("NO_COLOR") == ""
}

// ParseLevel parses a --log-level value.
func ParseLevel(s string) (zerolog.Level, error) {
	l, err := zerolog.ParseLevel(strings.ToLower(s))
	if err != nil || s == "" {
		return zerolog.InfoLevel, fmt.Errorf("unknown log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// Sink logs events. It writes the lines of rule output it is given
// between two flushes (see engine.Flusher) at once, and everything else
// at once.
type Sink struct {
	log      zerolog.Logger
	outLog   zerolog.Logger // log, writing JSON to out without flushing
	out      *buffer
	console  bool // people read it: put positions in the message, escape control characters
	color    bool
	rawColor bool
	level    zerolog.Level

	// The last second and rule written, as the console shows them.
	sec      int64
	clock    []byte
	rule     string
	ruleHead []byte
}

// New returns a sink writing to o.Out.
func New(o Options) (*Sink, error) {
	s := &Sink{out: &buffer{w: o.Out}, console: o.Format != "json", color: o.Color, rawColor: o.RawColor, level: o.Level, sec: -1}
	var w, lazy io.Writer
	switch o.Format {
	case "json":
		w, lazy = s.out, lazyWriter{s.out}
	case "", "console": // output lines are written by output, not outLog
		w = consoleWriter(s.out, o.Color)
		lazy = w
	default:
		return nil, fmt.Errorf("unknown log format %q: want console or json", o.Format)
	}
	zerolog.DurationFieldUnit = time.Millisecond
	s.log = zerolog.New(w).Level(o.Level).With().Timestamp().Logger()
	s.outLog = zerolog.New(lazy).Level(o.Level).With().Timestamp().Logger()
	return s, nil
}

// Logger returns the underlying logger, for messages from outside the engine.
func (s *Sink) Logger() *zerolog.Logger { return &s.log }

// Flush writes out the lines of output held back.
func (s *Sink) Flush() { s.out.Flush() }

// buffer passes each write on at once, after the output held back.
type buffer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// A redactedWriter takes output that its redactor has redacted already
// (see redact.Writer.WriteRedacted), such as lines of rule output, without
// scanning it again.
type redactedWriter interface {
	WriteRedacted(p []byte) (int, error)
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.flush(); err != nil {
		return 0, err
	}
	return b.w.Write(p)
}

// hold adds p to what is held back, which it writes out once it is large.
func (b *buffer) hold(p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) >= 64<<10 {
		b.flush()
	}
}

// Flush writes out what is held back.
func (b *buffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flush()
}

// flush writes out the lines of output held back: redacted already, they
// are not scanned again by a redacting writer.
func (b *buffer) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	var err error
	if r, ok := b.w.(redactedWriter); ok {
		_, err = r.WriteRedacted(b.buf)
	} else {
		_, err = b.w.Write(b.buf)
	}
	b.buf = b.buf[:0]
	return err
}

// lazyWriter holds back what is written to a buffer until its next flush.
type lazyWriter struct{ b *buffer }

func (w lazyWriter) Write(p []byte) (int, error) {
	w.b.hold(p)
	return len(p), nil
}

// output writes a line of rule output to the console as zerolog's
// console writer would ("15:04:05 rule │ text"), without its cost: a
// task may print millions of lines.
func (s *Sink) output(e engine.Event) {
	if sec := e.Time.Unix(); sec != s.sec {
		s.sec, s.clock = sec, []byte(paint(s.color, "90", e.Time.Format("15:04:05"))+" ")
	}
	if e.Rule != s.rule || s.ruleHead == nil {
		s.rule, s.ruleHead = e.Rule, []byte(paint(s.color, ruleColor(e.Rule), e.Rule)+" │")
	}
	text := engine.Printable(e.Text, s.rawColor)
	b := s.out
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(append(b.buf, s.clock...), s.ruleHead...)
	switch {
	case text == "":
	case s.color:
		b.buf = append(append(append(b.buf, " \x1b[1m"...), text...), "\x1b[0m"...)
	default:
		b.buf = append(append(b.buf, ' '), text...)
	}
	b.buf = append(b.buf, '\n')
	if len(b.buf) >= 64<<10 {
		b.flush()
	}
}

// Handle logs one event.
func (s *Sink) Handle(e engine.Event) {
	l := &s.log
	if s.console && e.Kind != engine.EventOutput {
		e.Text, e.Err, e.Reason = engine.Printable(e.Text, s.rawColor), engine.Printable(e.Err, s.rawColor), engine.Printable(e.Reason, s.rawColor)
	}
	switch e.Kind {
	case engine.EventPrint:
		ev := l.Info().Str("pos", e.Pos)
		if e.Rule != "" {
			ev = ev.Str("rule", e.Rule)
		}
		msg := e.Text
		if s.console && e.Pos != "" {
			msg = e.Pos + ": " + msg
		}
		ev.Msg(msg)
	case engine.EventLog:
		lvl, _ := zerolog.ParseLevel(e.Level)
		l.WithLevel(lvl).Msg(e.Text)
	case engine.EventRunStart:
		l.Debug().Msg(e.Text)
	case engine.EventRuleStart:
		ev := l.Info().Str("rule", e.Rule).Str("reason", e.Reason)
		msg := "started: " + e.Reason
		if e.Attempt > 1 {
			ev = ev.Int("attempt", e.Attempt)
			msg = fmt.Sprintf("started attempt %d: %s", e.Attempt, e.Reason)
		}
		ev.Msg(msg)
	case engine.EventOutput:
		switch {
		case s.level > zerolog.InfoLevel:
		case s.console:
			s.output(e)
		default:
			s.outLog.Info().Str("rule", e.Rule).Str("stream", e.Stream).Msg(e.Text)
		}
	case engine.EventCached:
		l.Debug().Str("rule", e.Rule).Msg("up to date")
	case engine.EventRuleDone:
		l.Info().Str("rule", e.Rule).Dur("duration", e.Duration).Msg("done in " + human(e.Duration))
	case engine.EventRuleFail:
		l.Error().Str("rule", e.Rule).Dur("duration", e.Duration).Str("error", e.Err).
			Msg("failed after " + human(e.Duration) + ": " + e.Err)
	case engine.EventRetry:
		l.Warn().Str("rule", e.Rule).Int("attempt", e.Attempt).Str("error", e.Err).
			Msg(fmt.Sprintf("attempt %d failed, retrying: %s", e.Attempt, e.Err))
	case engine.EventSkipped:
		l.Warn().Str("rule", e.Rule).Str("reason", e.Reason).Msg("skipped: " + e.Reason)
	case engine.EventLiveUpdated:
		l.Info().Str("rule", e.Rule).Dur("duration", e.Duration).Msg("live-updated in " + human(e.Duration))
	case engine.EventRunDone:
		s.summary(e.Summary)
	case engine.EventServiceHealth, engine.EventServiceReplicas, engine.EventServiceExit, engine.EventServiceRestart,
		engine.EventServiceCrashLoop, engine.EventServiceScale:
		s.service(e)
	case engine.EventImagePull:
		ev := l.Info().Str("rule", e.Rule).Str("event", string(e.Kind))
		if p := e.Pull; p != nil {
			ev = ev.Str("image", p.Image).Int64("current", p.Bytes.Current).Int64("total", p.Bytes.Total)
			if p.Digest != "" {
				ev = ev.Str("digest", p.Digest)
			}
		}
		ev.Msg(e.Text)
	}
}

// service logs a service event as "service: text" ("autoscale service:
// text" for a scale decision) at its level; one without text, which
// nobody needs to read as it happens, is described at debug level.
func (s *Sink) service(e engine.Event) {
	st := e.Service
	if st == nil {
		st = &engine.ServiceState{}
	}
	msg, lvl := e.Text, zerolog.InfoLevel
	if l, err := zerolog.ParseLevel(e.Level); err == nil && e.Level != "" {
		lvl = l
	}
	if msg == "" {
		msg, lvl = describe(e), zerolog.DebugLevel
	}
	prefix := st.Name + ": "
	if e.Kind == engine.EventServiceScale {
		prefix = "autoscale " + prefix
	}
	s.log.WithLevel(lvl).Str("service", st.Name).Str("event", string(e.Kind)).Msg(prefix + msg)
}

// describe says briefly, for people, what a service event reports,
// without the service's name: "2/3 replicas ready", "unhealthy: why".
func describe(e engine.Event) string {
	st := e.Service
	if st == nil {
		return string(e.Kind)
	}
	why := ""
	if e.Reason != "" {
		why = ": " + e.Reason
	}
	switch e.Kind {
	case engine.EventServiceHealth:
		return st.Health + why
	case engine.EventServiceReplicas:
		if r := st.Replicas; r != nil {
			return fmt.Sprintf("%d/%d replicas ready", r.Ready, r.Wanted)
		}
	case engine.EventServiceExit:
		if x := st.Exit; x != nil {
			return fmt.Sprintf("%s exited with code %d%s", st.Replica, x.Code, why)
		}
		return st.Replica + " exited" + why
	case engine.EventServiceRestart:
		return fmt.Sprintf("%s restarted (restart %d)", st.Replica, st.Restarts)
	case engine.EventServiceCrashLoop:
		return st.Replica + " is in a crash loop" + why
	case engine.EventServiceScale:
		if d := st.Scale; d != nil {
			if d.To == d.From {
				return fmt.Sprintf("keeping %d replicas%s", d.From, why)
			}
			return fmt.Sprintf("%d → %d replicas%s", d.From, d.To, why)
		}
	}
	return string(e.Kind) + why
}

func (s *Sink) summary(sum *engine.Summary) {
	ev := s.log.Info()
	if len(sum.Failed) > 0 || sum.Interrupted {
		ev = s.log.Error()
	}
	msg := fmt.Sprintf("%d ran, %d up to date, %d failed, %d skipped in %s",
		len(sum.Ran), len(sum.Cached), len(sum.Failed), len(sum.Skipped), human(sum.Duration))
	if len(sum.LiveUpdated) > 0 {
		msg += fmt.Sprintf("; %d live-updated", len(sum.LiveUpdated))
	}
	if len(sum.Failed) > 0 {
		msg += "; failed: " + strings.Join(sum.Failed, ", ")
	}
	if sum.Interrupted {
		msg += "; interrupted"
	}
	ev.Int("ran", len(sum.Ran)).Int("cached", len(sum.Cached)).Int("failed", len(sum.Failed)).
		Int("skipped", len(sum.Skipped)).Dur("duration", sum.Duration).Bool("summary", true).Msg(msg)
}

// human formats a duration for people: 850µs, 12.3ms, 4.56s.
func human(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// Colours cycled through by rule name, so a rule keeps its colour.
var palette = []string{"36", "35", "33", "32", "34", "96", "95", "93", "92", "94"}

func paint(color bool, code, s string) string {
	if !color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func ruleColor(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	return palette[h.Sum32()%uint32(len(palette))]
}

// consoleWriter formats log lines as "15:04:05 rule │ message key=value".
func consoleWriter(out io.Writer, color bool) io.Writer {
	return zerolog.ConsoleWriter{
		Out:           out,
		NoColor:       !color,
		TimeFormat:    "15:04:05",
		PartsOrder:    []string{zerolog.TimestampFieldName, zerolog.LevelFieldName, "rule", zerolog.MessageFieldName},
		FieldsExclude: []string{"rule", "pos", "reason", "error", "attempt", "stream", "summary", "service", "event", "duration", "ran", "cached", "failed", "skipped", "image", "current", "total", "digest"},
		FormatLevel: func(v any) string {
			switch v {
			case "warn":
				return paint(color, "33", "WARN")
			case "error":
				return paint(color, "31", "ERROR")
			case "debug":
				return paint(color, "90", "debug")
			}
			return ""
		},
		FormatPartValueByName: func(v any, name string) string {
			if name != "rule" {
				return fmt.Sprint(v)
			}
			if v == nil {
				return ""
			}
			r := fmt.Sprint(v)
			return paint(color, ruleColor(r), r) + " │"
		},
	}
}
