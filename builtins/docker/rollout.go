package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerd"
)

// rollsOut reports whether Deploy replaces the service's containers one
// replica at a time: when it has more than one replica and a container of
// an older definition is running. A single replica is replaced at once,
// and a new one that fails is left in place for `ferry logs` and `ferry
// status` to show.
func rollsOut(d *deploy.Deployment, list []dockerd.Container) bool {
	if d.Spec.Replicas < 2 {
		return false
	}
	key := d.Key.String()
	for _, c := range list {
		if c.Labels[labelConfig] != key && c.State == "running" {
			return true
		}
	}
	return false
}

// stopFirst reports whether the service publishes a fixed host port, which
// an old and a new replica cannot both bind: the old one is then stopped
// before the new one starts.
func stopFirst(s *deploy.ServiceSpec) bool {
	for _, p := range s.Ports {
		if p.HostStart != 0 {
			return true
		}
	}
	return false
}

// replicaNumber is the replica number a container's label gives (0 for none).
func replicaNumber(c dockerd.Container) int {
	i, _ := strconv.Atoi(c.Labels[labelReplica])
	return i
}

// rollout replaces the service's replicas one at a time, each new replica
// gated on its health (on running, without a check): replicas that are
// missing first, then those of an older definition. Start-first: the new
// replica starts under a temporary name beside the old one, which is
// removed once the new one is healthy, and the new one takes its name.
// Stop-first (a fixed host port): the old one is stopped first, and
// started again if the new one fails. A new replica that does not become
// healthy is removed and the rollout stops, leaving the old replicas
// serving; the next Deploy resumes it.
func (t *Target) rollout(ctx context.Context, d *deploy.Deployment, list []dockerd.Container, log io.Writer) error {
	key, n := d.Key.String(), d.Spec.Replicas
	current := map[int]dockerd.Container{}
	for _, c := range list {
		i := replicaNumber(c)
		if _, dup := current[i]; !dup && c.Labels[labelConfig] == key && c.State == "running" && i >= 1 && i <= n {
			current[i] = c
		}
	}
	old := map[int]dockerd.Container{}
	defer t.changed(d.Project)
	for _, c := range list {
		i := replicaNumber(c)
		if cur, ok := current[i]; ok && cur.ID == c.ID {
			continue
		}
		_, has := current[i]
		_, dup := old[i]
		if !has && !dup && c.State == "running" && i >= 1 && i <= n {
			old[i] = c
			continue
		}
		fmt.Fprintf(log, "removing %s\n", c.Name)
		if err := t.c.RemoveContainer(ctx, c.ID); err != nil {
			return err
		}
	}
	// A replica left with its temporary name by an interrupted rollout
	// takes its own name, now free.
	for i, c := range current {
		if name := t.containerSpec(d, i).Name; c.Name != name {
			if err := t.c.RenameContainer(ctx, c.ID, name); err != nil {
				return err
			}
		}
	}
	var order []int
	for i := 1; i <= n; i++ {
		if _, ok := current[i]; !ok {
			if _, ok := old[i]; !ok {
				order = append(order, i)
			}
		}
	}
	for i := 1; i <= n; i++ {
		if _, ok := old[i]; ok {
			order = append(order, i)
		}
	}
	updated := len(current)
	for _, i := range order {
		var prev *dockerd.Container
		if c, ok := old[i]; ok {
			prev = &c
		}
		name, took, err := t.replace(ctx, d, i, prev, log)
		var failed *replicaError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &failed):
			kept := "; the old replicas keep serving"
			if prev != nil && stopFirst(d.Spec) {
				kept = " and started the old " + prev.Name + " again; the old replicas keep serving"
			}
			return fmt.Errorf("rollout of %s stopped: its new replica %d %s, so ferry removed it%s (%d of %d replicas run the new definition); fix it and run `ferry up` again to resume the rollout: %w",
				d.Spec.Name, i, failed.what, kept, updated, n, failed.err)
		case err != nil:
			return fmt.Errorf("rollout of %s, replica %d: %w", d.Spec.Name, i, err)
		}
		updated++
		state := "running"
		if d.Spec.Health != nil {
			state = "healthy"
		}
		fmt.Fprintf(log, "replica %d/%d updated: %s was %s after %s\n", updated, n, name, state, took.Round(time.Millisecond))
	}
	return nil
}

// replace starts replica i of the new definition, waits until it is
// healthy, and removes prev, the replica it replaces (nil for none). It
// returns the new replica's name and how long it took to be healthy from
// its start. When the new replica fails, it is removed and a stopped prev
// is started again, so what ran before runs on.
func (t *Target) replace(ctx context.Context, d *deploy.Deployment, i int, prev *dockerd.Container, log io.Writer) (string, time.Duration, error) {
	cs := t.containerSpec(d, i)
	name := cs.Name
	stop := prev != nil && stopFirst(d.Spec)
	if prev != nil {
		// The new replica has a name of its own until the old one is gone.
		cs.Name += "-" + d.Key.String()[:8]
	}
	if stop {
		fmt.Fprintf(log, "stopping %s first: its fixed host port leaves no room for a second replica\n", prev.Name)
		if err := t.c.StopContainer(ctx, prev.ID); err != nil {
			return "", 0, err
		}
	}
	fmt.Fprintf(log, "starting %s (%s)\n", cs.Name, d.Image)
	start := time.Now()
	id, err := t.launch(ctx, d, cs)
	if err != nil {
		err = &replicaError{what: "could not start", err: err}
	} else if err = t.gate(ctx, d, cs.Name, id); err != nil {
		what := "did not become healthy"
		if d.Spec.Health == nil {
			what = "did not keep running"
		}
		err = &replicaError{what: what, err: err}
	}
	took := time.Since(start)
	if err != nil {
		cleanup := context.WithoutCancel(ctx)
		if id != "" {
			t.c.RemoveContainer(cleanup, id)
		}
		if stop {
			if serr := t.c.StartContainer(cleanup, prev.ID); serr != nil {
				return "", 0, fmt.Errorf("the new replica %v; ferry removed it, but could not start the stopped old %s again (%v); run `ferry up` again", err, prev.Name, serr)
			}
		}
		return "", 0, err
	}
	if prev != nil {
		fmt.Fprintf(log, "removing %s\n", prev.Name)
		if err := t.c.RemoveContainer(ctx, prev.ID); err != nil {
			return "", 0, err
		}
	}
	if cs.Name != name {
		if err := t.c.RenameContainer(ctx, id, name); err != nil {
			return "", 0, err
		}
	}
	return name, took, nil
}

// A replicaError is a new replica that could not start or did not become
// healthy.
type replicaError struct {
	what string // "could not start", "did not become healthy", …
	err  error
}

func (e *replicaError) Error() string { return e.what + ": " + e.err.Error() }
func (e *replicaError) Unwrap() error { return e.err }

// gate waits until the new replica is healthy, for at most as long as its
// check can stay starting; without a check, it watches it start as Deploy
// does.
func (t *Target) gate(ctx context.Context, d *deploy.Deployment, name, id string) error {
	h := d.Spec.Health
	if h == nil {
		return t.watchStartup(ctx, d, name, id)
	}
	return deploy.WaitHealthy(ctx, oneReplica{Target: t, name: name}, d, h.MaxWait(), io.Discard)
}

// oneReplica shows one container of a service to deploy.WaitHealthy, so a
// rollout waits for the new replica alone.
type oneReplica struct {
	*Target
	name string
}

// Replicas lists the one container, if it exists.
func (o oneReplica) Replicas(ctx context.Context, d *deploy.Deployment) ([]deploy.Replica, error) {
	all, err := o.Target.Replicas(ctx, d)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.Name == o.name {
			return []deploy.Replica{r}, nil
		}
	}
	return nil, nil
}
