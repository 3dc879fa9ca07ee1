package main

import (
	"slices"
	"testing"
)

// --env and FERRY_ENV select an environment, which config.env shows; an
// unknown one is an error that points at the closest declared one.
func TestEnvSelection(t *testing.T) {
	ws := newWorkspace(t, map[string]string{"ferry.star": `environment("staging", target = "swarm")
task(name = "show", cmd = "echo env=" + (config.env or "none"), cache = False)
`})
	for _, tc := range []struct {
		ferryEnv string
		args     []string
		want     string
	}{
		{"", []string{"run", "show"}, "env=none"},
		{"", []string{"--env", "staging", "run", "show"}, "env=staging"},
		{"staging", []string{"run", "show"}, "env=staging"},
	} {
		t.Setenv("FERRY_ENV", tc.ferryEnv)
		r := ws.ferryJSON(t, tc.args...)
		r.wantCode(t, 0)
		if out := r.output("show"); !slices.Contains(out, tc.want) {
			t.Errorf("FERRY_ENV=%q ferry %v printed %v, want %s", tc.ferryEnv, tc.args, out, tc.want)
		}
	}
	t.Setenv("FERRY_ENV", "")
	for _, args := range [][]string{{"--env", "stagin", "plan"}, {"--env", "stagin", "status"}, {"--env", "stagin", "down"}} {
		r := ws.ferry(t, args...)
		r.wantCode(t, 2)
		r.wantStderr(t, `--env stagin: ferry.star declares no environment "stagin" (did you mean "staging", declared at ferry.star:1:12?)`)
	}
}

// What a swarm cannot publish is refused when the environment is selected,
// before anything runs, with the line that declares it.
func TestSwarmRefusesPortRange(t *testing.T) {
	ws := newWorkspace(t, map[string]string{"ferry.star": `environment("staging", target = "swarm")
service(name = "web", image = "acme/web:1", replicas = 2, ports = ["8080-8081:8080"])
`})
	r := ws.ferry(t, "--env", "staging", "up")
	r.wantCode(t, 2)
	r.wantStderr(t, `ferry.star:2:8: service "web": ports: "8080-8081:8080/tcp": a swarm service publishes one host port for all its replicas`, "(environment staging deploys to swarm)")
	ws.ferry(t, "plan").wantCode(t, 0)
}
