package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// A Deployer works on one project's services and jobs on one target: it
// brings them to what ferry.star declares (ferry up), removes them (down),
// waits for their health, follows and autoscales them, and runs commands
// in them (exec, restart), reporting on a bus. What only some targets can
// do is found by type assertion on the Target (see Target), so a command
// that needs a capability the target lacks fails saying so, and the CLI
// knows no target.
type Deployer struct {
	Target  Target
	Env     string // the environment deployed to (--env), "" for the local Docker Engine
	Project string
	Root    string      // the workspace root, for the bind mounts of scaled replicas
	Bus     *engine.Bus // where it reports, service events included
}

// DeclaredBy returns the Declared that evaluates ferry.star with load, on
// demand, and lists the kind of each of its services and jobs.
func DeclaredBy(load func() (*engine.Graph, error)) Declared {
	return func() (map[string]string, error) {
		g, err := load()
		if err != nil {
			return nil, err
		}
		kinds := map[string]string{}
		for _, n := range g.Names() {
			if r := g.Rule(n); IsDeploy(r) {
				kinds[n] = r.Info().Kind
			}
		}
		return kinds, nil
	}
}

// UpOptions say what Up does once the rules ran.
type UpOptions struct {
	// Wait waits, for at most WaitTimeout, until every service brought
	// up is healthy; an unhealthy one is an *UnhealthyError.
	Wait        bool
	WaitTimeout time.Duration
	// Follow then follows and autoscales the services until ctx ends.
	Follow bool
}

// A RunFunc runs the named rules of the graph, and then, only if they
// succeeded, after, under the workspace lock (see Up).
type RunFunc func(ctx context.Context, names []string, after func() error) error

// Up brings the named services and jobs of g up with run (when none is
// named, every one that g's profiles enable, and it then removes those
// ferry.star no longer declares), waits for their health and follows them
// as o says. A named rule that is not a service or a job is an error.
func (d *Deployer) Up(ctx context.Context, g *engine.Graph, names []string, o UpOptions, run RunFunc) error {
	var all []string
	for _, n := range g.Names() {
		if IsDeploy(g.Rule(n)) {
			all = append(all, n)
		}
	}
	for _, n := range names {
		if r := g.Rule(n); r != nil && !IsDeploy(r) {
			return fmt.Errorf("ferry up starts services and jobs; %q is a %s (use `ferry run %s`)", n, r.Info().Kind, n)
		}
	}
	selected := names
	if len(names) == 0 {
		if len(all) == 0 {
			d.Bus.Logf(engine.LevelWarn, "ferry.star declares no service or job; nothing to bring up")
		}
		selected = nil
		for _, n := range all {
			if g.ProfileEnabled(g.Rule(n).Info()) {
				selected = append(selected, n)
			}
		}
	}
	removeUndeclared := func() error {
		if len(names) > 0 {
			return nil
		}
		return d.RemoveExcept(ctx, all)
	}
	if len(selected) == 0 {
		return removeUndeclared()
	}
	if err := run(ctx, selected, removeUndeclared); err != nil {
		return err
	}
	if o.Wait {
		if err := d.Wait(ctx, g, selected, o.WaitTimeout); err != nil {
			return err
		}
	}
	f := "ferry"
	if d.Env != "" {
		f += " --env " + d.Env
	}
	d.Bus.Logf(engine.LevelInfo, "project %s is up; `%[2]s status` shows it, `%[2]s logs -f` follows it, `%[2]s down` stops it", d.Project, f)
	if o.Follow {
		return d.Follow(ctx, g)
	}
	return nil
}

// RemoveExcept removes the project's services and jobs not named in keep,
// as ferry up does with those that ferry.star no longer declares.
func (d *Deployer) RemoveExcept(ctx context.Context, keep []string) error {
	removed, err := d.Target.RemoveExcept(ctx, d.Project, keep)
	for _, r := range removed {
		d.Bus.Logf(engine.LevelInfo, "removed %s: it is no longer in ferry.star", r)
	}
	return err
}

// Down removes everything the project owns on the target (its volumes
// too, when asked), reporting each removal.
func (d *Deployer) Down(ctx context.Context, volumes bool) error {
	removed, err := d.Target.Down(ctx, d.Project, volumes)
	for _, r := range removed {
		d.Bus.Logf(engine.LevelInfo, "removed %s", r)
	}
	if err == nil && len(removed) == 0 {
		d.Bus.Logf(engine.LevelInfo, "project %s has nothing in the Docker Engine", d.Project)
	}
	return err
}

// RemoveDeployed removes the services that this process deployed, on a
// target that remembers them (see DeployedRemover), and reports each.
func (d *Deployer) RemoveDeployed(ctx context.Context) ([]string, error) {
	r, ok := d.Target.(DeployedRemover)
	if !ok {
		return nil, nil
	}
	return r.RemoveDeployed(ctx, d.Project)
}

// Logs writes the logs of the project's services (all when names is
// empty) to out, until ctx ends when o.Follow is set.
func (d *Deployer) Logs(ctx context.Context, names []string, o LogOptions, out io.Writer) error {
	l, ok := d.Target.(Logger)
	if !ok {
		return fmt.Errorf("environment %s's target cannot show the logs of its services; use the target's own tools", d.Env)
	}
	return l.Logs(ctx, d.Project, names, o, out)
}

// Exec runs r's command in a running replica of the project's service
// r.Service, and returns its exit code.
func (d *Deployer) Exec(ctx context.Context, r ExecRequest) (int, error) {
	x, ok := d.Target.(Execer)
	if !ok {
		return 0, d.noCapability("exec", "run commands in its replicas")
	}
	r.Project = d.Project
	return x.Exec(ctx, r)
}

// Restart restarts every replica of each of the project's services named,
// in place, reporting each on the bus.
func (d *Deployer) Restart(ctx context.Context, services []string, declared Declared) error {
	x, ok := d.Target.(Restarter)
	if !ok {
		return d.noCapability("restart", "restart its replicas in place")
	}
	log := d.Bus.Output(func(line string) { d.Bus.Logf(engine.LevelInfo, "%s", line) })
	defer log.Flush()
	return x.Restart(ctx, d.Project, services, declared, log)
}

// noCapability is the error of a command whose target cannot do what it
// asks.
func (d *Deployer) noCapability(command, what string) error {
	return fmt.Errorf("ferry %s works on the containers of the local Docker Engine, and environment %s's target cannot %s; use the target's own tools there (`docker service` for Swarm), or drop --env (and FERRY_ENV)", command, d.Env, what)
}

// An UnhealthyError says which services did not become healthy.
type UnhealthyError struct {
	Services []engine.UnhealthyService
}

func (e *UnhealthyError) Error() string {
	errs := make([]error, len(e.Services))
	for i, u := range e.Services {
		errs[i] = u.Err
	}
	return errors.Join(errs...).Error()
}

// Wait waits, for at most timeout, until every service among names and
// what they depend on is healthy (running, for a service without a health
// check). It fails with an *UnhealthyError naming each service that is not.
func (d *Deployer) Wait(ctx context.Context, g *engine.Graph, names []string, timeout time.Duration) error {
	bad, err := d.Unhealthy(ctx, g, names, timeout)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return &UnhealthyError{Services: bad}
	}
	return nil
}

// Unhealthy waits, for at most timeout, until every service among names
// and what they depend on is healthy, and returns those that are not, in
// the graph's order. What the waits print goes to the bus as the
// services' output.
func (d *Deployer) Unhealthy(ctx context.Context, g *engine.Graph, names []string, timeout time.Duration) ([]engine.UnhealthyService, error) {
	sel, err := g.Select(names)
	if err != nil {
		return nil, err
	}
	var rules []*Rule
	for _, n := range sel {
		if r, ok := g.Rule(n).(*Rule); ok && !r.job {
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		return nil, nil
	}
	d.Bus.Logf(engine.LevelInfo, "waiting up to %s for %d service(s) to be healthy", timeout, len(rules))
	// The first service that fails ends every wait: the command fails
	// either way, and sooner.
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	errs := make([]error, len(rules))
	var wg sync.WaitGroup
	for i, r := range rules {
		wg.Go(func() {
			name := r.Info().Name
			out := d.Bus.RuleOutput(name, "stdout")
			errs[i] = r.WaitHealthy(wctx, timeout, out)
			out.Flush()
			// Unless another service's failure cut the wait short.
			if wctx.Err() == nil || errs[i] != nil && !errors.Is(errs[i], context.Canceled) {
				d.Bus.Emit(WaitEvent(name, errs[i]))
			}
			if errs[i] != nil {
				stop()
			}
		})
	}
	wg.Wait()
	var bad []engine.UnhealthyService
	var cut []string
	for i, err := range errs {
		switch {
		case err == nil:
		case ctx.Err() == nil && errors.Is(err, context.Canceled):
			cut = append(cut, rules[i].Info().Name)
		default:
			bad = append(bad, engine.UnhealthyService{Rule: rules[i].Info().Name, Err: err})
		}
	}
	if len(cut) > 0 && len(bad) > 0 {
		d.Bus.Logf(engine.LevelInfo, "stopped waiting for %s once %s failed", strings.Join(cut, ", "), bad[0].Rule)
	}
	return bad, nil
}
