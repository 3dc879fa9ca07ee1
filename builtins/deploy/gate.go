package deploy

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// waitForDeps waits until every service in depends_on that has a health
// check is ready, each for at most as long as it can take
// (ServiceSpec.MaxWait). Nothing of this rule has started when it fails.
func (r *Rule) waitForDeps(rc *engine.RunContext) error {
	for _, dep := range r.healthDeps {
		h := dep.spec.Health
		fmt.Fprintf(rc.Stdout, "waiting for %s to be healthy (%s)\n", dep.spec.Name, h)
		d := &Deployment{Project: r.plugin.Project, Spec: dep.spec}
		if err := WaitHealthy(rc, r.plugin.Target, d, dep.spec.MaxWait(), rc.Stdout); err != nil {
			return fmt.Errorf("depends_on: %s did not become healthy, so %s was not started: %w", dep.spec.Name, r.spec.Name, err)
		}
	}
	return nil
}

// WaitHealthy waits until the service is healthy, or running when it has no
// health check (see the function WaitHealthy); `ferry up --wait` calls it
// for each service. A job has nothing to wait for.
func (r *Rule) WaitHealthy(ctx context.Context, timeout time.Duration, log io.Writer) error {
	if r.job {
		return nil
	}
	if r.plugin.Target == nil {
		return errNoTarget
	}
	return WaitHealthy(ctx, r.plugin.Target, &Deployment{Project: r.plugin.Project, Spec: r.spec}, timeout, log)
}
