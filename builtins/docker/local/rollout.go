package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
)

// rollsOut reports whether Deploy replaces the service's containers one
// replica at a time: when it has more than one replica and a container of
// an older definition is running. A single replica is replaced at once,
// and a new one that fails is left in place for `ferry logs` and `ferry
// status` to show.
func rollsOut(d *deploy.Deployment, list []dockerapi.Container) bool {
	if d.Spec.Replicas < 2 {
		return false
	}
	key := d.Key.String()
	for _, c := range list {
		if c.Labels[objects.LabelConfig] != key && c.State == "running" {
			return true
		}
	}
	return false
}

// stopReason says why an old replica is stopped before its new one starts.
func stopReason(s *deploy.ServiceSpec) string {
	if s.Update.Order == deploy.StopFirst {
		return "update order " + deploy.StopFirst
	}
	return "its fixed host port leaves no room for a second replica"
}

// replicaNumber is the replica number a container's label gives (0 for none).
func replicaNumber(c dockerapi.Container) int {
	i, _ := strconv.Atoi(c.Labels[objects.LabelReplica])
	return i
}

// rollout replaces the service's replicas one at a time (Parallelism at a
// time), each new replica gated on its health (on running, without a
// check): replicas that are missing first, then those of an older
// definition. Start-first: the new replica starts under a temporary name
// beside the old one, which is removed once the new one is healthy, and
// the new one takes its name. Stop-first (see UpdateOrder): the old one is
// stopped first, and started again if the new one fails. A new replica
// that does not become healthy is removed and the rollout stops once its
// batch is done, leaving the old replicas serving; the next Deploy resumes
// it.
func (t *Target) rollout(ctx context.Context, d *deploy.Deployment, list []dockerapi.Container, log io.Writer) error {
	key, n := d.Key.String(), d.Spec.Replicas
	current := map[int]dockerapi.Container{}
	for _, c := range list {
		i := replicaNumber(c)
		if _, dup := current[i]; !dup && c.Labels[objects.LabelConfig] == key && c.State == "running" && i >= 1 && i <= n && !unadopted(c, list) {
			current[i] = c
		}
	}
	old := map[int]dockerapi.Container{}
	defer t.changed(d.Project)
	for _, c := range list {
		i := replicaNumber(c)
		if cur, ok := current[i]; ok && cur.ID == c.ID {
			continue
		}
		_, has := current[i]
		_, dup := old[i]
		if !has && !dup && c.State == "running" && i >= 1 && i <= n && !unadopted(c, list) {
			old[i] = c
			continue
		}
		why := ""
		if unadopted(c, list) {
			why = ": the new replica of a rollout that stopped before adopting it"
		}
		fmt.Fprintf(log, "removing %s%s\n", c.Name, why)
		if err := t.c.RemoveContainer(ctx, c.ID); err != nil {
			return err
		}
	}
	// A replica left with its temporary name by an interrupted rollout
	// takes its own name, now free.
	for i, c := range current {
		if name := replicaName(d, i); c.Name != name {
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
	log = LockWriter(log)
	k := max(d.Spec.Update.Parallelism, 1)
	for len(order) > 0 {
		batch := order[:min(k, len(order))]
		order = order[len(batch):]
		results := make([]replaced, len(batch))
		var wg sync.WaitGroup
		for j, i := range batch {
			var prev *dockerapi.Container
			if c, ok := old[i]; ok {
				prev = &c
			}
			wg.Go(func() { results[j] = t.replace(ctx, d, i, prev, log) })
		}
		wg.Wait()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, r := range results {
			if r.err == nil {
				updated++
				fmt.Fprintf(log, "replica %d/%d updated: %s was %s after %s\n", updated, n, r.name, r.state, r.took.Round(time.Millisecond))
			}
		}
		for j, r := range results {
			var failed *replicaError
			switch {
			case errors.As(r.err, &failed):
				done := "so ferry removed it"
				if failed.removeErr != nil {
					done = fmt.Sprintf("and ferry could not remove it (%v): %s is left beside the old replicas, is not counted as a replica of %s, and the next `ferry up` removes it", failed.removeErr, failed.name, d.Spec.Name)
				}
				kept := "; the old replicas keep serving"
				if _, ok := old[batch[j]]; ok && d.Spec.UpdateOrder() == deploy.StopFirst {
					kept = " and started the old " + old[batch[j]].Name + " again; the old replicas keep serving"
				}
				fix := "fix it and run `ferry up` again to resume the rollout"
				var terr *deploy.TargetError
				if errors.As(failed.err, &terr) {
					fix = "run `ferry up` again once the Docker Engine answers, to resume the rollout"
				}
				return fmt.Errorf("rollout of %s stopped: its new replica %d %s, %s%s (%d of %d replicas run the new definition); %s: %w",
					d.Spec.Name, batch[j], failed.what, done, kept, updated, n, fix, failed.err)
			case r.err != nil:
				return fmt.Errorf("rollout of %s, replica %d: %w", d.Spec.Name, batch[j], r.err)
			}
		}
	}
	return nil
}

// replaced is what replacing one replica came to: the new replica's name,
// its state ("healthy", or "running" without a check) and how long it
// took from its start to get there, or the error.
type replaced struct {
	name, state string
	took        time.Duration
	err         error
}

// replace starts replica i of the new definition, waits until it is
// healthy, and removes prev, the replica it replaces (nil for none). When
// the new replica fails, it is removed and a stopped prev is started
// again, so what ran before runs on.
func (t *Target) replace(ctx context.Context, d *deploy.Deployment, i int, prev *dockerapi.Container, log io.Writer) replaced {
	name := replicaName(d, i)
	as := name
	stop := prev != nil && d.Spec.UpdateOrder() == deploy.StopFirst
	if prev != nil {
		// The new replica has a name of its own until the old one is gone.
		as += "-" + d.Key.String()[:8]
	}
	if stop {
		fmt.Fprintf(log, "stopping %s first: %s\n", prev.Name, stopReason(d.Spec))
		if err := t.c.StopContainer(ctx, prev.ID); err != nil {
			return replaced{err: err}
		}
	}
	fmt.Fprintf(log, "starting %s (%s)\n", as, d.Image)
	start := time.Now()
	id, err := t.makeReplica(ctx, d, i, as)
	var failed *replicaError
	if err != nil {
		failed = &replicaError{what: "could not start", name: as, err: err}
	} else if err = t.gate(ctx, d, as, id); err != nil {
		var terr *deploy.TargetError
		what := "did not become healthy"
		switch {
		case errors.As(err, &terr):
			what = "could not be checked, as a call to the Docker Engine failed"
		case d.Spec.Health == nil:
			what = "did not keep running"
		}
		failed = &replicaError{what: what, name: as, err: err}
	}
	took := time.Since(start)
	if failed != nil {
		cleanup := context.WithoutCancel(ctx)
		defer engine.Cleaning(cleanup)()
		removed := "ferry removed it"
		if id != "" {
			if failed.removeErr = t.c.RemoveContainer(cleanup, id); failed.removeErr != nil {
				removed = fmt.Sprintf("ferry could not remove it (%v)", failed.removeErr)
			}
		}
		if stop {
			if serr := t.c.StartContainer(cleanup, prev.ID); serr != nil {
				return replaced{err: fmt.Errorf("the new replica %v; %s, and could not start the stopped old %s again (%v); run `ferry up` again", failed, removed, prev.Name, serr)}
			}
		}
		return replaced{err: failed}
	}
	if prev != nil {
		fmt.Fprintf(log, "removing %s\n", prev.Name)
		if err := t.c.RemoveContainer(ctx, prev.ID); err != nil {
			return replaced{err: fmt.Errorf("the new replica %s is ready, but removing the old %s failed: %w; the next `ferry up` replaces it again", as, prev.Name, err)}
		}
	}
	if as != name {
		if err := t.c.RenameContainer(ctx, id, name); err != nil {
			return replaced{err: err}
		}
	}
	state := "running"
	if d.Spec.Health != nil {
		state = "healthy"
	}
	return replaced{name: name, state: state, took: took}
}

// A replicaError is a new replica that could not start or did not become
// healthy.
type replicaError struct {
	what string // "could not start", "did not become healthy", …
	name string // the new replica's container
	err  error
	// removeErr says why ferry could not remove the new replica.
	removeErr error
}

func (e *replicaError) Error() string { return e.what + ": " + e.err.Error() }
func (e *replicaError) Unwrap() error { return e.err }

// gate waits until the new replica is ready (see deploy.WaitHealthy), for
// at most as long as that can take (ServiceSpec.MaxWait); without a check
// or ready_after, it watches it start as Deploy does.
func (t *Target) gate(ctx context.Context, d *deploy.Deployment, name, id string) error {
	if d.Spec.Health == nil && d.Spec.ReadyAfter == 0 {
		return t.watchStartup(ctx, d, name, id)
	}
	return deploy.WaitHealthy(ctx, oneReplica{Target: t, id: id}, d, d.Spec.MaxWait(), io.Discard)
}

// interim reports whether c is a new replica that a rollout started under
// its temporary name (its own, then the first 8 digits of its config
// hash) and has not renamed yet.
func interim(c dockerapi.Container) bool {
	key := c.Labels[objects.LabelConfig]
	return len(key) >= 8 && strings.HasSuffix(c.Name, "-"+key[:8])
}

// unadopted reports whether c, among the project's containers list, is a
// new replica that a rollout left under its temporary name while another
// container still holds its replica number: the rollout stopped before it
// was ready and ferry could not remove it, or before ferry removed the old
// replica. It is not one of the service's replicas, and the next rollout
// removes it.
func unadopted(c dockerapi.Container, list []dockerapi.Container) bool {
	if !interim(c) {
		return false
	}
	for _, o := range list {
		if o.ID != c.ID && o.Labels[objects.LabelRule] == c.Labels[objects.LabelRule] && o.Labels[objects.LabelReplica] == c.Labels[objects.LabelReplica] {
			return true
		}
	}
	return false
}

// oneReplica shows one container of a service to deploy.WaitHealthy, so a
// rollout waits for the new replica alone.
type oneReplica struct {
	*Target
	id string
}

// Replicas inspects the one container.
func (o oneReplica) Replicas(ctx context.Context, d *deploy.Deployment) ([]deploy.Replica, error) {
	host, err := o.c.DaemonHost(ctx)
	if err != nil {
		return nil, err
	}
	r, err := o.probeTarget(ctx, d, o.id, host, LocalNets())
	if err != nil {
		return nil, err
	}
	return []deploy.Replica{r}, nil
}
