package image

// The live_update steps of an image: how `ferry watch` updates the running
// containers of an image in place instead of rebuilding it.

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/engine"
)

// A step is one live_update step, as sync(), run(), signal(),
// restart_container() and fall_back_on() return it.
type step struct {
	kind    string // the builtin that made it
	pos     syntax.Position
	src     string   // sync: workspace-relative folder or file
	dest    string   // sync: absolute path in the container
	argv    []string // run
	signal  string   // signal: its name without SIG, as "HUP"
	trigger []string // run, signal, restart_container: workspace-relative globs; none: every update
	paths   []string // fall_back_on: workspace-relative files or folders
}

var _ starlark.Value = (*step)(nil)

func (s *step) String() string        { return fmt.Sprintf("<%s step at %s>", s.kind, s.pos) }
func (s *step) Type() string          { return "live_update step" }
func (s *step) Freeze()               {}
func (s *step) Truth() starlark.Bool  { return starlark.True }
func (s *step) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: %s", s.Type()) }

// triggered reports whether a change of one of paths runs the step.
func (s *step) triggered(paths []string) bool {
	if len(s.trigger) == 0 {
		return true
	}
	for _, p := range paths {
		for _, g := range s.trigger {
			if ok, _ := doublestar.Match(g, p); ok || under(p, g) {
				return true
			}
		}
	}
	return false
}

// under reports whether the slash path p is dir or below it.
func under(p, dir string) bool {
	return dir == "." || dir == "" || p == dir || strings.HasPrefix(p, dir+"/")
}

// signals are the signals signal() accepts, by name without SIG.
var signals = []string{"HUP", "INT", "QUIT", "USR1", "USR2", "TERM", "WINCH", "KILL", "STOP", "CONT"}

// stepOrder ranks the kinds of step: they must be given in this order.
var stepOrder = map[string]int{"fall_back_on": 0, "sync": 1, "run": 2, "signal": 2, "restart_container": 2}

// stepType accepts a list of live_update steps.
type stepType struct{}

func (stepType) Describe() string {
	return "list of live_update steps (sync, run, signal, restart_container, fall_back_on)"
}

func (stepType) Convert(v starlark.Value) (any, bool) {
	l, ok := v.(*starlark.List)
	if !ok {
		return nil, false
	}
	out := make([]*step, 0, l.Len())
	for i := range l.Len() {
		s, ok := l.Index(i).(*step)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// checkLiveUpdate checks the steps of image i, whose context is known:
// their order, and that every sync source lies in the context.
func (i *Image) checkLiveUpdate(steps []*step) error {
	last := steps[0]
	for _, s := range steps {
		if stepOrder[s.kind] < stepOrder[last.kind] {
			return fmt.Errorf("live_update: %s (%s) comes after %s (%s); give fall_back_on first, then sync, then run, signal and restart_container, in the order they should happen", s.kind, s.pos, last.kind, last.pos)
		}
		last = s
		if s.kind == "sync" && !under(s.src, i.context) {
			return fmt.Errorf("live_update: sync source %s (%s) is outside the image's context %s; only files the image is built from can be synced: move it into the context, or sync a folder of the context", s.src, s.pos, i.context)
		}
	}
	if !slices.ContainsFunc(steps, func(s *step) bool { return s.kind == "sync" }) && slices.ContainsFunc(steps, func(s *step) bool { return stepOrder[s.kind] == 2 }) {
		return fmt.Errorf("live_update has no sync step, so no change is ever live-updated and its other steps never run; add sync(src, dest) for the files to copy into the running containers")
	}
	return nil
}

// liveUpdateBuiltins returns sync, run, signal, restart_container and
// fall_back_on.
func liveUpdateBuiltins() []*engine.Builtin {
	trigger := engine.Param{Name: "trigger", Type: engine.StringList, Default: "[]", Doc: "Glob patterns (relative to the file's folder, `**` for any depth) of synced files whose change runs the step; every live update runs it when empty."}
	return []*engine.Builtin{
		{
			Name: "sync",
			Doc: "A live_update step: in `ferry watch`, when only files under `src` changed, copy them into every running container of the services using the image, at `dest`, " +
				"through the Docker Engine's copy API (no shell or tar is needed in the image, so images FROM scratch work), owned by the container's user (resolved through its `/etc/passwd` when a name), creating missing folders; " +
				"on a Kubernetes environment, into the running pods, through `exec` of the image's own `tar` (see [live update](live-update.md#on-kubernetes)). " +
				"The image is not rebuilt; a later `ferry run` or `ferry up` builds it.",
			Params: []engine.Param{
				{Name: "src", Type: engine.String, Required: true, Positional: true, Doc: "A folder or file of the image's context, relative to the file's folder."},
				{Name: "dest", Type: engine.String, Required: true, Positional: true, Doc: "The absolute path in the container that `src` corresponds to."},
			},
			Returns: "a step for `image(live_update = [...])`.",
			Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
				src, err := engine.JoinPath(engine.ModuleDir(thread), c.String("src"))
				if err != nil {
					return nil, c.Errorf("src: %v", err)
				}
				dest := c.String("dest")
				if !path.IsAbs(dest) {
					return nil, c.Errorf("dest %q is relative; give the absolute path in the container, such as \"/srv/static\"", dest)
				}
				return &step{kind: "sync", pos: c.Pos, src: src, dest: path.Clean(dest)}, nil
			},
		},
		{
			Name: "run",
			Doc: "A live_update step: after syncing, run a command in each running container (through the Engine's exec API, no shell) when a synced file matching `trigger` changed. " +
				"Its output is the image rule's; a non-zero exit fails the rule, and the next change tries again.",
			Params: []engine.Param{
				{Name: "argv", Type: engine.StringList, Required: true, Positional: true, Doc: "The program and its arguments; the image must contain the program."},
				trigger,
			},
			Returns: "a step for `image(live_update = [...])`.",
			Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
				if len(c.Strings("argv")) == 0 {
					return nil, c.Errorf("argv is empty; give the program to run and its arguments, as [\"/app/reload\"]")
				}
				trig, err := triggers(thread, c)
				if err != nil {
					return nil, err
				}
				return &step{kind: "run", pos: c.Pos, argv: c.Strings("argv"), trigger: trig}, nil
			},
		},
		{
			Name:    "signal",
			Doc:     "A live_update step: after syncing, send a signal to the main process of each running container when a synced file matching `trigger` changed (through the Engine, so FROM scratch images need no `kill`).",
			Params:  []engine.Param{{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "The signal: `" + strings.Join(signals, "`, `") + "`, with or without `SIG`."}, trigger},
			Returns: "a step for `image(live_update = [...])`.",
			Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
				name := strings.TrimPrefix(strings.ToUpper(c.String("name")), "SIG")
				if !slices.Contains(signals, name) {
					return nil, c.Errorf("unknown signal %q; use one of %s", c.String("name"), strings.Join(signals, ", "))
				}
				trig, err := triggers(thread, c)
				if err != nil {
					return nil, err
				}
				return &step{kind: "signal", pos: c.Pos, signal: name, trigger: trig}, nil
			},
		},
		{
			Name:    "restart_container",
			Doc:     "A live_update step: after syncing, restart each running container when a synced file matching `trigger` changed. The synced files survive the restart (they are in the container's layer).",
			Params:  []engine.Param{trigger},
			Returns: "a step for `image(live_update = [...])`.",
			Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
				trig, err := triggers(thread, c)
				if err != nil {
					return nil, err
				}
				return &step{kind: "restart_container", pos: c.Pos, trigger: trig}, nil
			},
		},
		{
			Name:    "fall_back_on",
			Doc:     "A live_update step: a change to any of these files or folders rebuilds the image (and replaces its services' containers) instead of live-updating them, even under a sync source.",
			Params:  []engine.Param{{Name: "paths", Type: engine.StringList, Required: true, Positional: true, Doc: "Files or folders, relative to the file's folder."}},
			Returns: "a step for `image(live_update = [...])`.",
			Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
				s := &step{kind: "fall_back_on", pos: c.Pos}
				for _, p := range c.Strings("paths") {
					j, err := engine.JoinPath(engine.ModuleDir(thread), p)
					if err != nil {
						return nil, c.Errorf("paths: %v", err)
					}
					s.paths = append(s.paths, j)
				}
				return s, nil
			},
		},
	}
}

// triggers returns the trigger= patterns, made workspace-relative.
func triggers(thread *starlark.Thread, c *engine.Call) ([]string, error) {
	var out []string
	for _, g := range c.Strings("trigger") {
		j, err := engine.JoinPath(engine.ModuleDir(thread), g)
		if err != nil {
			return nil, c.Errorf("trigger: %v", err)
		}
		if !doublestar.ValidatePattern(j) {
			return nil, c.Errorf("trigger: %q is not a valid glob pattern", g)
		}
		out = append(out, j)
	}
	return out, nil
}
