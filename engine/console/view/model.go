// Package view is the live status view of `ferry watch` on a terminal: one
// line per rule (state, last duration, last error; for a service, its
// replicas and health) above the log. The
// Model is built only from engine events and log lines, so it renders the
// same from a recorded stream as from a real watch; Terminal draws it.
package view

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// States a rule is shown in. A rule event kind the view does not know
// ("rule.serving", say) shows as its last part.
const (
	StatePending  = "pending"  // selected, not run yet in this watch
	StateManual   = "manual"   // runs only when triggered
	StateRunning  = "running"  // started, not done
	StateRetrying = "retrying" // failed, running again
	StateOK       = "ok"       // ran and succeeded
	StateCached   = "cached"   // found up to date
	StateLive     = "live"     // live-updated: running containers updated in place
	StateFailed   = "failed"
	StateSkipped  = "skipped" // not run: a dep failed
)

// A RuleMeta describes a rule to show.
type RuleMeta struct {
	Name   string
	Kind   string
	Manual bool
}

// A row is what the view shows of one rule.
type row struct {
	RuleMeta
	state   string
	started time.Time     // when running
	last    time.Duration // duration of the last run that ended
	err     string        // first line of the last error, until a success

	// What the service events said of a service: its replicas, its
	// health, its trouble (a crash loop, why it is unhealthy) until it is
	// healthy again, and its autoscaler's last decision.
	replicas *engine.ReplicaCount
	health   string
	trouble  string
	scale    *engine.ScaleDecision
}

// maxLog bounds the log lines kept.
const maxLog = 1000

// Model is the view's state. It is not safe for concurrent use: Terminal
// guards it.
type Model struct {
	title    string
	rows     []*row
	byName   map[string]*row
	log      []string
	partial  string // a log line not ended yet
	selected int
}

// NewModel returns an empty model titled title.
func NewModel(title string) *Model {
	return &Model{title: title, byName: map[string]*row{}}
}

// SetRules sets the rules shown, in order, keeping what is known of rules
// shown before (after a reload, say).
func (m *Model) SetRules(rules []RuleMeta) {
	var sel string
	if m.selected < len(m.rows) {
		sel = m.rows[m.selected].Name
	}
	rows := make([]*row, 0, len(rules))
	by := make(map[string]*row, len(rules))
	for _, r := range rules {
		rw := m.byName[r.Name]
		if rw == nil {
			rw = &row{state: StatePending}
		}
		rw.RuleMeta = r
		if rw.state == StatePending && r.Manual {
			rw.state = StateManual
		}
		if rw.state == StateManual && !r.Manual {
			rw.state = StatePending
		}
		rows = append(rows, rw)
		by[r.Name] = rw
	}
	m.rows, m.byName, m.selected = rows, by, 0
	for i, r := range rows {
		if r.Name == sel {
			m.selected = i
		}
	}
}

// Handle updates the model with one engine event.
func (m *Model) Handle(e engine.Event) {
	if st := e.Service; st != nil {
		if r := m.byName[st.Name]; r != nil {
			r.service(e)
		}
		return
	}
	r := m.byName[e.Rule]
	if r == nil {
		return
	}
	switch e.Kind {
	case engine.EventRuleStart:
		if e.Attempt > 1 {
			r.state = StateRetrying
		} else {
			r.state = StateRunning
		}
		r.started = e.Time
	case engine.EventRuleDone:
		r.state, r.last, r.err = StateOK, e.Duration, ""
	case engine.EventCached:
		r.state, r.err = StateCached, ""
	case engine.EventLiveUpdated:
		r.state, r.last, r.err = StateLive, e.Duration, ""
	case engine.EventRuleFail:
		r.state, r.last, r.err = StateFailed, e.Duration, firstLine(e.Err)
	case engine.EventRetry:
		r.err = firstLine(e.Err)
	case engine.EventSkipped:
		r.state = StateSkipped
	case engine.EventOutput:
	default:
		if k, ok := strings.CutPrefix(string(e.Kind), "rule."); ok {
			r.state = k
		}
	}
}

// service updates r with a service event about it.
func (r *row) service(e engine.Event) {
	st := e.Service
	switch e.Kind {
	case engine.EventServiceReplicas:
		if st.Replicas != nil {
			n := *st.Replicas
			r.replicas = &n
		}
	case engine.EventServiceHealth:
		if st.Replica != "" && st.Health != unhealthy {
			// One replica is healthy again: the service may not be.
			return
		}
		r.health = st.Health
		r.trouble = ""
		if st.Health == unhealthy {
			r.trouble = firstLine(e.Reason)
		}
	case engine.EventServiceCrashLoop:
		r.health, r.trouble = "", firstLine(e.Reason)
	case engine.EventServiceScale:
		r.scale = st.Scale
	}
}

// unhealthy is the health of a service whose check fails.
const unhealthy = "unhealthy"

// note is what the view says of r after its state: its last error, or
// what is known of a service, or how to run a manual rule.
func (r *row) note() string {
	if r.err != "" {
		return r.err
	}
	var parts []string
	if n := r.replicas; n != nil {
		parts = append(parts, fmt.Sprintf("%d/%d ready", n.Ready, n.Wanted))
	}
	if d := r.scale; d != nil && d.Value != nil {
		parts = append(parts, fmt.Sprintf("%s %.3g/%.3g", d.Metric, *d.Value, d.Target))
	}
	if r.health != "" {
		parts = append(parts, r.health)
	}
	if r.trouble != "" {
		parts = append(parts, r.trouble)
	}
	if len(parts) == 0 && r.state == StateManual {
		return "press t to run"
	}
	return strings.Join(parts, " · ")
}

// Write adds log text: complete lines go to the log, a trailing part waits
// for its end.
func (m *Model) Write(p []byte) (int, error) {
	s := m.partial + string(p)
	lines := strings.Split(s, "\n")
	m.partial = lines[len(lines)-1]
	for _, l := range lines[:len(lines)-1] {
		m.log = append(m.log, printable(l))
	}
	if over := len(m.log) - maxLog; over > 0 {
		m.log = append(m.log[:0], m.log[over:]...)
	}
	return len(p), nil
}

// Move moves the selection by delta rows, staying on the list.
func (m *Model) Move(delta int) {
	m.selected = min(max(m.selected+delta, 0), max(len(m.rows)-1, 0))
}

// Selected returns the name of the selected rule, or "".
func (m *Model) Selected() string {
	if m.selected < len(m.rows) {
		return m.rows[m.selected].Name
	}
	return ""
}

// Running reports whether a rule is running, so the elapsed times change.
func (m *Model) Running() bool {
	for _, r := range m.rows {
		if r.state == StateRunning || r.state == StateRetrying {
			return true
		}
	}
	return false
}

// Help is the line of keys at the bottom of the view.
const Help = "↑/↓ select · t or enter: run the selected rule · q quit"

// Render returns the screen for a terminal of width × height: the title,
// a line per rule, a rule, the last log lines that fit, and the keys. Each
// line fits the width; color paints the states.
func (m *Model) Render(width, height int, now time.Time, color bool) []string {
	width, height = max(width, 20), max(height, 4)
	nameW, kindW := 4, 4
	for _, r := range m.rows {
		nameW, kindW = max(nameW, len(r.Name)), max(kindW, len(r.Kind))
	}
	nameW = min(nameW, width/3)
	out := []string{fit(m.title, width)}
	// Leave at least a third of the screen to the log when rules are many.
	rowsMax := max(height-3-height/3, 1)
	first := 0
	if m.selected >= rowsMax {
		first = m.selected - rowsMax + 1
	}
	for i := first; i < len(m.rows) && i < first+rowsMax; i++ {
		r := m.rows[i]
		mark := "  "
		if i == m.selected {
			mark = "▸ "
		}
		dur := "-"
		switch {
		case r.state == StateRunning || r.state == StateRetrying:
			dur = human(now.Sub(r.started))
		case r.last > 0:
			dur = human(r.last)
		}
		note := r.note()
		left := fmt.Sprintf("%s%-*s  %-*s  ", mark, nameW, fit(r.Name, nameW), kindW, r.Kind)
		state := fmt.Sprintf("%-8s", r.state)
		rest := strings.TrimRight(fmt.Sprintf("  %7s  %s", dur, note), " ")
		line := left + state + rest
		if color {
			if lw := len([]rune(left)); lw+len(state) <= width {
				line = left + paint(stateColor(r.state), state) + fit(rest, width-lw-len(state))
				out = append(out, line)
				continue
			}
		}
		out = append(out, fit(line, width))
	}
	out = append(out, strings.Repeat("─", width))
	logH := height - len(out) - 1
	start := max(len(m.log)-logH, 0)
	for _, l := range m.log[start:] {
		out = append(out, fit(l, width))
	}
	for len(out) < height-1 {
		out = append(out, "")
	}
	return append(out, fit(Help, width))
}

// Summary returns the rule lines of the view, without the selection mark,
// for printing when the view closes.
func (m *Model) Summary() []string {
	var out []string
	for _, r := range m.rows {
		line := fmt.Sprintf("%-10s %-8s %s", r.Name, r.state, r.err)
		if r.last > 0 {
			line = fmt.Sprintf("%-10s %-8s %s %s", r.Name, r.state, human(r.last), r.err)
		}
		out = append(out, strings.TrimRight(line, " "))
	}
	return out
}

func stateColor(state string) string {
	switch state {
	case StateOK, StateLive:
		return "32"
	case StateCached:
		return "90"
	case StateFailed:
		return "31"
	case StateRunning, StateRetrying:
		return "33"
	case StateManual:
		return "36"
	case StatePending, StateSkipped:
		return "2"
	}
	return "35"
}

func paint(code, s string) string { return "\x1b[" + code + "m" + s + "\x1b[0m" }

// fit cuts s to at most w runes, marking a cut with an ellipsis.
func fit(s string, w int) string {
	rs := []rune(s)
	if len(rs) <= w {
		return s
	}
	if w <= 1 {
		return string(rs[:max(w, 0)])
	}
	return string(rs[:w-1]) + "…"
}

// escapes matches terminal escape sequences (colours, cursor moves) that
// commands write.
var escapes = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-_])`)

// printable returns a log line as the view can draw it: without escape
// sequences and control characters, tabs as spaces, and after the last
// carriage return (a progress bar's last state).
func printable(l string) string {
	l = strings.TrimRight(l, "\r")
	if i := strings.LastIndexByte(l, '\r'); i >= 0 {
		l = l[i+1:]
	}
	l = escapes.ReplaceAllString(l, "")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, l)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// human formats a duration briefly: 850ms, 4.6s, 2m05s.
func human(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
