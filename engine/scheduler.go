package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// An Engine decides what is out of date in one evaluated workspace and runs it.
type Engine struct {
	Workspace *Workspace
	Graph     *Graph
	State     *State
	Index     *FileIndex
	Events    *Bus
	// Servers, when set, runs the processes of serve rules (see RuleInfo.Serve).
	Servers *Supervisor
}

// NewEngine returns an Engine whose file index starts from the state's stat cache.
func NewEngine(ws *Workspace, g *Graph, st *State, events *Bus) *Engine {
	return &Engine{Workspace: ws, Graph: g, State: st, Index: NewFileIndex(ws.Root, st.Files()), Events: events}
}

// Reopen gives the engine a new file index, for a workspace folder that was
// deleted and made anew: the old index and the workspace's Tree hold the
// deleted folder open. No run
// may be in progress.
func (e *Engine) Reopen() {
	e.Index.closeRoot()
	e.Workspace.reopen()
	e.Index = NewFileIndex(e.Workspace.Root, e.State.Files())
}

// Save writes the state and stat cache.
func (e *Engine) Save() error { return e.State.Save(e.Workspace, e.Index) }

// RunOptions control a run.
type RunOptions struct {
	Jobs      int  // parallel rules; 0 means the CPU count
	KeepGoing bool // run everything not blocked by a failure
	Force     bool // rerun the selected rules even when up to date
	// LiveUpdate lets rules update what runs in place instead of
	// rebuilding it, when only their inputs changed (see ErrLiveUpdated).
	LiveUpdate bool
	// ForceRules reruns these rules even when up to date (their deps only
	// when out of date): what a manual trigger asks for.
	ForceRules []string
}

// saveEvery is how often a long run writes its progress to the state file.
const saveEvery = 5 * time.Second

// ErrFailed is returned by Run when a rule failed.
var ErrFailed = errors.New("run failed")

// PlanItem says whether a rule would run, and why.
type PlanItem struct {
	Rule    string   `json:"rule"`
	Kind    string   `json:"kind"`
	Run     bool     `json:"run"`
	Reasons []string `json:"reasons,omitempty"`
	Err     string   `json:"error,omitempty"`
	Key     Digest   `json:"-"` // the rule's key, zero when Err is set
}

// Plan reports, for the selected rules and their deps in run order, which
// would run and why. It runs nothing and writes nothing.
func (e *Engine) Plan(ctx context.Context, names []string, force bool) ([]PlanItem, error) {
	sel, err := e.Graph.Select(names)
	if err != nil {
		return nil, err
	}
	keys := map[string]Digest{}
	willRun := map[string]bool{}
	var out []PlanItem
	for _, n := range sel {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := e.Graph.Rule(n)
		item := PlanItem{Rule: n, Kind: r.Info().Kind}
		k, err := e.key(ctx, r, keys, assumeSecrets)
		if err == nil {
			keys[n], item.Key = k.key, k.key
			item.Reasons, err = e.reasons(ctx, r, k, force)
			item.Run = len(item.Reasons) > 0
		}
		if err != nil {
			// An input may be missing only because a dep that makes it has
			// not run yet: then the rule runs after it, not fails.
			var first string
			for _, d := range r.Info().Deps {
				if willRun[d] {
					first = d
					break
				}
			}
			if first != "" {
				reason := fmt.Sprintf("dep %s runs first", first)
				if e.State.Rule(n) == nil {
					reason = "never ran"
				}
				item.Run, item.Reasons = true, []string{reason}
			} else {
				item.Run, item.Err = true, err.Error()
			}
		}
		willRun[n] = item.Run
		out = append(out, item)
	}
	return out, nil
}

type outcome int

const (
	outcomeRan outcome = iota
	outcomeCached
	outcomeFailed
	outcomeSkipped
	outcomeLiveUpdated
)

type result struct {
	name    string
	outcome outcome
	key     Digest
}

// Run brings the selected rules and their deps up to date, in parallel
// where the graph allows. It returns the summary, and ErrFailed when a rule
// failed or ctx's error when interrupted.
func (e *Engine) Run(ctx context.Context, names []string, o RunOptions) (*Summary, error) {
	start := time.Now()
	sel, err := e.Graph.Select(names)
	if err != nil {
		return nil, err
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	e.Events.Emit(Event{Kind: EventRunStart, Text: fmt.Sprintf("%d rules selected, %d at a time", len(sel), jobs)})

	inSel := map[string]bool{}
	for _, n := range sel {
		inSel[n] = true
	}
	waiting := map[string]int{}
	dependents := map[string][]string{}
	for _, n := range sel {
		for _, d := range e.Graph.Rule(n).Info().Deps {
			waiting[n]++
			dependents[d] = append(dependents[d], n)
		}
	}
	sum := &Summary{}
	keys := map[string]Digest{}
	blocked := map[string]string{} // rule → failed dep that blocks it
	finished := map[string]bool{}
	var ready []string
	for _, n := range sel {
		if waiting[n] == 0 {
			ready = append(ready, n)
		}
	}

	var finish func(res result)
	finish = func(res result) {
		finished[res.name] = true
		switch res.outcome {
		case outcomeRan:
			sum.Ran = append(sum.Ran, res.name)
		case outcomeCached:
			sum.Cached = append(sum.Cached, res.name)
		case outcomeFailed:
			sum.Failed = append(sum.Failed, res.name)
		case outcomeSkipped:
			sum.Skipped = append(sum.Skipped, res.name)
		case outcomeLiveUpdated:
			sum.LiveUpdated = append(sum.LiveUpdated, res.name)
		}
		keys[res.name] = res.key
		for _, d := range dependents[res.name] {
			if res.outcome == outcomeFailed || res.outcome == outcomeSkipped {
				if _, ok := blocked[d]; !ok {
					blocked[d] = res.name
				}
			}
			waiting[d]--
			if waiting[d] > 0 {
				continue
			}
			if by, ok := blocked[d]; ok {
				e.Events.Emit(Event{Kind: EventSkipped, Rule: d, Reason: fmt.Sprintf("dep %s did not succeed", by)})
				finish(result{name: d, outcome: outcomeSkipped})
				continue
			}
			// Depth first: a chain that is moving keeps moving, so the
			// commands of rules that must run overlap the checks of the rest.
			ready = append([]string{d}, ready...)
		}
	}

	results := make(chan result)
	lastSave := time.Now()
	running := 0
	stopping := false
	var failedFirst string
	for {
		for !stopping && running < jobs && len(ready) > 0 && ctx.Err() == nil {
			n := ready[0]
			ready = ready[1:]
			depKeys := map[string]Digest{}
			for _, d := range e.Graph.Rule(n).Info().Deps {
				depKeys[d] = keys[d]
			}
			running++
			go func() { results <- e.runOne(ctx, n, depKeys, o) }()
		}
		if running == 0 {
			break
		}
		res := <-results
		running--
		if res.outcome == outcomeFailed && !o.KeepGoing && !stopping {
			stopping, failedFirst = true, res.name
		}
		if ctx.Err() != nil {
			stopping = true
		}
		finish(res)
		// A long run keeps its progress on disk as it goes, so even a crash
		// loses little; the caller saves at the end.
		if res.outcome == outcomeRan && time.Since(lastSave) > saveEvery {
			if err := e.Save(); err != nil {
				e.Events.Logf(LevelWarn, "could not save state: %v", err)
			}
			lastSave = time.Now()
		}
	}
	for _, n := range sel {
		if !finished[n] {
			reason := "not started: the run was interrupted"
			if ctx.Err() == nil {
				reason = fmt.Sprintf("not started: stopped after %s failed (--keep-going runs what does not depend on it)", failedFirst)
			}
			e.Events.Emit(Event{Kind: EventSkipped, Rule: n, Reason: reason})
			sum.Skipped = append(sum.Skipped, n)
		}
	}
	sum.Interrupted = ctx.Err() != nil
	sum.Duration = time.Since(start)
	e.Events.Emit(Event{Kind: EventRunDone, Summary: sum, Duration: sum.Duration})
	switch {
	case sum.Interrupted:
		return sum, ctx.Err()
	case len(sum.Failed) > 0:
		return sum, ErrFailed
	}
	return sum, nil
}

// runOne brings one rule up to date; its deps are done and their keys known.
func (e *Engine) runOne(ctx context.Context, name string, depKeys map[string]Digest, o RunOptions) result {
	r := e.Graph.Rule(name)
	info := r.Info()
	fail := func(err error, d time.Duration) result {
		e.Events.Emit(Event{Kind: EventRuleFail, Rule: name, Err: err.Error(), Duration: d})
		return result{name: name, outcome: outcomeFailed}
	}
	if p, ok := r.(Preparer); ok {
		if err := p.Prepare(ctx, e.Events); err != nil {
			return fail(fmt.Errorf("%s %q: %w", info.Kind, info.Name, err), 0)
		}
	}
	k, err := e.key(ctx, r, depKeys, readSecrets)
	if err != nil {
		return fail(err, 0)
	}
	triggered := !o.Force && slices.Contains(o.ForceRules, name)
	why, err := e.reasons(ctx, r, k, o.Force || triggered)
	if err != nil {
		return fail(err, 0)
	}
	if triggered {
		why[0] = "triggered" // not "forced (--force)"
	}
	if len(why) == 0 {
		e.Events.Emit(Event{Kind: EventCached, Rule: name})
		return result{name: name, outcome: outcomeCached, key: k.key}
	}
	prev := e.State.Rule(name)
	rc := &RunContext{Workspace: e.Workspace, Rule: name, Key: k.key, DepKeys: k.deps, Changed: changedPaths(prev, k), Events: e.Events, Servers: e.Servers}
	if prev != nil {
		rc.PrevKey = prev.Key
		rc.LiveUpdate = o.LiveUpdate && prev.Def == k.def
		rc.DepsChanged = changedDeps(prev.Deps, k.deps)
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		e.Events.Emit(Event{Kind: EventRuleStart, Rule: name, Reason: ReasonText(why), Attempt: attempt})
		err = e.attempt(ctx, r, rc)
		if err == nil {
			break
		}
		if rc.LiveUpdate && errors.Is(err, ErrLiveUpdated) {
			// The state keeps the last full success, and dependents see
			// its key: nothing downstream changed.
			e.Events.Emit(Event{Kind: EventLiveUpdated, Rule: name, Duration: time.Since(start)})
			return result{name: name, outcome: outcomeLiveUpdated, key: rc.PrevKey}
		}
		if ctx.Err() != nil {
			e.Events.Emit(Event{Kind: EventSkipped, Rule: name, Reason: fmt.Sprintf("interrupted after %s; it runs again next time", time.Since(start).Round(time.Millisecond))})
			return result{name: name, outcome: outcomeSkipped}
		}
		if attempt > info.Retries {
			return fail(err, time.Since(start))
		}
		e.Events.Emit(Event{Kind: EventRetry, Rule: name, Err: err.Error(), Attempt: attempt})
	}
	rs := &RuleState{Key: k.key, Def: k.def, Inputs: k.inputs, Deps: k.deps, Secrets: k.secrets, Modules: k.modules, OwnDef: k.own, Finished: time.Now(), Duration: time.Since(start)}
	for _, out := range r.Outputs() {
		sum, err := e.Index.Hash(out)
		if err != nil {
			return fail(fmt.Errorf("%s %q (declared at %s) succeeded but did not write its declared output %s; fix the command or outs", info.Kind, name, info.Pos, out), time.Since(start))
		}
		rs.Outputs = append(rs.Outputs, FileSum{Path: out, Sum: sum})
	}
	if err := e.State.SetRule(name, rs); err != nil {
		e.Events.Logf(LevelWarn, "%s: could not record its success at once (%v); the state saved at the end of the run keeps it", name, err)
	}
	e.Events.Emit(Event{Kind: EventRuleDone, Rule: name, Duration: rs.Duration})
	return result{name: name, outcome: outcomeRan, key: k.key}
}

// attempt runs r once, under its timeout, with output streamed as events.
func (e *Engine) attempt(ctx context.Context, r Rule, rc *RunContext) error {
	info := r.Info()
	actx := ctx
	if info.Timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, info.Timeout)
		defer cancel()
	}
	stdout, stderr := e.Events.RuleOutput(info.Name, "stdout"), e.Events.RuleOutput(info.Name, "stderr")
	run := *rc
	run.Context, run.Stdout, run.Stderr = actx, stdout, stderr
	err := r.Run(&run)
	stdout.Flush()
	stderr.Flush()
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s and its whole process group was killed; raise timeout (%s %q, declared at %s) if it needs longer", info.Timeout, info.Kind, info.Name, info.Pos)
	}
	return err
}

// lineWriter turns a byte stream into whole lines.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	emit func(string)
}

// maxLine bounds a line kept in memory; longer ones are split.
const maxLine = 64 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		b := w.buf.Bytes()
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(b) >= maxLine {
				w.emit(string(b))
				w.buf.Reset()
			}
			return len(p), nil
		}
		w.emit(string(bytes.TrimSuffix(b[:i], []byte("\r"))))
		w.buf.Next(i + 1)
	}
}

// Flush emits a final unterminated line.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.emit(w.buf.String())
		w.buf.Reset()
	}
}
