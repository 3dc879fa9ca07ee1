package local

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
)

// Crash loops: a replica that Docker restarted LoopRestarts times within
// LoopWindow is in a crash loop; while it is, it is reported at most once
// every LoopQuiet, and its single deaths and restarts not at all.
const (
	LoopRestarts = 3
	LoopWindow   = time.Minute
	LoopQuiet    = 30 * time.Second
)

// followRetry is how long Follow waits before following the Engine's
// events again after the stream broke.
const followRetry = 2 * time.Second

// followedActions are the container events Follow listens to.
var followedActions = []string{"start", "die", "kill", "oom", "destroy", "health_status"}

var _ deploy.Follower = (*Target)(nil)

// Follow reports on bus, as service events (see deploy.Follower), what
// happens to the project's service containers until ctx ends: a replica
// that died (its exit code, whether it ran out of memory, its last log
// lines), Docker restarting it, a crash loop (how many restarts within
// LoopWindow, the last exit code, the last log lines), and an exec health
// check turning unhealthy or healthy again. Deaths that were
// asked for (ferry up replacing a replica, ferry down, docker stop) are
// not reported. Docker's restart policy is the only restarter: Follow
// never starts a container. When the Engine's event stream breaks, Follow
// logs so and follows again from where it was. Every restart by Docker is
// a service.restart event, without text when nothing is said about it
// (within a crash loop). It returns ctx's error.
func (t *Target) Follow(ctx context.Context, project string, bus *engine.Bus) error {
	tr := newCrashTracker()
	var since time.Time
	broken := false
	for {
		evs, errc, err := t.c.ContainerEvents(ctx, map[string]string{objects.LabelProject: project, objects.LabelKind: "service"}, followedActions, since)
		if err == nil {
			if broken {
				bus.Logf(engine.LevelInfo, "following the Docker Engine's events again")
				broken = false
			}
			for e := range evs {
				since = e.Time.Add(time.Nanosecond)
				if objects.IsForeign(t.owner, e.Labels) {
					continue
				}
				for _, r := range tr.observe(e) {
					if r.lines {
						r.Text += t.runLines(ctx, e.ID, r.since, r.until)
					}
					bus.Emit(r.Event)
				}
			}
			if ctx.Err() == nil {
				err = <-errc
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !broken {
			bus.Logf(engine.LevelWarn, "%v; ferry tries again every %s", err, followRetry)
			broken = true
		}
		if since.IsZero() {
			since = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(followRetry):
		}
	}
}

// crashReport is a service event, and whether the log lines of the
// container's last run (written after since and up to until) should
// follow its text.
type crashReport struct {
	engine.Event
	lines        bool
	since, until time.Time
}

// crashTracker turns a container's events into service events.
type crashTracker struct {
	byID map[string]*tracked
}

// tracked is what the tracker remembers of one container.
type tracked struct {
	killed   bool // a kill came first: the next die was asked for
	oom      bool // it ran out of memory: the next die is why
	died     bool // it died and has not started again
	exitCode int
	// lastDie is when it last died, and runFrom when it died before
	// (zero: before ferry followed it): its last run's output lies between.
	lastDie, runFrom time.Time
	unhealthy        bool
	restarts         []time.Time // by Docker, within LoopWindow
	loopSaid         time.Time   // when a crash loop was last reported
}

func newCrashTracker() *crashTracker { return &crashTracker{byID: map[string]*tracked{}} }

// observe records e and returns what to report about it: nothing, or
// service events, which only a restart within a crash loop gives without
// text.
func (c *crashTracker) observe(e dockerapi.ContainerEvent) []crashReport {
	if e.Action == "destroy" {
		delete(c.byID, e.ID)
		return nil
	}
	s := c.byID[e.ID]
	if s == nil {
		s = &tracked{}
		c.byID[e.ID] = s
	}
	service := e.Labels[objects.LabelRule]
	// r returns an event of kind about the container, said at level when
	// text is not empty.
	r := func(kind engine.EventKind, st engine.ServiceState, level, reason, text string) crashReport {
		st.Name, st.Replica = service, e.Name
		return crashReport{Event: engine.Event{Kind: kind, Level: level, Text: text, Reason: reason, Service: &st}, since: s.runFrom, until: s.lastDie}
	}
	// Once reported, a crash loop lasts while Docker keeps restarting the
	// container within LoopWindow of the restart before.
	looping := !s.loopSaid.IsZero() && len(s.restarts) > 0 && e.Time.Sub(s.restarts[len(s.restarts)-1]) < LoopWindow
	switch {
	case e.Action == "kill":
		s.killed = true
	case e.Action == "oom":
		s.oom = true
	case e.Action == "die":
		if s.killed && !s.oom {
			s.killed = false
			return nil
		}
		exit := &engine.ExitState{Code: e.ExitCode, OOM: s.oom}
		s.died, s.exitCode = true, e.ExitCode
		s.runFrom, s.lastDie = s.lastDie, e.Time
		why := fmt.Sprintf("exited with code %d", e.ExitCode)
		advice := ""
		if s.oom {
			why = fmt.Sprintf("ran out of memory and was killed (exit code %d)", e.ExitCode)
			advice = "; raise its memory in resources, or make it use less"
		}
		s.killed, s.oom = false, false
		if looping {
			return nil
		}
		reason := e.Name + " " + why
		rep := r(engine.EventServiceExit, engine.ServiceState{Exit: exit}, engine.LevelWarn, reason, reason+advice)
		rep.lines = true
		return []crashReport{rep}
	case e.Action == "start" && s.died:
		s.died = false
		s.restarts = append(s.restarts, e.Time)
		for len(s.restarts) > 0 && e.Time.Sub(s.restarts[0]) > LoopWindow {
			s.restarts = s.restarts[1:]
		}
		n := len(s.restarts)
		restart := r(engine.EventServiceRestart, engine.ServiceState{Restarts: n}, "", "", "")
		switch {
		case n >= LoopRestarts && (s.loopSaid.IsZero() || e.Time.Sub(s.loopSaid) >= LoopQuiet):
			s.loopSaid = e.Time
			span := e.Time.Sub(s.restarts[0]).Round(100 * time.Millisecond)
			reason := fmt.Sprintf("%s is in a crash loop: Docker restarted it %d times in %s, last exit code %d", e.Name, n, span, s.exitCode)
			loop := r(engine.EventServiceCrashLoop, engine.ServiceState{Restarts: n, Exit: &engine.ExitState{Code: s.exitCode}}, engine.LevelError, reason,
				fmt.Sprintf("%s (ferry says so again every %s while it lasts; `ferry logs %s` shows more)", reason, LoopQuiet, service))
			loop.lines = true
			return []crashReport{restart, loop}
		case n >= LoopRestarts || looping:
			return []crashReport{restart}
		}
		restart.Level, restart.Text = engine.LevelInfo, fmt.Sprintf("Docker restarted %s (restart %d within %s)", e.Name, n, LoopWindow)
		return []crashReport{restart}
	case strings.HasPrefix(e.Action, "health_status: unhealthy") && !s.unhealthy:
		s.unhealthy = true
		reason := e.Name + " is unhealthy (its health.exec check fails)"
		rep := r(engine.EventServiceHealth, engine.ServiceState{Health: deploy.Unhealthy}, engine.LevelWarn, reason, reason)
		rep.lines = true
		return []crashReport{rep}
	case strings.HasPrefix(e.Action, "health_status: healthy") && s.unhealthy:
		s.unhealthy = false
		return []crashReport{r(engine.EventServiceHealth, engine.ServiceState{Health: deploy.Healthy}, engine.LevelInfo, "", e.Name+" is healthy again")}
	}
	return nil
}

// runLines returns the last lines a container wrote between since and until
// (one run, for a container Docker restarts), formatted to follow a report.
func (t *Target) runLines(ctx context.Context, id string, since, until time.Time) string {
	return t.Tail(func(out io.Writer) error { return t.c.LogsBetween(ctx, id, since, until, "10", out) })
}
