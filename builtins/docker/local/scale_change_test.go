package local

// Scale steps against the real Engine: they make replicas as `ferry up`
// does, secrets included, and take turns with rollouts of the service.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/builtins/scale"
	"github.com/ferryhq/ferry/engine"
)

// webReplicas inspects the project's containers of the service web, by name.
func (f *rolloutFixture) webReplicas(t *testing.T, ctx context.Context) map[string]dockerapi.Details {
	t.Helper()
	list, err := f.target.c.Containers(ctx, map[string]string{objects.LabelProject: f.project, objects.LabelRule: "web"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]dockerapi.Details{}
	for _, c := range list {
		d, err := f.target.c.Inspect(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := out[c.Name]; dup {
			t.Fatalf("two containers named %s", c.Name)
		}
		out[c.Name] = d
	}
	return out
}

// A scale step of a service with a secret in env makes its new replicas
// with the secret and its label, as `ferry up` does, and leaves the
// replicas that run (their containers and host ports) alone; `ferry up`
// then finds the service current.
func TestScaleKeepsSecrets(t *testing.T) {
	t.Parallel()
	f := newRolloutFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const value = "scale-secret-value-8231"
	d := f.deployment(1, 1, map[string]string{"VERSION": "v1"}, deploy.Port{Container: 8080})
	d.Spec.Autoscale = &scale.Policy{Min: 1, Max: 3}
	// Deploy reads the secret's name from the spec and its value from
	// the deployment, as deploy.Rule.Run reveals it.
	d.Spec.Secrets = map[string]engine.Secret{"TOKEN": nil}
	d.SecretEnv, d.SecretsHash = map[string]string{"TOKEN": value}, "5ec7e75"
	var log syncBuilder
	if err := f.target.Deploy(ctx, d, &log); err != nil {
		t.Fatalf("deploy: %v\n%s", err, log.String())
	}
	first := f.webReplicas(t, ctx)[f.project+"-web-1"]

	sc := f.target.NewScaler(f.project, t.TempDir(), map[string]*deploy.ServiceSpec{"web": d.Spec}, &log)
	defer sc.Close()
	for _, n := range []int{3, 2} {
		if err := sc.Scale(ctx, "web", n); err != nil {
			t.Fatalf("scale to %d: %v\n%s", n, err, log.String())
		}
		got := f.webReplicas(t, ctx)
		if len(got) != n {
			t.Fatalf("after scaling to %d: %d containers", n, len(got))
		}
		for name, c := range got {
			if !slices.Contains(c.Env, "TOKEN="+value) {
				t.Errorf("after scaling to %d, %s has no TOKEN=<the value> in its environment", n, name)
			}
			if c.Labels[objects.LabelSecrets] != d.SecretsHash {
				t.Errorf("after scaling to %d, %s has label %s=%q, want %q", n, name, objects.LabelSecrets, c.Labels[objects.LabelSecrets], d.SecretsHash)
			}
		}
		if one := got[f.project+"-web-1"]; one.ID != first.ID || fmt.Sprint(one.Ports) != fmt.Sprint(first.Ports) {
			t.Errorf("after scaling to %d, web-1 is %s on %v, want the replica up started, %s on %v", n, one.ID, one.Ports, first.ID, first.Ports)
		}
		observed := &deploy.Deployment{Project: f.project, Spec: d.Spec, Image: d.Image, Key: d.Key}
		if ok, why, err := f.target.Current(ctx, observed); err != nil || !ok {
			t.Errorf("after scaling to %d, Current says %v (%s, %v), want current", n, ok, why, err)
		}
	}
}

// A rollout and scale steps of one service at once take turns: both
// succeed, and the service ends with the count of the last step, every
// replica of the new definition, under its own name.
func TestScaleDuringRollout(t *testing.T) {
	t.Parallel()
	f := newRolloutFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	v1 := f.deployment(1, 2, map[string]string{"VERSION": "v1"})
	v1.Spec.Autoscale = &scale.Policy{Min: 2, Max: 4}
	var log syncBuilder
	if err := f.target.Deploy(ctx, v1, &log); err != nil {
		t.Fatalf("deploy v1: %v\n%s", err, log.String())
	}
	v2 := *v1
	v2.Key = engine.Digest{2}
	sc := f.target.NewScaler(f.project, t.TempDir(), map[string]*deploy.ServiceSpec{"web": v1.Spec}, &log)
	defer sc.Close()

	var wg sync.WaitGroup
	var rolloutErr error
	var scaleErrs []error
	wg.Go(func() { rolloutErr = f.target.Deploy(ctx, &v2, &log) })
	wg.Go(func() {
		for _, n := range []int{3, 4, 2, 3} {
			if err := sc.Scale(ctx, "web", n); err != nil {
				scaleErrs = append(scaleErrs, fmt.Errorf("scale to %d: %w", n, err))
			}
		}
	})
	wg.Wait()
	for _, err := range append(scaleErrs, rolloutErr) {
		if err == nil {
			continue
		}
		if strings.Contains(err.Error(), "does not own it") {
			t.Errorf("ferry disowned its own container: %v", err)
		} else {
			t.Errorf("%v", err)
		}
	}
	if t.Failed() {
		t.Fatalf("log:\n%s", log.String())
	}
	got := f.webReplicas(t, ctx)
	var names []string
	for name, c := range got {
		names = append(names, name)
		if c.State != "running" || c.Labels[objects.LabelConfig] != v2.Key.String() {
			t.Errorf("%s is %s with %s=%.8s, want running the new definition", name, c.State, objects.LabelConfig, c.Labels[objects.LabelConfig])
		}
	}
	slices.Sort(names)
	want := []string{f.project + "-web-1", f.project + "-web-2", f.project + "-web-3"}
	if !slices.Equal(names, want) {
		t.Errorf("containers %v, want %v", names, want)
	}
	if ok, why, err := f.target.Current(ctx, &v2); err != nil || !ok {
		t.Errorf("Current says %v (%s, %v), want current", ok, why, err)
	}
	if t.Failed() {
		t.Logf("log:\n%s", log.String())
	}
}

// A container name that is taken by a container ferry made for the
// project (another ferry process changed the service meanwhile) is not
// called foreign; a name taken by a container without ferry's labels is.
func TestNameInUseByFerry(t *testing.T) {
	t.Parallel()
	f := newRolloutFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := f.deployment(1, 1, map[string]string{"VERSION": "v1"})
	if err := f.target.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	_, err := f.target.makeReplica(ctx, d, 1, replicaName(d, 1))
	if err == nil || strings.Contains(err.Error(), "does not own it") || !strings.Contains(err.Error(), "was made by ferry") {
		t.Errorf("creating web-1 again: %v; want it said ferry made the container", err)
	}

	other := dockerapi.ContainerSpec{Name: f.project + "-web-2", Image: f.image, Labels: map[string]string{"other": "tool"}}
	id, err := f.target.c.CreateContainer(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	defer f.target.c.RemoveContainer(context.WithoutCancel(ctx), id)
	_, err = f.target.makeReplica(ctx, d, 2, replicaName(d, 2))
	if err == nil || !strings.Contains(err.Error(), "a container named "+other.Name+" already exists and ferry does not own it") {
		t.Errorf("creating web-2 over another tool's container: %v; want it said ferry does not own it", err)
	}
}
