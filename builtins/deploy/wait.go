package deploy

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// A Replica is one container of a service, as a Target shows it to health
// checks.
type Replica struct {
	Name     string
	Running  bool
	ExitCode int
	Started  time.Time
	// Addr is the host:port where an http or tcp check's port answers;
	// AddrErr says why ferry cannot reach it when there is none.
	Addr    string
	AddrErr error
	// Health and HealthOutput are the target's own status of an exec check
	// and the output of its last failed run.
	Health       string
	HealthOutput string
}

// pollEvery is how often a wait looks at the target when ferry does not
// probe itself (exec checks, services without a check).
const pollEvery = 250 * time.Millisecond

// WaitHealthy waits until every replica of the service d is healthy (running,
// for a service without a health check), probing http and tcp checks itself.
// It fails when a replica stops or is unhealthy, or after timeout; the error
// names the service, gives the last probe errors and the replica's last log
// lines. Progress goes to log.
func WaitHealthy(ctx context.Context, t Target, d *Deployment, timeout time.Duration, log io.Writer) error {
	h := d.Spec.Health
	start := time.Now()
	deadline := start.Add(timeout)
	trackers := map[string]*Tracker{}
	for {
		round := time.Now()
		reps, err := t.Replicas(ctx, d)
		if err != nil {
			return err
		}
		if len(reps) == 0 && d.Spec.Replicas > 0 {
			return fmt.Errorf("service %s has no container; `ferry up %s` starts it", d.Spec.Name, d.Spec.Name)
		}
		for _, r := range reps {
			if !r.Running {
				return fmt.Errorf("service %s is not running: %s exited with code %d%s", d.Spec.Name, r.Name, r.ExitCode, t.LastLines(ctx, r.Name))
			}
			if h != nil && h.Probed() && r.AddrErr != nil {
				return fmt.Errorf("service %s: cannot probe %s: %v", d.Spec.Name, r.Name, r.AddrErr)
			}
		}
		if h != nil && h.Probed() {
			probeAll(ctx, h, reps, trackers)
		}
		status, bad := overall(h, reps, trackers)
		switch {
		case status == Healthy:
			if h != nil {
				fmt.Fprintf(log, "%s is healthy after %s\n", d.Spec.Name, time.Since(start).Round(time.Millisecond))
			}
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case status == Unhealthy:
			return fmt.Errorf("service %s is unhealthy (if it only needs longer to start, give its check a start_period): %s", d.Spec.Name, describe(ctx, t, h, bad, trackers))
		case !time.Now().Before(deadline):
			return fmt.Errorf("service %s is not healthy after %s: %s", d.Spec.Name, timeout, describe(ctx, t, h, bad, trackers))
		}
		every := pollEvery
		if h != nil && h.Probed() {
			every = h.Interval
		}
		select {
		case <-time.After(min(time.Until(round.Add(every)), time.Until(deadline))):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
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

// overall is the service's status: unhealthy if a replica is, else starting
// if one is, else healthy; bad lists the replicas that are not healthy.
func overall(h *HealthCheck, reps []Replica, trackers map[string]*Tracker) (string, []Replica) {
	status := Healthy
	var bad []Replica
	for _, r := range reps {
		s := Healthy
		switch {
		case h == nil:
		case h.Probed():
			s = trackers[r.Name].Status
		case r.Health != "":
			s = r.Health
		default:
			s = Starting
		}
		if s == Healthy {
			continue
		}
		bad = append(bad, r)
		if status != Unhealthy {
			status = s
		}
	}
	return status, bad
}

// describe says, for each replica that is not healthy, its status, its last
// probe errors and its last log lines.
func describe(ctx context.Context, t Target, h *HealthCheck, bad []Replica, trackers map[string]*Tracker) string {
	var parts []string
	for _, r := range bad {
		var sb strings.Builder
		switch {
		case h.Probed():
			tr := trackers[r.Name]
			fmt.Fprintf(&sb, "%s is %s (%s)", r.Name, tr.Status, h)
			if len(tr.Errors) > 0 {
				sb.WriteString("; its last probe errors:")
				writeErrors(&sb, tr.Errors)
			}
		default:
			health := r.Health
			if health == "" {
				health = Starting
			}
			fmt.Fprintf(&sb, "%s is %s (%s)", r.Name, health, h)
			if r.HealthOutput != "" {
				sb.WriteString("; its last failed check said:\n    " + strings.ReplaceAll(r.HealthOutput, "\n", "\n    "))
			}
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
