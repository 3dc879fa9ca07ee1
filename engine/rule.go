package engine

import (
	"context"
	"io"
	"time"

	"go.starlark.net/syntax"
)

// RuleInfo is what the engine knows of every rule, whatever its domain.
type RuleInfo struct {
	Name string
	Kind string // "task", "image", "service", …
	Pos  syntax.Position
	Deps []string
	// OrderOnly lists deps that must succeed first but are not part of the
	// key: a service started after another, but not replaced when it is.
	OrderOnly []string
	Doc       string
	// Default rules run when `ferry run` names no rule (build rules do;
	// deploy rules do not).
	Default bool
	Timeout time.Duration // 0: none
	Retries int
	// NoCache rules run every time they are selected.
	NoCache bool
	// Serve rules start a long-running process (a dev server). They are up
	// to date only while the engine's Servers runs the process started for
	// their key, so `ferry run` (which has none) always runs them; no rule
	// may depend on them.
	Serve bool
	// Manual rules run in `ferry watch` only when triggered (trigger = "manual").
	Manual bool
	// Profiles, when any, leave the rule out of the default set unless one
	// is enabled (Graph.EnableProfiles).
	Profiles []string
	// Modules are the shared modules whose code declared the rule (see
	// Evaluation.AddRule); their hashes are part of its key.
	Modules []ModuleStamp
}

// A Rule is one node of the graph. Domains implement it; the engine computes
// keys, decides what runs, and runs it.
type Rule interface {
	Info() *RuleInfo
	// Definition adds to h everything that decides the rule's result apart
	// from the contents of its inputs and the keys of its deps: command,
	// environment, folder, and so on (for an image, the IDs of its bases).
	Definition(ctx context.Context, h *Hasher) error
	// Inputs lists the workspace-relative files and folders whose contents
	// the result depends on. It is called when the key is computed, after
	// the rule's deps have run.
	Inputs(ctx context.Context) ([]string, error)
	// Outputs lists the workspace-relative files the rule must write.
	Outputs() []string
	// Run does the work, reporting through rc and honouring rc's context.
	Run(rc *RunContext) error
}

// An Observer is a rule whose result lives outside the workspace, such as an
// image in the Docker Engine. Observe reports whether the result built for
// key is still there; when it is not, the rule runs again even though its
// key is unchanged, with the reason given.
type Observer interface {
	Observe(ctx context.Context, key Digest) (present bool, reason string, err error)
}

// A Preparer is a rule that must bring in what its key is computed from
// before the key can be: an image pulls the base images the Engine lacks.
// The engine calls Prepare when the rule may run, after its deps have run
// and before its key is computed; never in a plan, which brings in
// nothing. It reports progress on events.
type Preparer interface {
	Prepare(ctx context.Context, events *Bus) error
}

// A Linker is a rule whose deps follow from other rules: a service whose
// image is built by an image rule, an image whose base another rule builds.
// NewGraph calls Link once with a lookup of every rule by name, before it
// checks deps; Link may add deps to the rule's RuleInfo.
type Linker interface {
	Link(lookup func(name string) Rule) error
}

// A RunContext is handed to Rule.Run.
type RunContext struct {
	context.Context
	Workspace *Workspace
	Rule      string
	Key       Digest            // the key being built
	PrevKey   Digest            // the key of the last success, zero if none
	DepKeys   map[string]Digest // the keys of the rule's deps, by name
	Changed   []string          // inputs whose contents changed since the last success
	Stdout    io.Writer
	Stderr    io.Writer
	Events    *Bus
	// Servers keeps the processes of serve rules running after Run returns;
	// nil outside a watch, where a serve rule runs in the foreground.
	Servers *Supervisor
	// DepsChanged lists the deps whose keys differ since the last success
	// (none when there was none).
	DepsChanged []string
	// LiveUpdate allows Run to return ErrLiveUpdated: the session asked for
	// it (ferry watch), the rule succeeded before, and its definition is
	// the same since; the contents of its inputs (Changed) and the keys of
	// deps (DepsChanged) may differ. A rule does its full work instead when
	// a changed dep matters to it beyond its inputs (an image built on
	// another image's), as when its inputs changed in a way it cannot
	// apply in place. A task that writes into the rule's inputs, such as a
	// binary it compiles into an image's context, shows in Changed.
	LiveUpdate bool
}
