package local

// What docker.inspect and the secrets held by containers read back from
// the Engine.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
)

// Inspect describes the container of replica n of the service r, or the
// container of the job r, whatever its state.
func (t *Target) Inspect(ctx context.Context, r *deploy.Rule, n int) (dockerapi.Details, error) {
	project, name := r.Project(), r.Info().Name
	t.changed(project)
	list, err := t.ruleContainers(ctx, project, name)
	if err != nil {
		return dockerapi.Details{}, err
	}
	if len(list) == 0 {
		why := "it is not up"
		if r.IsJob() {
			why = "it has not run"
		}
		return dockerapi.Details{}, fmt.Errorf("%s %s has no container in project %s: %s; run `ferry up %s` first, or add %q to the task's deps so that ferry runs it before the action", r.Info().Kind, name, project, why, name, name)
	}
	c, err := pickReplica(list, name, n, "replica = N")
	if err != nil {
		return dockerapi.Details{}, err
	}
	return t.c.Inspect(ctx, c.ID)
}

// EnvVars maps the variables of env, as KEY=VALUE, to their values.
func EnvVars(env []string) map[string]string {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return vars
}

// HeldSecrets calls learn with the name and value of each secret that
// the containers of r hold: the variables r fills from secrets in env,
// as each container's config holds them, and r's secret_files, read from
// the host secret folder (deploy.SecretDir) they are bind-mounted from.
// After a rotation, until the next `ferry up`, these are older values than
// the secrets read now; they are there even when a secret cannot be read.
func (t *Target) HeldSecrets(ctx context.Context, r *deploy.Rule, learn func(name, value string)) error {
	list, err := t.ruleContainers(ctx, r.Project(), r.Info().Name)
	if err != nil {
		return err
	}
	base, baseErr := deploy.SecretDir(r.Project())
	spec := r.Spec()
	for _, c := range list {
		d, err := t.c.Inspect(ctx, c.ID)
		if err != nil {
			return err
		}
		vars := EnvVars(d.Env)
		for k, s := range spec.Secrets {
			if v, ok := vars[k]; ok && v != "" {
				learn(s.SecretName(), v)
			}
		}
		for p, s := range spec.SecretFiles {
			host, ok := d.Binds[p]
			if !ok || baseErr != nil || !strings.HasPrefix(host, base+string(filepath.Separator)) {
				continue // not one of ferry's secret files
			}
			if b, err := os.ReadFile(host); err == nil {
				learn(s.SecretName(), string(b))
			}
		}
	}
	return nil
}
