package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"go.starlark.net/lib/json"
	"go.starlark.net/lib/math"
	"go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// FileOptions is the Starlark dialect of ferry files: standard Starlark with
// set, while, recursion and top-level control (and the reassignment of
// top-level names that top-level loops need).
var FileOptions = &syntax.FileOptions{
	Set:             true,
	While:           true,
	TopLevelControl: true,
	GlobalReassign:  true,
	Recursion:       true,
}

// DefaultMaxSteps bounds the work of one evaluation, so a runaway loop ends
// with an error instead of hanging.
const DefaultMaxSteps = 200_000_000

// Options configure an evaluation.
type Options struct {
	Workspace *Workspace
	Plugins   []Plugin
	// Sources maps repository names (as in @std//) to their modules. The
	// workspace itself is always the repository "".
	Sources map[string]ModuleSource
	// Modules are the shared modules of the workspace's ferry.mod, nil
	// when it has none.
	Modules  *Modules
	Flags    map[string]string // values for config.flag, from `ferry run -- --name=value`
	MaxSteps uint64            // 0 means DefaultMaxSteps
	Events   *Bus              // receives print() output
	// MaxMemory caps the heap, in bytes, while evaluation runs; 0 means
	// DefaultMaxMemory(). An evaluation that exceeds it stops with an
	// error that wraps ErrMaxMemory.
	MaxMemory uint64
	// Predeclared adds names to those every file sees, such as the assert
	// module of test files.
	Predeclared starlark.StringDict
	// MainSrc, when set, is the source of the main file instead of what
	// Workspace.File holds: a snippet evaluated as if it were that file.
	MainSrc []byte
	// RecordAttrs keeps the arguments of each call that declared a rule,
	// for Evaluation.Attrs (what `ferry test` inspects).
	RecordAttrs bool
}

// An Evaluation is the state of one evaluation of a workspace: the rules it
// declared and every input it read. Builtins reach it with EvaluationOf.
type Evaluation struct {
	opts        Options
	predeclared starlark.StringDict

	mu     sync.Mutex
	rules  []Rule
	byName map[string]Rule
	files  map[string]bool // absolute paths of files read
	lists  []Listing       // questions asked of the file tree, such as globs
	looked map[string]bool // absolute paths whose kind or listing evaluation used
	// notReusable says why no no-op record may stand for this evaluation
	// (see NotReusable), "" when one may.
	notReusable string
	sources     map[string]Digest // module display name → digest of its source
	flags       map[string]bool   // config flags declared
	env         map[string]string // environment variables read
	threads     map[*starlark.Thread]bool
	stopped     string         // cancellation reason, once cancelled
	watch       *WatchSettings // watch_settings(), once called
	secrets     []SecretFile   // files that hold secret values in clear

	envSecrets envSecrets // guarded by mu; see environ.go

	// The states of the StatePlugins (see plugin.go), by type and by
	// plugin (nil for a plugin without one), made before evaluation starts.
	states  map[reflect.Type]any
	stateOf []any

	// held is what evaluation printed after os.env first gave a set
	// variable's value, emitted when evaluation ends: the redactor then
	// knows the value of every secret read from the environment, even one
	// declared after the print. holding is false once it has ended.
	held    []Event
	holding bool

	loadMu sync.Mutex // guards cache and the waits-for graph
	cache  map[Label]*loadEntry

	main  Label                          // the main file
	attrs map[string]starlark.StringDict // rule name → the arguments that declared it, with RecordAttrs
}

// Result is what an evaluation declared and read.
type Result struct {
	Rules []Rule   // in declaration order
	Files []string // absolute paths of every file read, sorted
	// Listings are the questions evaluation asked of the file tree (each
	// glob call), so a watch knows when a file that appears or vanishes
	// changes what ferry.star declares.
	Listings []Listing
	Env      map[string]string // environment variables read, with their values
	Eval     *Evaluation
	Globals  starlark.StringDict // the main file's global names, frozen
}

// Evaluate executes the workspace's main file and everything it loads, and
// returns the declared rules. It has no effects beyond reading files.
func Evaluate(ctx context.Context, opts Options) (*Result, error) {
	if opts.MaxSteps == 0 {
		opts.MaxSteps = DefaultMaxSteps
	}
	if opts.MaxMemory == 0 {
		opts.MaxMemory = DefaultMaxMemory()
	}
	ev := &Evaluation{
		opts:    opts,
		byName:  map[string]Rule{},
		files:   map[string]bool{},
		sources: map[string]Digest{},
		flags:   map[string]bool{},
		env:     map[string]string{},
		threads: map[*starlark.Thread]bool{},
		cache:   map[Label]*loadEntry{},
		attrs:   map[string]starlark.StringDict{},
	}
	if err := ev.newStates(); err != nil {
		return nil, err
	}
	ev.predeclared = starlark.StringDict{"json": json.Module, "math": math.Module, "time": ev.timeModule(), formatGuard: noSecret}
	for _, p := range opts.Plugins {
		for k, v := range Predeclare(p.Builtins()) {
			ev.predeclared[k] = v
		}
	}
	for k, v := range opts.Predeclared {
		ev.predeclared[k] = v
	}
	if opts.Modules != nil {
		for _, f := range opts.Modules.Files {
			ev.files[f] = true
		}
	}
	stop := context.AfterFunc(ctx, func() { ev.cancel("interrupted") })
	defer stop()
	ev.holding = true
	defer ev.emitHeld()

	rel, err := opts.Workspace.Rel(opts.Workspace.File)
	if err != nil {
		return nil, err
	}
	ev.main = Label{Path: rel}
	done := make(chan error, 1)
	var globals starlark.StringDict
	go func() {
		var err error
		globals, err = ev.load(&loadChain{}, ev.main)
		done <- err
	}()
	if err := ev.wait(ctx, done); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res := &Result{Rules: ev.rules, Env: ev.env, Listings: ev.lists, Eval: ev, Globals: globals}
	for f := range ev.files {
		res.Files = append(res.Files, f)
	}
	sort.Strings(res.Files)
	return res, nil
}

// timeModule is Starlark's time module, whose now() makes the evaluation
// depend on the clock (see NotReusable).
func (ev *Evaluation) timeModule() *starlarkstruct.Module {
	members := maps.Clone(time.Module.Members)
	now := members["now"].(*starlark.Builtin)
	members["now"] = starlark.NewBuiltin("now", func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if !IsRunTime(t) {
			ev.NotReusable("time.now")
		}
		return starlark.Call(t, now, args, kwargs)
	})
	return &starlarkstruct.Module{Name: time.Module.Name, Members: members}
}

// emitHeld emits what evaluation printed, and what run-time actions print
// from then on goes out at once.
func (ev *Evaluation) emitHeld() {
	ev.mu.Lock()
	held := ev.held
	ev.held, ev.holding = nil, false
	ev.mu.Unlock()
	for _, e := range held {
		ev.opts.Events.Emit(e)
	}
}

func (ev *Evaluation) cancel(reason string) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.stopped = reason
	for t := range ev.threads {
		t.Cancel(reason)
	}
}

// Builtins returns the builtins of the evaluation's plugins, which every
// file it evaluates sees.
func (ev *Evaluation) Builtins() []*Builtin {
	var out []*Builtin
	for _, p := range ev.opts.Plugins {
		out = append(out, p.Builtins()...)
	}
	return out
}

// Workspace returns the workspace being evaluated.
func (ev *Evaluation) Workspace() *Workspace { return ev.opts.Workspace }

// Flag declares config flag name and returns the value given for it on the
// command line.
func (ev *Evaluation) Flag(name string) (string, bool) {
	ev.mu.Lock()
	ev.flags[name] = true
	ev.mu.Unlock()
	v, ok := ev.opts.Flags[name]
	return v, ok
}

// ParseFlags reads the config flags given on the command line after "--",
// as --name=value or --name (the empty value), into Options.Flags.
func ParseFlags(args []string) (map[string]string, error) {
	flags := map[string]string{}
	for _, f := range args {
		if !strings.HasPrefix(f, "--") || len(f) < 3 {
			return nil, fmt.Errorf("after --, want config flags as --name=value or --name, got %q", f)
		}
		k, v, _ := strings.Cut(f[2:], "=")
		flags[k] = v
	}
	return flags, nil
}

// UndeclaredFlags returns the flags given on the command line that no
// config.flag call declared, sorted.
func (ev *Evaluation) UndeclaredFlags() []string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var out []string
	for name := range ev.opts.Flags {
		if !ev.flags[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// SourceDigest returns the digest of the source of the module shown as
// display in positions, so a rule can key on the code of a function.
func (ev *Evaluation) SourceDigest(display string) Digest {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.sources[display]
}

// Events returns the bus that receives the evaluation's messages.
func (ev *Evaluation) Events() *Bus { return ev.opts.Events }

// RecordLookup notes that evaluation depended on what the path abs is
// (whether it exists, what kind of file, which entries a folder lists), as
// a glob does of the folders it looks into: a run that finds it unchanged
// may trust a no-op record (see Session.UpToDate).
func (ev *Evaluation) RecordLookup(abs string) {
	ev.mu.Lock()
	if ev.looked == nil {
		ev.looked = map[string]bool{}
	}
	ev.looked[abs] = true
	ev.mu.Unlock()
}

// lookedUp returns the paths RecordLookup noted.
func (ev *Evaluation) lookedUp() []string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	out := make([]string, 0, len(ev.looked))
	for p := range ev.looked {
		out = append(out, p)
	}
	return out
}

// NotReusable notes that evaluation depended on something that no record
// can check (the time, a program's answer, the Docker Engine), or did
// something a run must repeat (print): a run must evaluate again, never
// trust a no-op record. why names it.
func (ev *Evaluation) NotReusable(why string) {
	ev.mu.Lock()
	if ev.notReusable == "" {
		ev.notReusable = why
	}
	ev.mu.Unlock()
}

// unreusable returns why a no-op record cannot stand for this evaluation,
// or "".
func (ev *Evaluation) unreusable() string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.notReusable
}

// RecordFile notes that evaluation read the file at abs.
func (ev *Evaluation) RecordFile(abs string) {
	ev.mu.Lock()
	ev.files[abs] = true
	ev.mu.Unlock()
}

// A Listing is a question evaluation asked of the file tree, such as a
// glob: which files match.
type Listing interface {
	// Changes reports whether the answer would differ now that the
	// workspace-relative slash path rel exists (exists) or is gone (a file,
	// or a folder with everything below it).
	Changes(rel string, exists bool) bool
}

// RecordListing notes that evaluation asked the file tree a question.
func (ev *Evaluation) RecordListing(l Listing) {
	ev.mu.Lock()
	ev.lists = append(ev.lists, l)
	ev.mu.Unlock()
}

// RecordSecretFile notes that a secret declared in this evaluation is read
// from a file that holds its value in clear.
func (ev *Evaluation) RecordSecretFile(f SecretFile) {
	ev.mu.Lock()
	ev.secrets = append(ev.secrets, f)
	ev.mu.Unlock()
}

// SecretFiles returns the files that hold the value of a secret declared
// so far in clear, in declaration order.
func (ev *Evaluation) SecretFiles() []SecretFile {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return slices.Clone(ev.secrets)
}

// AddRule registers a rule declared by thread at the caller's position.
// Names are unique. The shared modules whose code is on the thread's call
// stack are stamped on the rule (RuleInfo.Modules): their hashes enter its
// key.
func (ev *Evaluation) AddRule(thread *starlark.Thread, r Rule) error {
	info := r.Info()
	info.Modules = ev.moduleStamps(thread)
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if prev, ok := ev.byName[info.Name]; ok {
		return fmt.Errorf("duplicate rule name %q: it is already declared at %s; rule names must be unique in a workspace", info.Name, prev.Info().Pos)
	}
	ev.byName[info.Name] = r
	ev.rules = append(ev.rules, r)
	return nil
}

// recordAttrs keeps the arguments of c, a call that declared rule name,
// when the evaluation records them (Options.RecordAttrs).
func (ev *Evaluation) recordAttrs(c *Call) {
	if !ev.opts.RecordAttrs {
		return
	}
	name, ok := c.raw["name"].(starlark.String)
	if !ok {
		return
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	r := ev.byName[string(name)]
	if r == nil || ev.attrs[string(name)] != nil || r.Info().Pos != c.Pos {
		return
	}
	attrs := starlark.StringDict{}
	for k, v := range c.raw {
		attrs[k] = v
	}
	ev.attrs[string(name)] = attrs
}

// Attrs returns the arguments of the builtin call that declared rule name,
// as they were passed (defaults left out), when the evaluation records them
// (Options.RecordAttrs); otherwise nil.
func (ev *Evaluation) Attrs(name string) starlark.StringDict {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.attrs[name]
}

// Rules returns the rules declared so far, in declaration order.
func (ev *Evaluation) Rules() []Rule {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return slices.Clone(ev.rules)
}

// Thread-local keys.
const (
	localEval    = "ferry.evaluation"
	localModule  = "ferry.module"
	localRunTime = "ferry.runtime"
	localRule    = "ferry.rule"
	localContext = "ferry.context"
)

// EvaluationOf returns the Evaluation a thread belongs to, or nil.
func EvaluationOf(thread *starlark.Thread) *Evaluation {
	ev, _ := thread.Local(localEval).(*Evaluation)
	return ev
}

// ModuleDir returns the workspace-relative folder of the module whose
// top level the thread is executing: relative paths in rules resolve there.
// Modules from other repositories resolve against the workspace root.
func ModuleDir(thread *starlark.Thread) string {
	m, _ := thread.Local(localModule).(*Module)
	if m == nil || m.Label.Repo != "" {
		return ""
	}
	if d := path.Dir(m.Label.Path); d != "." {
		return d
	}
	return ""
}

// Declaring returns the evaluation that a rule builtin declares its rule in,
// or an error when it is called from a run-time action, where no rule can be
// declared.
func Declaring(thread *starlark.Thread, c *Call) (*Evaluation, error) {
	ev := EvaluationOf(thread)
	if ev == nil || IsRunTime(thread) {
		return nil, c.Errorf("rules are declared while ferry.star is evaluated, not inside a run-time action")
	}
	return ev, nil
}

// IsRunTime reports whether the thread runs a run-time action, where
// builtins with effects are allowed.
func IsRunTime(thread *starlark.Thread) bool {
	rt, _ := thread.Local(localRunTime).(bool)
	return rt
}

// RunTimeContext returns the context of the run-time action the thread
// runs, for builtins that block (it is cancelled with the run), or
// context.Background outside one.
func RunTimeContext(thread *starlark.Thread) context.Context {
	if ctx, ok := thread.Local(localContext).(context.Context); ok {
		return ctx
	}
	return context.Background()
}

// NewRunTimeThread returns a thread for calling a run-time action of a rule
// declared in this evaluation. It is cancelled with ctx.
func (ev *Evaluation) NewRunTimeThread(ctx context.Context, rule string) (*starlark.Thread, func()) {
	t := ev.newThread("run " + rule)
	t.SetLocal(localRunTime, true)
	t.SetLocal(localRule, rule)
	t.SetLocal(localContext, ctx)
	stop := context.AfterFunc(ctx, func() { t.Cancel("interrupted") })
	return t, func() { stop(); ev.forget(t) }
}

func (ev *Evaluation) newThread(name string) *starlark.Thread {
	t := &starlark.Thread{
		Name: name,
		Print: func(t *starlark.Thread, msg string) {
			pos := ""
			if t.CallStackDepth() > 1 {
				pos = t.CallFrame(1).Pos.String()
			}
			rule, _ := t.Local(localRule).(string)
			if !IsRunTime(t) {
				ev.NotReusable("print")
			}
			e := Event{Kind: EventPrint, Rule: rule, Text: msg, Pos: pos}
			ev.mu.Lock()
			if ev.holding && (len(ev.held) > 0 || len(ev.envSecrets.readAt) > 0) {
				ev.held = append(ev.held, e)
				ev.mu.Unlock()
				return
			}
			ev.mu.Unlock()
			ev.opts.Events.Emit(e)
		},
	}
	t.SetLocal(localEval, ev)
	t.SetMaxExecutionSteps(ev.opts.MaxSteps)
	// A backward jump has no position of its own: step on a little until
	// the thread is somewhere the user can find.
	tries := 0
	t.OnMaxSteps = func(t *starlark.Thread) {
		if pos := t.CallFrame(0).Pos; pos.Line <= 1 && pos.Col <= 1 && tries < 1000 {
			tries++
			return
		}
		if IsRunTime(t) {
			t.Cancel(fmt.Sprintf("run-time action exceeded %d steps: is there an endless loop here?", ev.opts.MaxSteps))
			return
		}
		t.Cancel(fmt.Sprintf("evaluation exceeded %d steps: is there an endless loop here? (ferry.star only declares rules; heavy work belongs in tasks)", ev.opts.MaxSteps))
	}
	ev.mu.Lock()
	ev.threads[t] = true
	if ev.stopped != "" {
		t.Cancel(ev.stopped)
	}
	ev.mu.Unlock()
	return t
}

func (ev *Evaluation) forget(t *starlark.Thread) {
	ev.mu.Lock()
	delete(ev.threads, t)
	ev.mu.Unlock()
}

func (ev *Evaluation) source(repo string) (ModuleSource, error) {
	if repo == "" {
		return DirSource{Tree: ev.opts.Workspace.Tree()}, nil
	}
	if s, ok := ev.opts.Sources[repo]; ok {
		return s, nil
	}
	if m := ev.opts.Modules; m != nil && m.ByAlias[repo] != nil {
		return m.ByAlias[repo].Source, nil
	}
	known := []string{}
	for name := range ev.opts.Sources {
		known = append(known, "@"+name)
	}
	sort.Strings(known)
	return nil, fmt.Errorf("@%s is not a known module repository (known: %v); shared modules are listed in ferry.mod beside ferry.star (docs/modules.md)", repo, known)
}

// exec reads, parses and executes one module. Its loads are started in
// parallel as soon as the file is parsed; the thread then picks them up in
// order from the shared cache.
func (ev *Evaluation) exec(chain *loadChain, l Label) (starlark.StringDict, error) {
	src, err := ev.source(l.Repo)
	if err != nil {
		return nil, err
	}
	var mod *Module
	if l == ev.main && ev.opts.MainSrc != nil {
		mod = &Module{Label: l, Display: l.Path, Src: ev.opts.MainSrc}
	} else if mod, err = src.ReadModule(l.Path); err != nil {
		return nil, err
	}
	if mod.Src, err = checkSource(mod.Display, mod.Src); err != nil {
		return nil, err
	}
	if mod.File != "" {
		ev.RecordFile(mod.File)
	}
	ev.mu.Lock()
	ev.sources[mod.Display] = HashBytes(mod.Src)
	ev.mu.Unlock()
	f, err := FileOptions.Parse(mod.Display, mod.Src, 0)
	if err != nil {
		return nil, PositionError(err)
	}
	guardFormatting(f)
	for _, stmt := range f.Stmts {
		if ld, ok := stmt.(*syntax.LoadStmt); ok {
			if dep, err := ResolveLabel(l, ld.ModuleName()); err == nil && ev.visible(l, dep) == nil {
				go ev.load(&loadChain{}, dep)
			}
		}
	}
	prog, err := starlark.FileProgram(f, ev.predeclared.Has)
	if err != nil {
		return nil, PositionError(err)
	}
	t := ev.newThread("load " + l.String())
	defer ev.forget(t)
	t.SetLocal(localModule, mod)
	t.Load = func(_ *starlark.Thread, spec string) (starlark.StringDict, error) {
		dep, err := ResolveLabel(l, spec)
		if err != nil {
			return nil, err
		}
		if err := ev.visible(l, dep); err != nil {
			return nil, err
		}
		return ev.load(chain, dep)
	}
	globals, err := prog.Init(t, ev.predeclared)
	if err != nil {
		return nil, PositionError(err)
	}
	globals.Freeze()
	return globals, nil
}

// loadEntry is one module in the load cache.
type loadEntry struct {
	label   Label
	owner   *loadChain // the chain loading it, while it loads
	globals starlark.StringDict
	err     error
	ready   chan struct{}
}

// A loadChain is one logical thread of loading: a main file and the nested
// loads it performs. Chains form a waits-for graph with cache entries, which
// detects load cycles even when modules load in parallel.
type loadChain struct {
	stack    []Label    // entries this chain is loading, outermost first
	waitsFor *loadEntry // the entry this chain is blocked on
}

// ErrLoadCycle is wrapped by errors reporting a cycle among loads.
var ErrLoadCycle = errors.New("load cycle")

// load returns the globals of module l, loading it once for the whole
// evaluation.
func (ev *Evaluation) load(chain *loadChain, l Label) (starlark.StringDict, error) {
	ev.loadMu.Lock()
	e := ev.cache[l]
	if e != nil {
		if cycle := ev.cycle(e, chain); cycle != "" {
			ev.loadMu.Unlock()
			return nil, fmt.Errorf("%w: %s", ErrLoadCycle, cycle)
		}
		chain.waitsFor = e
		ev.loadMu.Unlock()
		<-e.ready
		ev.loadMu.Lock()
		chain.waitsFor = nil
		ev.loadMu.Unlock()
		return e.globals, e.err
	}
	e = &loadEntry{label: l, owner: chain, ready: make(chan struct{})}
	ev.cache[l] = e
	chain.stack = append(chain.stack, l)
	ev.loadMu.Unlock()

	e.globals, e.err = ev.exec(chain, l)

	ev.loadMu.Lock()
	e.owner = nil
	chain.stack = chain.stack[:len(chain.stack)-1]
	ev.loadMu.Unlock()
	close(e.ready)
	return e.globals, e.err
}

// cycle reports the load path, as text, if waiting for e from chain me
// would deadlock; otherwise "". Called with loadMu held.
func (ev *Evaluation) cycle(e *loadEntry, me *loadChain) string {
	var segs [][]Label
	for e != nil && e.owner != nil {
		segs = append(segs, from(e.owner.stack, e.label))
		if e.owner == me {
			// me loads its own stack from e onwards, then waits for start,
			// whose owners wait in turn until the path returns to e.
			ring := append([]Label{}, segs[len(segs)-1]...)
			for _, s := range segs[:len(segs)-1] {
				ring = append(ring, s...)
			}
			// Start the text at the least label, so a cycle reads the same
			// whichever of its modules found it first.
			least := 0
			for i, l := range ring {
				if l.String() < ring[least].String() {
					least = i
				}
			}
			ring = append(append([]Label{}, ring[least:]...), ring[:least]...)
			text := ""
			for _, p := range append(ring, ring[0]) {
				if text != "" {
					text += " loads "
				}
				text += p.String()
			}
			return text
		}
		e = e.owner.waitsFor
	}
	return ""
}

func from(stack []Label, l Label) []Label {
	for i, s := range stack {
		if s == l {
			return stack[i:]
		}
	}
	return nil
}
