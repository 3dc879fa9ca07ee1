package deploy

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/engine"
)

// Target kinds an environment can deploy to.
const (
	TargetDocker = "docker" // the local Docker Engine: containers
	TargetSwarm  = "swarm"  // Docker Swarm: services
	// TargetKubernetes is a Kubernetes cluster that the user's kubeconfig
	// names: Deployments, Services, Jobs and Secrets (see builtins/k8s).
	TargetKubernetes = "kubernetes"
)

// The ways a Kubernetes environment gives this machine access to the
// declared ports of its services (environment(port_access = ...)).
const (
	// PortForward: ClusterIP Services, reached through port-forwards
	// (ferry port-forward, ferry watch) to their pods.
	PortForward = "port-forward"
	// NodePort: NodePort Services, reached on every node's address.
	NodePort = "nodeport"
)

// targetKinds are the targets environment() accepts; later ones are named
// in the error so a user knows they are planned.
var targetKinds = []string{TargetDocker, TargetSwarm, TargetKubernetes}

// An Environment is a place to deploy to, declared with environment() and
// selected with `--env NAME` (or FERRY_ENV).
type Environment struct {
	Name   string
	Target string // TargetDocker, TargetSwarm or TargetKubernetes
	Doc    string
	// Context, Namespace and Registry are a Kubernetes environment's: the
	// kubeconfig context ("" for the current one), the namespace ("" for
	// the context's, else default) and the registry that images built by
	// image() are pushed to for the cluster to pull.
	Context   string
	Namespace string
	Registry  string
	// PortAccess is how this machine reaches the declared ports of a
	// Kubernetes environment's services: PortForward or NodePort.
	PortAccess string
	Pos        syntax.Position // where it is declared
}

// Environments collects the environment() declarations of one evaluation:
// the Plugin's state (engine.EvaluationState[*Environments] reads it), from
// which the environment to deploy to is selected once evaluation is done.
type Environments struct {
	mu   sync.Mutex
	list []*Environment
}

// Select returns the environment named name, or nil for "" (no environment
// selected: the local Docker Engine). An unknown name is an error that
// lists the declared ones and suggests the closest.
func (e *Environments) Select(name string) (*Environment, error) {
	if name == "" {
		return nil, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var names []string
	for _, env := range e.list {
		if env.Name == name {
			return env, nil
		}
		names = append(names, env.Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("--env %s: ferry.star declares no environment; declare it, as in environment(%q, target = \"swarm\"), or drop --env (and FERRY_ENV) to deploy to the local Docker Engine", name, name)
	}
	msg := fmt.Sprintf("--env %s: ferry.star declares no environment %q", name, name)
	if s := engine.Suggest(name, names); s != "" {
		env := e.find(s)
		msg += fmt.Sprintf(" (did you mean %q, declared at %s?)", s, env.Pos)
	}
	return nil, fmt.Errorf("%s; the environments are %s", msg, strings.Join(names, ", "))
}

// All returns the declared environments, in the order ferry.star
// declares them.
func (e *Environments) All() []*Environment {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

func (e *Environments) find(name string) *Environment {
	for _, env := range e.list {
		if env.Name == name {
			return env
		}
	}
	return nil
}

func (e *Environments) add(env *Environment) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev := e.find(env.Name); prev != nil {
		return fmt.Errorf("environment %q is declared twice: it is already declared at %s", env.Name, prev.Pos)
	}
	e.list = append(e.list, env)
	return nil
}

// environmentBuiltin declares environment(), recording into the
// evaluation's Environments.
func environmentBuiltin() *engine.Builtin {
	return &engine.Builtin{
		Name:       "environment",
		Permission: "docker",
		Doc: "Declares an environment: a place to deploy the services and jobs to, selected with `ferry --env NAME` " +
			"(or the FERRY_ENV variable) for `up`, `status`, `logs` and `down`; `config.env` is the selected name. " +
			"Without `--env`, ferry deploys to the local Docker Engine, as with `target = \"docker\"`. " +
			"With `target = \"swarm\"` the same service rules become Docker Swarm services (see docs/swarm.md); " +
			"with `target = \"kubernetes\"` they become Deployments, Services and Jobs in the cluster the kubeconfig names (see docs/kubernetes.md).",
		Params: []engine.Param{
			{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "The name given to `--env`: lowercase letters, digits, `-` and `_`."},
			{Name: "target", Type: engine.String, Default: `"docker"`, Doc: "Where it deploys: `docker` (containers on the local Docker Engine), `swarm` (services on the Docker Swarm the Engine is a manager of) or `kubernetes` (the cluster of the kubeconfig: `KUBECONFIG`, else ~/.kube/config)."},
			{Name: "context", Type: engine.String, Doc: "Kubernetes only: the kubeconfig context to use (default: its current context)."},
			{Name: "namespace", Type: engine.String, Doc: "Kubernetes only: the namespace to deploy to (default: the context's, else `default`)."},
			{Name: "registry", Type: engine.String, Doc: "Kubernetes only: the registry (`host[:port][/path]`) that images built by image() are pushed to for the cluster to pull."},
			{Name: "port_access", Type: engine.String, Doc: "Kubernetes only: how this machine reaches the services' declared `ports`: `port-forward` (the default: ClusterIP Services, forwarded from loopback by `ferry port-forward` and `ferry watch`, a host port in `ports` being the local port) or `nodeport` (NodePort Services on every node, a host port in `ports` being the node port, 30000-32767)."},
			{Name: "doc", Type: engine.String, Doc: "What it is for."},
		},
		Returns: "the name.",
		Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
			if _, err := engine.Declaring(thread, c); err != nil {
				return nil, err
			}
			env := &Environment{Name: c.String("name"), Target: c.String("target"), Doc: c.String("doc"), Pos: c.Pos,
				Context: c.String("context"), Namespace: c.String("namespace"), Registry: c.String("registry"), PortAccess: c.String("port_access")}
			if env.Target == "" {
				env.Target = TargetDocker
			}
			if !validName(env.Name) {
				return nil, c.Errorf("name must be lowercase letters, digits, '-' and '_', starting with a letter or digit")
			}
			if !slices.Contains(targetKinds, env.Target) {
				msg := fmt.Sprintf("target: got %q, want %s", env.Target, strings.Join(targetKinds, " or "))
				if env.Target == "k8s" {
					msg += " (did you mean \"kubernetes\"?)"
				} else if s := engine.Suggest(env.Target, targetKinds); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				return nil, c.Errorf("%s", msg)
			}
			if env.Target != TargetKubernetes {
				for _, p := range []string{"context", "namespace", "registry", "port_access"} {
					if c.String(p) != "" {
						return nil, c.Errorf("%s: only a kubernetes environment takes it (target is %q)", p, env.Target)
					}
				}
			}
			switch env.PortAccess {
			case "":
				if env.Target == TargetKubernetes {
					env.PortAccess = PortForward
				}
			case PortForward, NodePort:
			default:
				return nil, c.Errorf("port_access: got %q, want %q or %q", env.PortAccess, PortForward, NodePort)
			}
			if err := engine.StateOf[*Environments](thread).add(env); err != nil {
				return nil, err
			}
			return starlark.String(env.Name), nil
		},
	}
}

// A SpecChecker is a Target that refuses, before anything runs, a service
// or job that it cannot deploy as declared.
type SpecChecker interface {
	CheckSpec(s *ServiceSpec) error
}

// CheckRules asks t, when it is a SpecChecker, about every service and job
// among rules; the error names the first one it refuses, with its position.
func CheckRules(rules []engine.Rule, t Target, env *Environment) error {
	c, ok := t.(SpecChecker)
	if !ok {
		return nil
	}
	for _, r := range rules {
		dr, ok := r.(*Rule)
		if !ok {
			continue
		}
		if err := c.CheckSpec(dr.spec); err != nil {
			return fmt.Errorf("%s: %s %q: %v (environment %s deploys to %s)", dr.info.Pos, dr.info.Kind, dr.spec.Name, err, env.Name, env.Target)
		}
	}
	return nil
}

// A TargetMaker makes the Target that services deploy to in an
// environment, or the local one for nil; each TargetKind has one.
type TargetMaker interface {
	For(env *Environment) Target
}

// TargetMakers makes each environment's target with the maker of its
// target kind, and the local one (and that of any kind not in ByKind)
// with Local: NewTargetMakers makes it from the kinds the domains
// register, and nothing else in the CLI knows which target an environment
// deploys to.
type TargetMakers struct {
	Local  TargetMaker
	ByKind map[string]TargetMaker
}

// For returns the target of env: its kind's maker's, else Local's.
func (t TargetMakers) For(env *Environment) Target {
	if env != nil {
		if m, ok := t.ByKind[env.Target]; ok {
			return m.For(env)
		}
	}
	return t.Local.For(env)
}

// SelectEnv makes the target of environment name ("" for none: the local
// target), among those that res, an evaluation with p, declared, the one
// that p's services deploy to. It fails as SelectTarget does; p.Target is
// left as it was when name is unknown.
func (p *Plugin) SelectEnv(res *engine.Result, name string, targets TargetMaker) error {
	t, err := SelectTarget(engine.EvaluationState[*Environments](res.Eval), name, res.Rules, targets)
	if t != nil {
		p.Target = t
	}
	return err
}

// SelectTarget finds the environment name ("" for none: the local target)
// among those envs declares and returns the target that services deploy
// to there, made by targets, with the error of CheckRules on rules when it
// refuses one of them. The target is nil only when name is unknown.
func SelectTarget(envs *Environments, name string, rules []engine.Rule, targets TargetMaker) (Target, error) {
	env, err := envs.Select(name)
	if err != nil {
		return nil, err
	}
	t := targets.For(env)
	if env == nil {
		return t, nil
	}
	return t, CheckRules(rules, t, env)
}
