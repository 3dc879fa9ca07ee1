package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// defaultWaitTimeout is how long `ferry up --wait` waits for health.
const defaultWaitTimeout = 60 * time.Second

// unhealthyService is a service that did not become healthy, and why.
type unhealthyService struct {
	rule string
	err  error
}

// unhealthy waits, for at most timeout, until every service among names
// and what they depend on is healthy, and returns those that are not, in
// the graph's order (see deploy.Deployer.Unhealthy).
func (a *app) unhealthy(ctx context.Context, l *loaded, names []string, timeout time.Duration) ([]unhealthyService, error) {
	bad, err := a.deployer(l.ws, l.project).Unhealthy(ctx, l.graph, names, timeout)
	out := make([]unhealthyService, len(bad))
	for i, u := range bad {
		out[i] = unhealthyService{rule: u.Rule, err: u.Err}
	}
	return out, err
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
