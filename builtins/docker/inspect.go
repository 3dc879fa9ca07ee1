package docker

// docker.inspect: what the Engine tells of a container of the project's
// services and jobs, with the secrets among it kept opaque.

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/local"
	"github.com/ferryhq/ferry/engine"
)

func (p Plugin) inspectBuiltin() *engine.Builtin {
	return &engine.Builtin{
		Name:       "docker.inspect",
		Permission: "docker",
		Doc: "Describes a container of one of the project's services or jobs, as the Docker Engine sees it, running or not. " +
			"Only the project's own services and jobs can be inspected: containers ferry did not start may hold secrets it cannot recognise. " +
			"Secrets stay opaque: an `env` value or label holding the value of a secret ferry knows (one the service gets in `env`, or any secret read during this run) " +
			"is that secret, shown as `<secret NAME>`, never a string. See [services](services.md#dockerinspect-in-run-time-actions).",
		RunTimeOnly: true,
		Params: []engine.Param{
			{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "The name of a service or job declared in ferry.star."},
			{Name: "replica", Type: engine.Int, Default: "1", Doc: "Which replica of a service, from 1; a job has one container."},
		},
		Returns: "a read-only struct: `id`, `name` (the container's), `image` (the reference it was created from), `image_id`, " +
			"`state` (`\"running\"`, `\"exited\"`, `\"restarting\"`, `\"created\"`…), `exit_code` (int; 0 while running), " +
			"`health` (the Engine's health status, `\"starting\"`, `\"healthy\"` or `\"unhealthy\"`, for `health.exec` or an image's `HEALTHCHECK`; None otherwise), " +
			"`ip` (its address on the project's network, or on the first of its networks by name with `default_network = False`; None without one), `ports` (dict from `\"PORT/PROTO\"` to the published host port, an int), " +
			"`labels` and `env` (dicts of strings, with secrets as secrets), `started_at` (a `time.time`, None before it first started) and `restart_count` (int).",
		Impl: p.inspect,
	}
}

func (p Plugin) inspect(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
	if p.Secrets == nil {
		return nil, c.Errorf("docker.inspect is not available here: ferry was set up without the secret domain that keeps secrets opaque")
	}
	name, n := c.String("name"), c.Int("replica", 1)
	if n < 1 {
		return nil, c.Errorf("replica: got %d; replicas are numbered from 1", n)
	}
	r, err := deployRule(engine.EvaluationOf(thread), name)
	if err != nil {
		return nil, c.Errorf("%v", err)
	}
	t, ok := r.Target().(*local.Target)
	if !ok {
		return nil, c.Errorf("the selected environment (--env) deploys %s %s to another target (Docker Swarm, say) than containers of the local Docker Engine, which docker.inspect looks at; inspect it with that target's own tools (docker service ps), or drop --env (and FERRY_ENV)", r.Info().Kind, name)
	}
	ctx := engine.RunTimeContext(thread)
	d, err := t.Inspect(ctx, r, n)
	if err != nil {
		return nil, c.Errorf("%v", err)
	}
	from := "container " + d.Name
	env, err := p.envDict(ctx, r, d.Env, from)
	if err != nil {
		return nil, c.Errorf("%v", err)
	}
	return containerValue(d, local.NetworkName(r.Project()), env, p.labelDict(d.Labels, from)), nil
}

// deployRule returns the service or job name of the evaluation, or an
// error that names what there is.
func deployRule(ev *engine.Evaluation, name string) (*deploy.Rule, error) {
	var names []string
	for _, r := range ev.Rules() {
		dr, ok := r.(*deploy.Rule)
		switch {
		case r.Info().Name == name && ok:
			return dr, nil
		case r.Info().Name == name:
			return nil, fmt.Errorf("%s is declared with %s(), not service() or job(); docker.inspect looks at the containers of the project's services and jobs", name, r.Info().Kind)
		case ok:
			names = append(names, r.Info().Name)
		}
	}
	msg := fmt.Sprintf("ferry.star declares no service or job %q", name)
	switch s := engine.Suggest(name, names); {
	case s != "":
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	case len(names) == 0:
		msg += "; it declares none"
	}
	if len(names) > 0 {
		slices.Sort(names)
		msg += "; the services and jobs are " + strings.Join(names, ", ")
	}
	return nil, errors.New(msg + ". docker.inspect looks at the project's own containers only; for another container, run `docker inspect` in ctx.sh")
}

// envDict returns a container's environment, with the value of every
// variable that r gets from a secret, and every value that holds a secret
// ferry has read, as a secret. r's secrets are read first, and the
// variables they fill are wrapped before the others are looked at, so
// that the redactor knows their values, even older ones.
func (p Plugin) envDict(ctx context.Context, r *deploy.Rule, env []string, from string) (*starlark.Dict, error) {
	for _, s := range r.Secrets() {
		// One that cannot be read now still wraps its variable (below).
		s.Reveal(ctx)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	from = "the environment of " + from
	vars := local.EnvVars(env)
	vals := map[string]starlark.Value{}
	for k, s := range r.Spec().Secrets {
		v, ok := vars[k]
		switch {
		case !ok:
		case holds(ctx, s, v):
			vals[k] = s
		default:
			vals[k] = p.Secrets.Wrap(s.SecretName(), v, from)
		}
	}
	out := starlark.NewDict(len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		val, ok := vals[k]
		if !ok {
			val = p.plainOrSecret(vars[k], from)
		}
		out.SetKey(starlark.String(k), val)
	}
	return out, nil
}

// plainOrSecret returns v as a string, or as a secret when it holds the
// value of a secret that ferry has read.
func (p Plugin) plainOrSecret(v, from string) starlark.Value {
	if s, ok := p.Secrets.Find(v, from); ok {
		return s
	}
	return starlark.String(v)
}

// holds reports whether v is the value of s. It may not be: a variable
// that a secret fills keeps an older value after a rotation, until the
// next `ferry up` replaces the container.
func holds(ctx context.Context, s engine.Secret, v string) bool {
	current, err := s.Reveal(ctx)
	return err == nil && subtle.ConstantTimeCompare([]byte(current), []byte(v)) == 1
}

// labelDict returns a container's labels, with every value that holds a
// secret ferry has read as a secret: ferry refuses secrets in labels, but
// an image's labels, which its containers inherit, are not ferry's.
func (p Plugin) labelDict(labels map[string]string, from string) *starlark.Dict {
	out := starlark.NewDict(len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		out.SetKey(starlark.String(k), p.plainOrSecret(labels[k], "the labels of "+from))
	}
	return out
}

// containerValue is the frozen struct docker.inspect returns.
func containerValue(d dockerapi.Details, network string, env, labels *starlark.Dict) starlark.Value {
	ports := starlark.NewDict(len(d.Ports))
	for _, port := range slices.Sorted(maps.Keys(d.Ports)) {
		if b := d.Ports[port]; len(b) > 0 {
			ports.SetKey(starlark.String(port), starlark.MakeInt(b[0].Port))
		}
	}
	orNone := func(s string) starlark.Value {
		if s == "" {
			return starlark.None
		}
		return starlark.String(s)
	}
	var started starlark.Value = starlark.None
	if !d.StartedAt.IsZero() {
		started = time.Time(d.StartedAt)
	}
	s := starlarkstruct.FromStringDict(starlark.String("container"), starlark.StringDict{
		"id":            starlark.String(d.ID),
		"name":          starlark.String(d.Name),
		"image":         starlark.String(d.Image),
		"image_id":      starlark.String(d.ImageID),
		"state":         starlark.String(d.State),
		"exit_code":     starlark.MakeInt(d.ExitCode),
		"health":        orNone(d.Health),
		"ip":            orNone(d.IPs[local.IPNetwork(d.IPs, network)]),
		"ports":         ports,
		"labels":        labels,
		"env":           env,
		"started_at":    started,
		"restart_count": starlark.MakeInt(d.Restarts),
	})
	s.Freeze()
	return s
}
