package cireport

import (
	"sync"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// An Outcome is how a rule ended; "" while it runs.
type Outcome string

// The outcomes of a rule.
const (
	OutcomeRan         Outcome = "ran"
	OutcomeCached      Outcome = "cached"
	OutcomeLiveUpdated Outcome = "live-updated"
	OutcomeFailed      Outcome = "failed"
	OutcomeSkipped     Outcome = "skipped"
)

// TailLines is how many of a rule's last output lines a Recorder keeps.
const TailLines = 20

// unhealthy is the health (service.health) that fails a service.
const unhealthy = "unhealthy"

// A RuleResult is what a Recorder learnt of one rule.
type RuleResult struct {
	Name     string
	Outcome  Outcome
	Duration time.Duration
	Err      string // why it failed
	// Failure is the kind of the service event that failed it
	// (service.crashloop, service.health); "" for a rule that failed.
	Failure engine.EventKind
	Reason  string // why it was skipped
	Output  []string
}

// A Recorder is an engine.Sink that keeps, for each rule since the last
// Reset, its outcome, time, error and last TailLines output lines. A
// service fails on a crash loop (service.crashloop) or an unhealthy
// health (service.health), with the event's reason, even when its rule
// succeeded. The bus has already redacted the events' text.
type Recorder struct {
	mu    sync.Mutex
	order []string
	rules map[string]*RuleResult
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{rules: map[string]*RuleResult{}} }

// Reset forgets every rule.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.order, r.rules = nil, map[string]*RuleResult{}
}

// Handle records e.
func (r *Recorder) Handle(e engine.Event) {
	if st := e.Service; st != nil && (e.Kind == engine.EventServiceCrashLoop || e.Kind == engine.EventServiceHealth && st.Health == unhealthy) {
		msg := e.Reason
		if msg == "" {
			msg = e.Text
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		res := r.rule(st.Name)
		res.Outcome, res.Err, res.Failure = OutcomeFailed, msg, e.Kind
		return
	}
	if e.Rule == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.rule(e.Rule)
	switch e.Kind {
	case engine.EventOutput, engine.EventPrint: // print() in a run-time action
		res.Output = append(res.Output, e.Text)
		if len(res.Output) > TailLines {
			res.Output = append(res.Output[:0], res.Output[len(res.Output)-TailLines:]...)
		}
	case engine.EventRuleDone:
		res.Outcome, res.Duration = OutcomeRan, e.Duration
	case engine.EventCached:
		res.Outcome = OutcomeCached
	case engine.EventLiveUpdated:
		res.Outcome, res.Duration = OutcomeLiveUpdated, e.Duration
	case engine.EventRuleFail:
		res.Outcome, res.Duration, res.Err = OutcomeFailed, e.Duration, e.Err
	case engine.EventSkipped:
		res.Outcome, res.Reason = OutcomeSkipped, e.Reason
	}
}

// rule returns the result of the named rule, adding it when new; r.mu
// is held.
func (r *Recorder) rule(name string) *RuleResult {
	res := r.rules[name]
	if res == nil {
		res = &RuleResult{Name: name}
		r.rules[name] = res
		r.order = append(r.order, name)
	}
	return res
}

// Result returns what is known of the rule.
func (r *Recorder) Result(rule string) RuleResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	if res := r.rules[rule]; res != nil {
		out := *res
		out.Output = append([]string{}, res.Output...)
		return out
	}
	return RuleResult{Name: rule}
}

// Results returns every rule's result, in the order each was first seen.
func (r *Recorder) Results() []RuleResult {
	r.mu.Lock()
	order := append([]string{}, r.order...)
	r.mu.Unlock()
	out := make([]RuleResult, len(order))
	for i, n := range order {
		out[i] = r.Result(n)
	}
	return out
}
