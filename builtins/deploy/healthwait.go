package deploy

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

// waitEvery is how often health.wait tries again, and waitProbeTimeout how
// long one try may take.
const (
	waitEvery        = 200 * time.Millisecond
	waitProbeTimeout = 2 * time.Second
)

var waitBuiltin = &engine.Builtin{
	Name:       "health.wait",
	Permission: "network",
	Doc: "Waits until an address answers: for `http://…` (or `https://…`), until `GET` answers 2xx or 3xx; for `host:port`, until it accepts a TCP connection. " +
		"Use it in run-time actions that need a service ready, such as a smoke test run after `ferry up`.",
	RunTimeOnly: true,
	Params: []engine.Param{
		{Name: "url_or_addr", Type: engine.String, Required: true, Positional: true, Doc: "A URL such as `http://127.0.0.1:8080/healthz`, or a TCP address such as `127.0.0.1:5432`."},
		{Name: "timeout", Type: engine.Duration, Default: `"30s"`, Doc: "How long to wait before failing."},
	},
	Returns: "None once it answers; after `timeout` it fails, saying what the last try got.",
	Impl:    healthWait,
}

func healthWait(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
	target, timeout := c.String("url_or_addr"), c.Duration("timeout", 30*time.Second)
	if timeout <= 0 {
		return nil, c.Errorf("timeout must be more than 0")
	}
	probe, err := waitProbe(target)
	if err != nil {
		return nil, c.Errorf("%v", err)
	}
	ctx := engine.RunTimeContext(thread)
	deadline := time.Now().Add(timeout)
	var last error
	for {
		budget := min(waitProbeTimeout, max(time.Until(deadline), time.Millisecond))
		err := probe(ctx, budget)
		// A try the deadline cut short says less than an earlier one
		// that had its full time (an answer, a refused connection).
		if last == nil || budget == waitProbeTimeout || err == nil {
			last = err
		}
		switch {
		case err == nil:
			return starlark.None, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !time.Now().Before(deadline):
			return nil, c.Errorf("%s did not answer within %s; the last try got: %v", target, timeout, last)
		}
		select {
		case <-time.After(min(waitEvery, time.Until(deadline))):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// waitProbe returns the probe for a URL or a host:port.
func waitProbe(target string) (func(ctx context.Context, timeout time.Duration) error, error) {
	if strings.Contains(target, "://") {
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("url_or_addr: got %q, want an http:// or https:// URL, or a TCP address host:port", target)
		}
		return func(ctx context.Context, timeout time.Duration) error { return ProbeHTTP(ctx, target, timeout) }, nil
	}
	if _, port, err := net.SplitHostPort(target); err != nil || port == "" {
		return nil, fmt.Errorf("url_or_addr: got %q, want a TCP address host:port, or an http:// URL", target)
	}
	return func(ctx context.Context, timeout time.Duration) error { return ProbeTCP(ctx, target, timeout) }, nil
}
