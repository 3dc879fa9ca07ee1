package docker

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerd"
	"github.com/ferryhq/ferry/engine"
)

// Crash loops: a replica that Docker restarted loopRestarts times within
// loopWindow is in a crash loop; while it is, it is reported at most once
// every loopQuiet, and its single deaths and restarts not at all.
const (
	loopRestarts = 3
	loopWindow   = time.Minute
	loopQuiet    = 30 * time.Second
)

// followRetry is how long Follow waits before following the Engine's
// events again after the stream broke.
const followRetry = 2 * time.Second

// followedActions are the container events Follow listens to.
var followedActions = []string{"start", "die", "kill", "oom", "destroy", "health_status"}

var _ deploy.Follower = (*Target)(nil)

// Follow reports what happens to the project's service containers until
// ctx ends: a replica that died (its exit code, whether it ran out of
// memory, its last log lines), Docker restarting it, a crash loop (how
// many restarts within loopWindow, the last exit code, the last log
// lines), and an exec health check turning unhealthy. Deaths that were
// asked for (ferry up replacing a replica, ferry down, docker stop) are
// not reported. Docker's restart policy is the only restarter: Follow
// never starts a container. When the Engine's event stream breaks, Follow
// says so and follows again from where it was. Every restart by Docker is
// reported with Restarted set, without text when nothing is said about it
// (within a crash loop). It returns ctx's error.
func (t *Target) Follow(ctx context.Context, project string, report func(deploy.Report)) error {
	tr := newCrashTracker()
	var since time.Time
	broken := false
	for {
		evs, errc, err := t.c.ContainerEvents(ctx, map[string]string{labelProject: project, labelKind: "service"}, followedActions, since)
		if err == nil {
			if broken {
				report(deploy.Report{Level: engine.LevelInfo, Text: "following the Docker Engine's events again"})
				broken = false
			}
			for e := range evs {
				since = e.Time.Add(time.Nanosecond)
				if isForeign(t.owner, e.Labels) {
					continue
				}
				restarted := tr.restarts(e)
				if r, ok := tr.observe(e); ok {
					if r.lines {
						r.Text += t.runLines(ctx, e.ID, r.since, r.until)
					}
					r.Restarted = restarted
					report(r.Report)
				} else if restarted {
					report(deploy.Report{Service: e.Labels[labelRule], Restarted: true})
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
			report(deploy.Report{Level: engine.LevelWarn, Text: fmt.Sprintf("%v; ferry tries again every %s", err, followRetry)})
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

// crashReport is a report, and whether the log lines of the container's
// last run (written after since and up to until) should follow it.
type crashReport struct {
	deploy.Report
	lines        bool
	since, until time.Time
}

// crashTracker turns a container's events into reports.
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
	restarts         []time.Time // by Docker, within loopWindow
	loopSaid         time.Time   // when a crash loop was last reported
}

func newCrashTracker() *crashTracker { return &crashTracker{byID: map[string]*tracked{}} }

// restarts reports whether e is Docker starting a container that died:
// a restart by its restart policy.
func (c *crashTracker) restarts(e dockerd.ContainerEvent) bool {
	s := c.byID[e.ID]
	return e.Action == "start" && s != nil && s.died
}

// observe records e and returns what to report about it, if anything.
func (c *crashTracker) observe(e dockerd.ContainerEvent) (crashReport, bool) {
	if e.Action == "destroy" {
		delete(c.byID, e.ID)
		return crashReport{}, false
	}
	s := c.byID[e.ID]
	if s == nil {
		s = &tracked{}
		c.byID[e.ID] = s
	}
	service := e.Labels[labelRule]
	r := func(level, format string, args ...any) (crashReport, bool) {
		return crashReport{Report: deploy.Report{Level: level, Service: service, Text: fmt.Sprintf(format, args...)}, since: s.runFrom, until: s.lastDie}, true
	}
	// Once reported, a crash loop lasts while Docker keeps restarting the
	// container within loopWindow of the restart before.
	looping := !s.loopSaid.IsZero() && len(s.restarts) > 0 && e.Time.Sub(s.restarts[len(s.restarts)-1]) < loopWindow
	switch {
	case e.Action == "kill":
		s.killed = true
	case e.Action == "oom":
		s.oom = true
	case e.Action == "die":
		if s.killed && !s.oom {
			s.killed = false
			return crashReport{}, false
		}
		s.died, s.exitCode = true, e.ExitCode
		s.runFrom, s.lastDie = s.lastDie, e.Time
		why := fmt.Sprintf("exited with code %d", e.ExitCode)
		if s.oom {
			why = fmt.Sprintf("ran out of memory and was killed (exit code %d); raise its memory in resources, or make it use less", e.ExitCode)
		}
		s.killed, s.oom = false, false
		if looping {
			return crashReport{}, false
		}
		rep, ok := r(engine.LevelWarn, "%s %s", e.Name, why)
		rep.lines = true
		return rep, ok
	case e.Action == "start" && s.died:
		s.died = false
		s.restarts = append(s.restarts, e.Time)
		for len(s.restarts) > 0 && e.Time.Sub(s.restarts[0]) > loopWindow {
			s.restarts = s.restarts[1:]
		}
		n := len(s.restarts)
		switch {
		case n >= loopRestarts && (s.loopSaid.IsZero() || e.Time.Sub(s.loopSaid) >= loopQuiet):
			s.loopSaid = e.Time
			span := e.Time.Sub(s.restarts[0]).Round(100 * time.Millisecond)
			rep, ok := r(engine.LevelError, "%s is in a crash loop: Docker restarted it %d times in %s, last exit code %d (ferry says so again every %s while it lasts; `ferry logs %s` shows more)",
				e.Name, n, span, s.exitCode, loopQuiet, service)
			rep.lines = true
			return rep, ok
		case n >= loopRestarts || looping:
			return crashReport{}, false
		}
		return r(engine.LevelInfo, "Docker restarted %s (restart %d within %s)", e.Name, n, loopWindow)
	case strings.HasPrefix(e.Action, "health_status: unhealthy") && !s.unhealthy:
		s.unhealthy = true
		rep, ok := r(engine.LevelWarn, "%s is unhealthy (its health.exec check fails)", e.Name)
		rep.lines = true
		return rep, ok
	case strings.HasPrefix(e.Action, "health_status: healthy") && s.unhealthy:
		s.unhealthy = false
		return r(engine.LevelInfo, "%s is healthy again", e.Name)
	}
	return crashReport{}, false
}

// runLines returns the last lines a container wrote between since and until
// (one run, for a container Docker restarts), formatted to follow a report.
func (t *Target) runLines(ctx context.Context, id string, since, until time.Time) string {
	return t.tail(func(out io.Writer) error { return t.c.LogsBetween(ctx, id, since, until, "10", out) })
}
