package deploy

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// A Replica is one container of a service, as a Target shows it to health
// checks.
type Replica struct {
	Name    string
	Running bool
	// Restarting says that it exited and the target is about to start it
	// again (its restart policy); Restarts counts the times it did.
	Restarting bool
	Restarts   int
	ExitCode   int
	Started    time.Time // its last start
	// Addr is the host:port where an http or tcp check's port answers;
	// AddrErr says why ferry cannot reach it when there is none.
	Addr    string
	AddrErr error
	// Health and HealthOutput are the target's own status of an exec check
	// and the output of its last failed run.
	Health       string
	HealthOutput string
}

// An ExitReader is a Target that can tell how a replica's last run ended
// once it was started again, when Replicas no longer shows it: the exit
// code of its last death since since.
type ExitReader interface {
	LastExit(ctx context.Context, container string, since time.Time) (code int, ok bool)
}

// A ReadinessReporter is a Target whose Replicas give each replica's
// readiness in Replica.Health (Healthy once ready, with or without a
// health check), as the target itself checks it where the replicas run:
// ferry probes nothing, and need not reach them.
type ReadinessReporter interface {
	ReportsReadiness()
}

// DefaultReadyAfter is how long a replica must stay up, without a restart,
// to be ready, unless its service says otherwise (ready_after). It is as
// long as Swarm's update monitor (5s): a container that dies within
// seconds of its start, as a bad configuration makes it, is caught.
const DefaultReadyAfter = 5 * time.Second

// pollEvery is how often a wait looks at the target between probes.
const pollEvery = 250 * time.Millisecond

// MaxWait bounds how long the service can take to be ready: as long as
// its check can stay starting (HealthCheck.MaxWait), then ReadyAfter.
func (s *ServiceSpec) MaxWait() time.Duration {
	w := s.ReadyAfter
	if s.Health != nil {
		w += s.Health.MaxWait()
	}
	return w
}

// WaitHealthy waits until every replica of the service d is ready: healthy
// (running, for a service without a health check), and up for
// d.Spec.ReadyAfter since its last start. http and tcp checks are probed
// by ferry itself. It fails as soon as a replica exits, restarts (its
// restart count or start time changes, or it is restarting) or is
// unhealthy, and after timeout; the error names the service, gives the
// exit code or the last probe errors, and the replica's last log lines.
// An error of the target itself is a *TargetError. Progress goes to log.
func WaitHealthy(ctx context.Context, t Target, d *Deployment, timeout time.Duration, log io.Writer) error {
	h := d.Spec.Health
	_, reported := t.(ReadinessReporter)
	probed := h != nil && h.Probed() && !reported
	start := time.Now()
	deadline := start.Add(timeout)
	trackers := map[string]*Tracker{}
	runs := map[string]Replica{} // each replica as the wait first saw it
	var probedAt time.Time
	for {
		round := time.Now()
		reps, err := t.Replicas(ctx, d)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &TargetError{Service: d.Spec.Name, Err: err}
		}
		if len(reps) == 0 && d.Spec.Replicas > 0 {
			return fmt.Errorf("service %s has no container; `ferry up %s` starts it", d.Spec.Name, d.Spec.Name)
		}
		for _, r := range reps {
			if err := crashed(ctx, t, d, r, runs); err != nil {
				return err
			}
			if probed && r.AddrErr != nil {
				return fmt.Errorf("service %s: cannot probe %s: %v", d.Spec.Name, r.Name, r.AddrErr)
			}
		}
		var interval time.Duration
		if probed {
			interval = h.ProbeInterval(starting(h, trackers, round))
		}
		if probed && (!round.Before(probedAt.Add(interval)) || untracked(reps, trackers)) {
			probeAll(ctx, h, reps, trackers)
			probedAt = round
		}
		status, bad := overall(d.Spec, reps, trackers, reported, time.Now())
		switch {
		case status == Healthy:
			switch {
			case h != nil:
				fmt.Fprintf(log, "%s is healthy after %s\n", d.Spec.Name, time.Since(start).Round(time.Millisecond))
			case d.Spec.ReadyAfter > 0:
				fmt.Fprintf(log, "%s is ready after %s: up %s without a restart\n", d.Spec.Name, time.Since(start).Round(time.Millisecond), d.Spec.ReadyAfter)
			}
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case status == Unhealthy:
			return fmt.Errorf("service %s is unhealthy (if it only needs longer to start, give its check a start_period): %s", d.Spec.Name, describe(ctx, t, d.Spec, bad, trackers, reported))
		case !time.Now().Before(deadline):
			return fmt.Errorf("service %s is not healthy after %s: %s", d.Spec.Name, timeout, describe(ctx, t, d.Spec, bad, trackers, reported))
		}
		every := pollEvery
		if probed {
			every = min(every, interval)
		}
		select {
		case <-time.After(min(time.Until(round.Add(every)), time.Until(deadline))):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// starting reports whether a replica's check is starting within its start
// period at now: probes then come every start_interval.
func starting(h *HealthCheck, trackers map[string]*Tracker, now time.Time) bool {
	for _, tr := range trackers {
		if tr.Status == Starting && now.Sub(tr.Started) < h.StartPeriod {
			return true
		}
	}
	return len(trackers) == 0
}

// untracked reports whether a replica has no probe result yet.
func untracked(reps []Replica, trackers map[string]*Tracker) bool {
	for _, r := range reps {
		if trackers[r.Name] == nil {
			return true
		}
	}
	return false
}

// A TargetError is a wait that ended because a call to the target failed,
// which says nothing of the replicas' health.
type TargetError struct {
	Service string
	Err     error
}

func (e *TargetError) Error() string {
	return fmt.Sprintf("ferry could not tell whether service %s is healthy: %v", e.Service, e.Err)
}

func (e *TargetError) Unwrap() error { return e.Err }

// crashed returns an error when the replica r exited, is restarting, or
// was started again since the wait first saw it (runs holds each replica
// as first seen).
func crashed(ctx context.Context, t Target, d *Deployment, r Replica, runs map[string]Replica) error {
	first, seen := runs[r.Name]
	if !seen {
		runs[r.Name] = r
	}
	switch {
	case r.Restarting:
		return &CrashLoopError{Replica: r.Name, Exit: &engine.ExitState{Code: r.ExitCode}, Restarts: r.Restarts,
			msg: fmt.Sprintf("service %s is crash-looping: %s exited with code %d and is being restarted (restart = %q, %d restart(s) so far)%s",
				d.Spec.Name, r.Name, r.ExitCode, d.Spec.Restart, r.Restarts, t.LastLines(ctx, r.Name))}
	case !r.Running:
		return fmt.Errorf("service %s is not running: %s exited with code %d%s", d.Spec.Name, r.Name, r.ExitCode, t.LastLines(ctx, r.Name))
	case seen && (r.Restarts > first.Restarts || !r.Started.Equal(first.Started)):
		loop := &CrashLoopError{Replica: r.Name, Restarts: r.Restarts}
		code := "with an exit code ferry could not learn"
		if er, ok := t.(ExitReader); ok {
			if c, ok := er.LastExit(ctx, r.Name, first.Started); ok {
				code = fmt.Sprintf("with code %d", c)
				loop.Exit = &engine.ExitState{Code: c}
			}
		}
		loop.msg = fmt.Sprintf("service %s restarted while ferry waited for it to be ready: %s exited %s %s after its start, and was started again (restart = %q, %d restart(s) so far)%s",
			d.Spec.Name, r.Name, code, uptime(first.Started, r.Started), d.Spec.Restart, r.Restarts, t.LastLines(ctx, r.Name))
		return loop
	}
	return nil
}

// A CrashLoopError is a wait that ended on a replica that exited before
// it was ready and that the target is restarting, or restarted (its
// restart policy): as far as the wait can tell, it keeps crashing.
type CrashLoopError struct {
	Replica  string
	Exit     *engine.ExitState // how its last run ended; nil when unknown
	Restarts int               // so far
	msg      string
}

func (e *CrashLoopError) Error() string { return e.msg }

// uptime says how long a run that started at from lasted, at most until
// the next start at to.
func uptime(from, to time.Time) string {
	if from.IsZero() || !to.After(from) {
		return "at some point"
	}
	return "at most " + to.Sub(from).Round(time.Millisecond).String()
}

// probeAll probes every replica at once and records the results.
func probeAll(ctx context.Context, h *HealthCheck, reps []Replica, trackers map[string]*Tracker) {
	errs := make([]error, len(reps))
	var wg sync.WaitGroup
	for i, r := range reps {
		wg.Go(func() { errs[i] = h.Probe(ctx, r.Addr) })
	}
	wg.Wait()
	now := time.Now()
	for i, r := range reps {
		tr := trackers[r.Name]
		if tr == nil || !tr.Started.Equal(r.Started) {
			tr = NewTracker(h, r.Started)
			trackers[r.Name] = tr
		}
		tr.Observe(now, errs[i])
	}
}

// overall is the service's status at now: unhealthy if a replica is, else
// starting if one is (not yet healthy, or up for less than ReadyAfter),
// else healthy; bad lists the replicas that are not ready.
func overall(s *ServiceSpec, reps []Replica, trackers map[string]*Tracker, reported bool, now time.Time) (string, []Replica) {
	h := s.Health
	status := Healthy
	var bad []Replica
	for _, r := range reps {
		st := Healthy
		switch {
		case reported:
			st = cmp.Or(r.Health, Starting)
		case h == nil:
		case h.Probed():
			st = trackers[r.Name].Status
		case r.Health != "":
			st = r.Health
		default:
			st = Starting
		}
		if st == Healthy && now.Sub(r.Started) < s.ReadyAfter {
			st = Starting
		}
		if st == Healthy {
			continue
		}
		bad = append(bad, r)
		if status != Unhealthy {
			status = st
		}
	}
	return status, bad
}

// describe says, for each replica that is not ready, its status, its last
// probe errors (or how long it has been up) and its last log lines.
func describe(ctx context.Context, t Target, s *ServiceSpec, bad []Replica, trackers map[string]*Tracker, reported bool) string {
	h := s.Health
	var parts []string
	for _, r := range bad {
		var sb strings.Builder
		switch {
		case reported && r.Health != Healthy:
			fmt.Fprintf(&sb, "%s is %s", r.Name, cmp.Or(r.Health, Starting))
			if h != nil {
				fmt.Fprintf(&sb, " (%s)", h)
			}
			if r.HealthOutput != "" {
				sb.WriteString(": " + r.HealthOutput)
			}
		case h != nil && h.Probed() && trackers[r.Name].Status != Healthy:
			tr := trackers[r.Name]
			fmt.Fprintf(&sb, "%s is %s (%s)", r.Name, tr.Status, h)
			if len(tr.Errors) > 0 {
				sb.WriteString("; its last probe errors:")
				writeErrors(&sb, tr.Errors)
			}
		case h != nil && !h.Probed() && r.Health != Healthy:
			health := r.Health
			if health == "" {
				health = Starting
			}
			fmt.Fprintf(&sb, "%s is %s (%s)", r.Name, health, h)
			if r.HealthOutput != "" {
				sb.WriteString("; its last failed check said:\n    " + strings.ReplaceAll(r.HealthOutput, "\n", "\n    "))
			}
		default:
			fmt.Fprintf(&sb, "%s has been up for %s since its last start, of the %s it must stay up without a restart (ready_after)", r.Name, time.Since(r.Started).Round(time.Millisecond), s.ReadyAfter)
		}
		sb.WriteString(t.LastLines(ctx, r.Name))
		parts = append(parts, sb.String())
	}
	return strings.Join(parts, "\n")
}

// writeErrors writes one line per error, a repeated one once with a count.
func writeErrors(sb *strings.Builder, errs []error) {
	for i := 0; i < len(errs); {
		n := 1
		for i+n < len(errs) && errs[i+n].Error() == errs[i].Error() {
			n++
		}
		sb.WriteString("\n    " + errs[i].Error())
		if n > 1 {
			fmt.Fprintf(sb, " (%d times)", n)
		}
		i += n
	}
}

// ProbeOnce gives a replica's health from a single probe, for a status view
// that keeps no history: healthy when it succeeds, starting when it fails
// within the start period, unhealthy otherwise (with the probe's error).
func (h *HealthCheck) ProbeOnce(ctx context.Context, r Replica, now time.Time) (string, error) {
	if r.AddrErr != nil {
		return Unhealthy, r.AddrErr
	}
	err := h.Probe(ctx, r.Addr)
	switch {
	case err == nil:
		return Healthy, nil
	case now.Sub(r.Started) < h.StartPeriod:
		return Starting, err
	}
	return Unhealthy, err
}
