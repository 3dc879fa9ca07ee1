package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
)

// evalEnvs evaluates src with env selected and returns what environment()
// declared.
func evalEnvs(t *testing.T, src, env string) (*Environments, *engine.Result, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ferry.star"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		Plugins:   []engine.Plugin{core.Plugin{Env: env}, fakeImagePlugin{}, &Plugin{Project: "p"}},
	})
	if err != nil {
		return nil, nil, err
	}
	return engine.EvaluationState[*Environments](res.Eval), res, nil
}

func TestEnvironmentSelect(t *testing.T) {
	src := `environment("staging", target = "swarm")
environment("local")
service(name = "web", image = "acme/web:1", replicas = {"staging": 3}.get(config.env, 1))
`
	envs, res, err := evalEnvs(t, src, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Rules[0].(*Rule); r.Spec().Replicas != 3 {
		t.Errorf("config.env did not select the staging value: %d replicas", r.Spec().Replicas)
	}
	env, err := envs.Select("staging")
	if err != nil || env.Target != TargetSwarm || env.Pos.String() != "ferry.star:1:12" {
		t.Errorf("staging: %+v, %v", env, err)
	}
	if env, err := envs.Select("local"); err != nil || env.Target != TargetDocker {
		t.Errorf("local defaults to the docker target: %+v, %v", env, err)
	}
	if env, err := envs.Select(""); env != nil || err != nil {
		t.Errorf("no selection: %+v, %v", env, err)
	}
	_, err = envs.Select("stagin")
	want := `--env stagin: ferry.star declares no environment "stagin" (did you mean "staging", declared at ferry.star:1:12?); the environments are staging, local`
	if err == nil || err.Error() != want {
		t.Errorf("unknown env:\n got %v\nwant %s", err, want)
	}
	_, res, err = evalEnvs(t, src, "")
	if err != nil || res.Rules[0].(*Rule).Spec().Replicas != 1 {
		t.Errorf("without --env, config.env is \"\": %v", err)
	}

	envs, _, err = evalEnvs(t, `service(name = "web", image = "acme/web:1")`, "prod")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envs.Select("prod"); err == nil || !strings.Contains(err.Error(), `ferry.star declares no environment; declare it, as in environment("prod", target = "swarm")`) {
		t.Errorf("no environments declared: %v", err)
	}
}

func TestEnvironmentPortAccess(t *testing.T) {
	envs, _, err := evalEnvs(t, `environment("a", target = "kubernetes")
environment("b", target = "kubernetes", port_access = "nodeport")
environment("local")
`, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": PortForward, "b": NodePort, "local": ""} {
		if env, _ := envs.Select(name); env.PortAccess != want {
			t.Errorf("%s: port access %q, want %q", name, env.PortAccess, want)
		}
	}
}

func TestEnvironmentErrors(t *testing.T) {
	for src, want := range map[string]string{
		`environment("staging", target = "swam")`:                            `ferry.star:1:12: environment "staging": target: got "swam", want docker or swarm or kubernetes (did you mean "swarm"?)`,
		`environment("staging", target = "k8s")`:                             `target: got "k8s", want docker or swarm or kubernetes (did you mean "kubernetes"?)`,
		`environment("staging", target = "swarm", namespace = "web")`:        `namespace: only a kubernetes environment takes it (target is "swarm")`,
		`environment("Staging")`:                                             `environment "Staging": name must be lowercase letters`,
		`environment("staging", target = "swarm", port_access = "nodeport")`: `port_access: only a kubernetes environment takes it (target is "swarm")`,
		`environment("k", target = "kubernetes", port_access = "ingress")`:   `port_access: got "ingress", want "port-forward" or "nodeport"`,
		"environment(\"prod\")\nenvironment(\"prod\", target = \"swarm\")":   `ferry.star:2:12: environment "prod" is declared twice: it is already declared at ferry.star:1:12`,
		`environment("prod", targets = "swarm")`:                             `unexpected keyword argument "targets" (did you mean "target"?)`,
	} {
		_, _, err := evalEnvs(t, src, "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %s", src, err, want)
		}
	}
}

// refuseUDP is a target that cannot publish UDP ports.
type refuseUDP struct{ Target }

func (refuseUDP) CheckSpec(s *ServiceSpec) error {
	for _, p := range s.Ports {
		if p.Protocol == "udp" {
			return errUDP
		}
	}
	return nil
}

var errUDP = errors.New("no udp here")

func TestCheckRules(t *testing.T) {
	envs, res, err := evalEnvs(t, `environment("edge", target = "swarm")
service(name = "web", image = "acme/web:1", ports = ["8080"])
service(name = "dns", image = "acme/dns:1", ports = ["53/udp"])
`, "edge")
	if err != nil {
		t.Fatal(err)
	}
	env, _ := envs.Select("edge")
	err = CheckRules(res.Rules, refuseUDP{}, env)
	if want := `ferry.star:3:8: service "dns": no udp here (environment edge deploys to swarm)`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// envTargets makes refuseUDP for an environment that deploys to swarm, and
// local otherwise.
type envTargets struct{ local Target }

func (m envTargets) For(env *Environment) Target {
	if env != nil && env.Target == TargetSwarm {
		return refuseUDP{}
	}
	return m.local
}

func TestSelectTarget(t *testing.T) {
	envs, res, err := evalEnvs(t, `environment("edge", target = "swarm")
environment("dev")
service(name = "dns", image = "acme/dns:1", ports = ["53/udp"])
`, "edge")
	if err != nil {
		t.Fatal(err)
	}
	local := &fakeTarget{}
	for _, name := range []string{"", "dev"} {
		if got, err := SelectTarget(envs, name, res.Rules, envTargets{local}); err != nil || got != local {
			t.Errorf("SelectTarget(%q) = %v, %v; want the local target", name, got, err)
		}
	}
	got, err := SelectTarget(envs, "edge", res.Rules, envTargets{local})
	if _, ok := got.(refuseUDP); !ok || err == nil || !strings.Contains(err.Error(), "environment edge deploys to swarm") {
		t.Errorf("SelectTarget(edge) = %v, %v; want the swarm target, refusing dns", got, err)
	}
	if got, err := SelectTarget(envs, "prod", res.Rules, envTargets{local}); got != nil || err == nil {
		t.Errorf("SelectTarget(prod) = %v, %v; want an unknown environment's error", got, err)
	}
}

// The Plugin's target becomes that of the environment selected, and
// stays as it was for an unknown one.
func TestPluginSelectEnv(t *testing.T) {
	_, res, err := evalEnvs(t, `environment("edge", target = "swarm")
environment("dev")
service(name = "web", image = "acme/web:1")
`, "edge")
	if err != nil {
		t.Fatal(err)
	}
	local := &fakeTarget{}
	p := &Plugin{Project: "p", Target: local}
	if err := p.SelectEnv(res, "edge", envTargets{local}); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Target.(refuseUDP); !ok {
		t.Errorf("after selecting edge, the target is %T, want the swarm one", p.Target)
	}
	if err := p.SelectEnv(res, "prod", envTargets{local}); err == nil {
		t.Error("an unknown environment was selected")
	}
	if _, ok := p.Target.(refuseUDP); !ok {
		t.Errorf("an unknown environment changed the target to %T", p.Target)
	}
	if err := p.SelectEnv(res, "", envTargets{local}); err != nil || p.Target != local {
		t.Errorf("no environment: target %T, %v; want the local one", p.Target, err)
	}
}

func TestEnvironmentKubernetes(t *testing.T) {
	envs, _, err := evalEnvs(t, `environment("prod", target = "kubernetes", context = "ci", namespace = "web", registry = "127.0.0.1:5000/acme")`, "prod")
	if err != nil {
		t.Fatal(err)
	}
	env, err := envs.Select("prod")
	if err != nil {
		t.Fatal(err)
	}
	if env.Target != TargetKubernetes || env.Context != "ci" || env.Namespace != "web" || env.Registry != "127.0.0.1:5000/acme" {
		t.Errorf("got %+v", env)
	}
}
