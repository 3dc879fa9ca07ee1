package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"time"
)

// SessionOptions configure a Session.
type SessionOptions struct {
	// Dir is where the search for the workspace starts: the folder, or
	// the nearest one above it, that holds ferry.star ("" is ".").
	Dir string
	// File is the main file, when given: its folder is the workspace root.
	File string
	// Project is the project the user named (--project); "" means
	// ProjectName of the workspace root. See ResolveProject.
	Project string
	// Plugins returns the plugins of one evaluation. Load calls it each
	// time, so plugins that depend on the session (its project) can be
	// made for it; nil means none.
	Plugins func(s *Session) []Plugin
	// Sources are the module repositories beside the workspace, as
	// Options.Sources.
	Sources map[string]ModuleSource
	// Modules resolves the shared modules of the workspace's ferry.mod
	// before each evaluation (see package engine/mod); nil means none.
	Modules func(ctx context.Context, ws *Workspace) (*Modules, error)
	// Events receives what evaluation prints and what runs report. It is
	// required: every event passes through its redactor (see NewBus).
	Events *Bus
	// Jobs bounds the rules run at once; 0 means the CPU count.
	Jobs int
	// Profiles are the profiles whose rules run when no rule is named
	// (see Graph.EnableProfiles).
	Profiles []string
	// MaxEvalMemory caps the memory of evaluation, as Options.MaxMemory.
	MaxEvalMemory uint64
	// Config names what else evaluation depends on that the session cannot
	// see, such as the version of ferry and its plugins' settings: a no-op
	// record (see UpToDate) is trusted only by a session with the same.
	// "" writes no record.
	Config string
}

// A Session is a workspace opened for one command: every command finds
// the workspace, evaluates it, builds and checks the graph (Load), and
// then plans or runs rules under the workspace lock (Loaded.Plan,
// Loaded.Run), through a Session. Opening one evaluates nothing, so a
// command that needs no rules (down, status) works on a broken ferry.star.
type Session struct {
	Workspace *Workspace
	Project   string // names and labels what deploy targets create
	Events    *Bus
	opts      SessionOptions
}

// Open finds the workspace that o names and its project.
func Open(o SessionOptions) (*Session, error) {
	if o.Events == nil {
		return nil, errors.New("engine.Open: SessionOptions.Events is nil; every session reports to a bus")
	}
	dir := o.Dir
	if dir == "" {
		dir = "."
	}
	ws, project, err := FindProject(dir, o.File, o.Project)
	if err != nil {
		return nil, err
	}
	return &Session{Workspace: ws, Project: project, Events: o.Events, opts: o}, nil
}

// Loaded is an evaluated workspace whose rules form a checked graph.
type Loaded struct {
	Session *Session
	Result  *Result // what evaluation declared and read
	Graph   *Graph  // the rules, with the session's profiles enabled

	flags     map[string]string // the config flags evaluated with
	evalStart time.Time         // when evaluation began
}

// Load evaluates the workspace with the config flags given (as from
// `ferry run -- --name=value`), refuses a flag that no config.flag
// declares, builds the graph, enables the session's profiles, and runs
// the plugins' graph checks (see GraphChecker). While it evaluates, the
// process's soft memory limit (debug.SetMemoryLimit) is lifted, so that
// the evaluation's own cap stops a runaway. An evaluation abandoned
// in a builtin call returns an error wrapping ErrAbandoned: the process
// should end soon, since that call goes on in the background.
func (s *Session) Load(ctx context.Context, flags map[string]string) (*Loaded, error) {
	var plugins []Plugin
	if s.opts.Plugins != nil {
		plugins = s.opts.Plugins(s)
	}
	// A soft memory limit under the cap (a watch sets one) would have the
	// runtime collect back to back while a runaway evaluation grows, each
	// collection waiting for the evaluation to finish copying a huge
	// buffer: ferry would stall for seconds before the cap stopped it.
	// Evaluation runs without it.
	var mods *Modules
	if s.opts.Modules != nil {
		var err error
		if mods, err = s.opts.Modules(ctx, s.Workspace); err != nil {
			return nil, err
		}
	}
	softLimit := debug.SetMemoryLimit(math.MaxInt64)
	start := time.Now()
	res, err := Evaluate(ctx, Options{
		Workspace: s.Workspace,
		Plugins:   plugins,
		Sources:   s.opts.Sources,
		Modules:   mods,
		Flags:     flags,
		Events:    s.Events,
		MaxMemory: s.opts.MaxEvalMemory,
	})
	if !errors.Is(err, ErrAbandoned) {
		// An abandoned call goes on allocating: the limit stays off.
		debug.SetMemoryLimit(softLimit)
	}
	if err != nil {
		return nil, err
	}
	if extra := res.Eval.UndeclaredFlags(); len(extra) > 0 {
		return nil, fmt.Errorf("unknown flag --%s: no config.flag(%q) in %s", extra[0], extra[0], s.Workspace.File)
	}
	g, err := NewGraph(res.Rules)
	if err != nil {
		return nil, err
	}
	if err := g.EnableProfiles(s.opts.Profiles); err != nil {
		return nil, err
	}
	if err := res.Eval.CheckGraph(g); err != nil {
		return nil, err
	}
	return &Loaded{Session: s, Result: res, Graph: g, flags: flags, evalStart: start}, nil
}

// OpenState loads the state of the session's workspace (see OpenState).
func (s *Session) OpenState(ctx context.Context, lock bool) (*State, func(), error) {
	return OpenState(ctx, s.Workspace, lock, s.Events)
}

// OpenState loads the state of ws, first taking the workspace lock when
// lock is set (for what changes state): the returned function releases
// it. While another process holds the lock, a warning on events says
// which. A corrupt state file is reported on events, not returned: the
// state then starts empty, and every rule runs.
func OpenState(ctx context.Context, ws *Workspace, lock bool, events *Bus) (*State, func(), error) {
	release := func() {}
	if lock {
		l, err := AcquireLock(ctx, ws, func(pid int) {
			events.Logf(LevelWarn, "waiting for another ferry (pid %d) that holds the workspace lock in %s/.ferry", pid, ws.Root)
		})
		if err != nil {
			return nil, nil, fmt.Errorf("workspace lock: %w", err)
		}
		release = l.Release
	}
	st, err := LoadState(ws, lock)
	if err != nil {
		events.Logf(LevelWarn, "%v", err)
	}
	return st, release, nil
}

// WithState runs f with the state of ws, holding the workspace lock (see
// OpenState) until f returns: for a command that changes what the state
// records, such as what runs in Docker, without running rules.
func WithState(ctx context.Context, ws *Workspace, events *Bus, f func(*State) error) error {
	st, release, err := OpenState(ctx, ws, true, events)
	if err != nil {
		return err
	}
	defer release()
	return f(st)
}

// Plan says which of the named rules (none: the default ones, see
// Graph.Select), and of their deps, a run would run, and why, from the
// saved state; force plans as RunOptions.Force runs. It takes no lock and
// changes nothing.
func (l *Loaded) Plan(ctx context.Context, names []string, force bool) ([]PlanItem, error) {
	s := l.Session
	st, _, err := s.OpenState(ctx, false)
	if err != nil {
		return nil, err
	}
	return NewEngine(s.Workspace, l.Graph, st, s.Events).Plan(ctx, names, force)
}

// Keys computes the keys of the named rules and their deps (see
// Engine.Keys), without the workspace lock: it writes nothing.
func (l *Loaded) Keys(ctx context.Context, names []string) (map[string]Digest, error) {
	s := l.Session
	st, _, err := s.OpenState(ctx, false)
	if err != nil {
		return nil, err
	}
	return NewEngine(s.Workspace, l.Graph, st, s.Events).Keys(ctx, names)
}

// Run brings the named rules (none: the default ones, see Graph.Select)
// and their deps up to date, as RunThen does with no after. After a
// success it writes the no-op record that lets the next run of the same
// names skip evaluation when nothing changed (see Session.UpToDate).
func (l *Loaded) Run(ctx context.Context, names []string, o RunOptions) (*Summary, error) {
	return l.runThen(ctx, names, o, nil, true)
}

// RunThen brings the named rules and their deps up to date under the
// workspace lock, with the session's Jobs unless o sets them, and saves the
// state, whatever the outcome (a failure to save is reported on the bus).
// Then, still under the lock and only if the run succeeded, it calls after
// (when not nil) with the state: for work that must see the same state as
// the run, such as removing what ferry.star no longer declares. The error
// of a failed rule wraps ErrFailed.
func (l *Loaded) RunThen(ctx context.Context, names []string, o RunOptions, after func(*State) error) (*Summary, error) {
	return l.runThen(ctx, names, o, after, false)
}

func (l *Loaded) runThen(ctx context.Context, names []string, o RunOptions, after func(*State) error, record bool) (*Summary, error) {
	s := l.Session
	st, release, err := s.OpenState(ctx, true)
	if err != nil {
		return nil, err
	}
	defer release()
	if o.Jobs == 0 {
		o.Jobs = s.opts.Jobs
	}
	e := NewEngine(s.Workspace, l.Graph, st, s.Events)
	sum, runErr := e.Run(ctx, names, o)
	saveErr := e.Save()
	if saveErr != nil {
		s.Events.Logf(LevelError, "could not save state: %v", saveErr)
	}
	if record {
		if runErr == nil && saveErr == nil {
			l.writeNoop(ctx, e, names)
		} else {
			l.writeNoop(ctx, nil, nil)
		}
	}
	if runErr != nil || after == nil {
		return sum, runErr
	}
	return sum, after(st)
}
