package docker

// Scale steps against the real Engine: they make replicas as `ferry up`
// does, secrets included.

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerd"
	"github.com/ferryhq/ferry/builtins/scale"
	"github.com/ferryhq/ferry/engine"
)

// webReplicas inspects the project's containers of the service web, by name.
func (f *rolloutFixture) webReplicas(t *testing.T, ctx context.Context) map[string]dockerd.Details {
	t.Helper()
	list, err := f.target.c.Containers(ctx, map[string]string{labelProject: f.project, labelRule: "web"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]dockerd.Details{}
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
			if c.Labels[labelSecrets] != d.SecretsHash {
				t.Errorf("after scaling to %d, %s has label %s=%q, want %q", n, name, labelSecrets, c.Labels[labelSecrets], d.SecretsHash)
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
