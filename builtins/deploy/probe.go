package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"time"
)

// Health statuses, as Docker names them.
const (
	Starting  = "starting"
	Healthy   = "healthy"
	Unhealthy = "unhealthy"
)

// probeClient never follows redirects: a 3xx answer counts as healthy, as
// Docker-style checks treat it, and a redirect to elsewhere is not probed.
var probeClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// ProbeHTTP sends GET url and succeeds on a 2xx or 3xx answer within timeout.
func ProbeHTTP(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("GET %s: no answer within %s", url, timeout)
		}
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("GET %s: %w", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return fmt.Errorf("GET %s: answered %s, want 2xx or 3xx", url, resp.Status)
	}
	return nil
}

// ProbeTCP succeeds when addr (host:port) accepts a connection within timeout.
func ProbeTCP(ctx context.Context, addr string, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// Probe runs one http or tcp check against addr, the host:port where the
// check's container port answers.
func (h *HealthCheck) Probe(ctx context.Context, addr string) error {
	if h.Kind == "http" {
		return ProbeHTTP(ctx, "http://"+addr+h.Path, h.Timeout)
	}
	return ProbeTCP(ctx, addr, h.Timeout)
}

// Probed reports whether ferry probes the check itself (http and tcp),
// rather than the target running it (exec).
func (h *HealthCheck) Probed() bool { return h.Kind == "http" || h.Kind == "tcp" }

// RunsInside reports whether the check is a command that the target runs
// inside the container (exec), rather than one ferry probes.
func (h *HealthCheck) RunsInside() bool { return h.Kind == "exec" }

// MaxWait bounds how long a check can stay starting: the start period,
// then retries failed probes, each an interval plus a timeout apart, and
// one more for the first.
func (h *HealthCheck) MaxWait() time.Duration {
	return h.StartPeriod + time.Duration(h.Retries+1)*(h.Interval+h.Timeout)
}

// A Tracker follows one replica's health from its probe results, with
// Docker's rules: it is starting until a probe succeeds (healthy) or, once
// the start period is over, retries probes fail in a row (unhealthy); a
// success makes it healthy again.
type Tracker struct {
	Check   *HealthCheck
	Started time.Time // when the container started

	Status string
	Streak int     // failed probes in a row that count
	Errors []error // the last few probe errors, oldest first
}

// NewTracker returns a starting tracker for a container started at started.
func NewTracker(h *HealthCheck, started time.Time) *Tracker {
	return &Tracker{Check: h, Started: started, Status: Starting}
}

// keptErrors is how many probe errors a Tracker remembers.
const keptErrors = 3

// Observe records the result of a probe that ended at now.
func (t *Tracker) Observe(now time.Time, err error) {
	if err == nil {
		t.Status, t.Streak = Healthy, 0
		return
	}
	t.Errors = append(t.Errors, err)
	if len(t.Errors) > keptErrors {
		t.Errors = t.Errors[1:]
	}
	if t.Status == Starting && now.Sub(t.Started) < t.Check.StartPeriod {
		return
	}
	t.Streak++
	if t.Streak >= t.Check.Retries {
		t.Status = Unhealthy
	}
}
