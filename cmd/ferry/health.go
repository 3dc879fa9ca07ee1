package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

// defaultWaitTimeout is how long `ferry up --wait` waits for health.
const defaultWaitTimeout = 60 * time.Second

// waitHealthy waits, for at most timeout, until every service among names
// and what they depend on is healthy (running, for a service without a
// health check). It fails naming each service that is not, with exit code 1.
func (a *app) waitHealthy(ctx context.Context, l *loaded, names []string, timeout time.Duration) error {
	bad, err := a.unhealthy(ctx, l, names, timeout)
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range bad {
		errs = append(errs, u.err)
	}
	if err := errors.Join(errs...); err != nil {
		// The services were brought up but are not healthy: a failure of
		// what runs (1), not of ferry.star or of the command line (2).
		return &exitCodeError{code: exitFailed, msg: err.Error()}
	}
	return nil
}

// unhealthyService is a service that did not become healthy, and why.
type unhealthyService struct {
	rule string
	err  error
}

// unhealthy waits, for at most timeout, until every service among names
// and what they depend on is healthy, and returns those that are not, in
// the graph's order.
func (a *app) unhealthy(ctx context.Context, l *loaded, names []string, timeout time.Duration) ([]unhealthyService, error) {
	sel, err := l.graph.Select(names)
	if err != nil {
		return nil, err
	}
	var rules []*deploy.Rule
	for _, n := range sel {
		if r, ok := l.graph.Rule(n).(*deploy.Rule); ok && r.Info().Kind == "service" {
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		return nil, nil
	}
	a.bus.Logf(engine.LevelInfo, "waiting up to %s for %d service(s) to be healthy", timeout, len(rules))
	// The first service that fails ends every wait: the command fails
	// either way, and sooner.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	errs := make([]error, len(rules))
	var wg sync.WaitGroup
	for i, r := range rules {
		wg.Go(func() {
			out := a.logWriter(r.Info().Name)
			errs[i] = r.WaitHealthy(wctx, timeout, out)
			out.Flush()
			// Unless another service's failure cut the wait short.
			if wctx.Err() == nil || errs[i] != nil && !errors.Is(errs[i], context.Canceled) {
				a.bus.Emit(deploy.WaitEvent(r.Info().Name, errs[i]))
			}
			if errs[i] != nil {
				stop()
			}
		})
	}
	wg.Wait()
	var bad []unhealthyService
	var cut []string
	for i, err := range errs {
		switch {
		case err == nil:
		case ctx.Err() == nil && errors.Is(err, context.Canceled):
			cut = append(cut, rules[i].Info().Name)
		default:
			bad = append(bad, unhealthyService{rule: rules[i].Info().Name, err: err})
		}
	}
	if len(cut) > 0 && len(bad) > 0 {
		a.bus.Logf(engine.LevelInfo, "stopped waiting for %s once %s failed", strings.Join(cut, ", "), bad[0].rule)
	}
	return bad, nil
}

// printHealthErrors lists, under the status table, why services are not
// healthy.
func printHealthErrors(w io.Writer, list []deploy.ServiceStatus) {
	for _, s := range list {
		if s.HealthError != "" {
			fmt.Fprintf(w, "%s is %s: %s\n", s.Name, s.Health, s.HealthError)
		}
		for _, c := range s.Unadopted {
			fmt.Fprintf(w, "%s: %s is the new replica of a rollout that stopped; it is not counted, and the next `ferry up` removes it\n", s.Name, c)
		}
	}
}
