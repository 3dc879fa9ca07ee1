package main

// End-to-end tests of the swarm deploy target on a real single-node swarm.
// Initialising and leaving a swarm changes the whole daemon, so these tests
// take a cross-process lock (swarmtest), keep the swarm up only while they
// need it, and leave it even when they fail.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/swarmtest"
	"github.com/ferryhq/ferry/engine"
)

const swarmEnv = `environment("staging", target = "swarm")
`

// swarmServices lists the project's swarm services as "name replicas",
// sorted.
func (dw *dockerWorkspace) swarmServices(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("docker", "service", "ls", "--filter", "label=ferry.project="+dw.project, "--format", "{{.Name}} {{.Replicas}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if lines[0] == "" {
		return nil
	}
	slices.Sort(lines)
	return lines
}

// serviceField inspects one field of a swarm service with a Go template.
func serviceField(t *testing.T, service, format string) string {
	t.Helper()
	out, err := exec.Command("docker", "service", "inspect", "-f", format, service).CombinedOutput()
	if err != nil {
		t.Fatalf("docker service inspect %s: %v\n%s", service, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (dw *dockerWorkspace) swarmStatus(t *testing.T) map[string]deploy.ServiceStatus {
	t.Helper()
	r := dw.ferry(t, "--project", dw.project, "--env", "staging", "status", "--json")
	r.wantCode(t, 0)
	var list []deploy.ServiceStatus
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	out := map[string]deploy.ServiceStatus{}
	for _, s := range list {
		out[s.Name] = s
	}
	return out
}

// hostPort returns the host port of a status row's first published port.
func hostPort(t *testing.T, s deploy.ServiceStatus) string {
	t.Helper()
	if len(s.Ports) == 0 {
		t.Fatalf("%s publishes no port: %+v", s.Name, s)
	}
	addr, _, _ := strings.Cut(s.Ports[0], "->")
	return addr[strings.LastIndex(addr, ":")+1:]
}

// The swarm lifecycle: up creates the services with their replicas and
// labels, a second up changes nothing, a changed service is rolled over,
// status and logs show the tasks, down removes everything.
func TestSwarmLifecycle(t *testing.T) {
	t.Parallel()
	rules := swarmEnv + `service(name = "web", image = "app-image", env = {"GREETING": "%s"}, replicas = 2, ports = ["8080"],
        health = health.exec(["/app", "healthcheck"], interval = "1s", timeout = "1s", retries = 2))
service(name = "side", image = "app-image", ports = ["8080"], volumes = ["data:/data"], depends_on = ["migrate"],
        health = health.http("/", port = 8080, interval = "1s", start_period = "1m"), resources = {"memory": "64Mi"}, restart = "on-failure")
job(name = "migrate", image = "app-image", command = ["migrate"], volumes = ["data:/data"])
`
	dw := newDockerWorkspace(t, fmt.Sprintf(rules, "one"))
	// Build first, so the swarm is up only for what needs it.
	dw.run(t, "run", "app-image").wantCode(t, 0)
	swarmtest.Shared(t) // with the other parallel swarm tests
	t.Cleanup(func() {
		exec.Command(ferryBin, "-C", dw.dir, "--project", dw.project, "--env", "staging", "down").Run()
	})

	r := dw.run(t, "--env", "staging", "up", "--wait")
	r.wantCode(t, 0)
	if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
		r.wantStderr(t, "Swarm's ingress routing mesh and virtual-IP service addresses do not answer here; ferry publishes ports in host mode and gives services dnsrr endpoints")
	}
	if out := r.output("migrate"); !slices.Contains(out, "migrated") {
		t.Errorf("the job's output: %v", out)
	}
	web, side, migrate := dw.project+"_web", dw.project+"_side", dw.project+"_migrate"
	if got, want := strings.Join(dw.swarmServices(t), ", "), migrate+" 0/1 (1/1 completed), "+side+" 1/1, "+web+" 2/2"; got != want {
		t.Fatalf("services after up: %s, want %s\n%s", got, want, r)
	}
	labels := serviceField(t, web, `{{index .Spec.Labels "ferry.rule"}} {{index .Spec.Labels "ferry.kind"}} {{index .Spec.Labels "ferry.config"}}`)
	if f := strings.Fields(labels); len(f) != 3 || f[0] != "web" || f[1] != "service" || len(f[2]) != 64 {
		t.Errorf("web's labels: %q", labels)
	}
	if got := serviceField(t, web, "{{.Spec.EndpointSpec.Mode}} {{(index .Spec.EndpointSpec.Ports 0).PublishMode}} {{.Spec.TaskTemplate.ContainerSpec.Image}}"); !strings.HasPrefix(got, "dnsrr host sha256:") {
		t.Errorf("web's endpoint and image: %q, want dnsrr, host mode and an image ID", got)
	}
	if got := serviceField(t, web, "{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck.Test}}"); got != `["CMD","/app","healthcheck"]` {
		t.Errorf("web's health check: %s", got)
	}
	if got := serviceField(t, side, "{{.Spec.TaskTemplate.Resources.Limits.MemoryBytes}} {{.Spec.TaskTemplate.RestartPolicy.Condition}} {{(index .Spec.TaskTemplate.Networks 0).Aliases}}"); got != "67108864 on-failure [side]" {
		t.Errorf("side's resources, restart policy and network alias: %q", got)
	}
	st := dw.swarmStatus(t)
	if s := st["web"]; s.Replicas != 2 || s.Desired != 2 || s.State != "running" || len(s.Ports) != 2 {
		t.Errorf("status of web: %+v", s)
	}
	if s := st["side"]; s.Health != "healthy" || s.State != "running" {
		t.Errorf("status of side: %+v", s)
	}
	if s := st["migrate"]; s.State != "completed (exit 0)" {
		t.Errorf("status of migrate: %+v", s)
	}
	if got := httpGet(t, "http://127.0.0.1:"+hostPort(t, st["web"])+"/"); got != "hello one\n" {
		t.Errorf("web answered %q", got)
	}
	// The Docker target does not mistake task containers for its own.
	if local := dw.ferry(t, "--project", dw.project, "status"); !strings.Contains(local.stdout, "has no services running") {
		t.Errorf("status without --env shows swarm tasks:\n%s", local.stdout)
	}

	// Nothing changed: nothing runs, and no service is updated.
	version := serviceField(t, web, "{{.Version.Index}}")
	r = dw.run(t, "--env", "staging", "up")
	r.wantCode(t, 0)
	wantSet(t, "rules run by a no-op up", r.done(), nil, r)
	if again := serviceField(t, web, "{{.Version.Index}}"); again != version {
		t.Errorf("a no-op up updated web: version %s → %s", version, again)
	}

	// A changed service is rolled over one task at a time; side is left.
	sideVersion := serviceField(t, side, "{{.Version.Index}}")
	dw.setRules(t, fmt.Sprintf(rules, "two"))
	r = dw.run(t, "--env", "staging", "up")
	r.wantCode(t, 0)
	wantSet(t, "rules run", r.done(), []string{"web"}, r)
	// The swarm watches each new task for ready_after (5 s by default).
	if got := serviceField(t, web, "{{.Spec.UpdateConfig.Parallelism}} {{.Spec.UpdateConfig.Order}} {{.Spec.UpdateConfig.FailureAction}} {{.Spec.UpdateConfig.Monitor}}"); got != "1 start-first rollback 5s" {
		t.Errorf("web's update config: %q", got)
	}
	if serviceField(t, side, "{{.Version.Index}}") != sideVersion {
		t.Error("side was updated, though unchanged")
	}
	st = dw.swarmStatus(t)
	if got := httpGet(t, "http://127.0.0.1:"+hostPort(t, st["web"])+"/"); got != "hello two\n" {
		t.Errorf("web answered %q after the change", got)
	}
	if s := st["web"]; s.Health != "healthy" && s.Health != "starting" {
		t.Errorf("web's health: %+v", s)
	}

	// A definition whose tasks fail is rolled back by the swarm: up fails
	// saying so, and the previous definition keeps serving.
	dw.setRules(t, strings.Replace(fmt.Sprintf(rules, "two"), `"GREETING": "two"`, `"GREETING": "two", "EXIT_CODE": "3"`, 1))
	r = dw.run(t, "--env", "staging", "up")
	r.wantCode(t, 1)
	r.wantStderr(t, "the new definition failed, so the swarm rolled the service back to the previous one", "exited with code 3", "bye: exiting on purpose")
	st = dw.swarmStatus(t)
	if got := httpGet(t, "http://127.0.0.1:"+hostPort(t, st["web"])+"/"); got != "hello two\n" {
		t.Errorf("web answered %q after the rollback", got)
	}
	dw.setRules(t, fmt.Sprintf(rules, "two"))
	r = dw.run(t, "--env", "staging", "up")
	r.wantCode(t, 0)
	wantSet(t, "rules run by an up of the definition rolled back to", r.done(), nil, r)

	// Scaling adds a task and leaves the running ones alone.
	before := runningTasks(t, web)
	dw.setRules(t, strings.Replace(fmt.Sprintf(rules, "two"), "replicas = 2", "replicas = 3", 1))
	r = dw.run(t, "--env", "staging", "up")
	r.wantCode(t, 0)
	r.wantStderr(t, "scaling swarm service "+web+" from 2 to 3 replicas")
	after := runningTasks(t, web)
	if len(after) != 3 || !slices.Contains(after, before[0]) || !slices.Contains(after, before[1]) {
		t.Errorf("running tasks: %v before scaling to 3, %v after", before, after)
	}

	logs := dw.ferry(t, "--project", dw.project, "--env", "staging", "logs", "web")
	logs.wantCode(t, 0)
	if !strings.Contains(logs.stdout, "web-1 | listening on :8080") || !strings.Contains(logs.stdout, "web-2 | listening on :8080") {
		t.Errorf("logs:\n%s\n%s", logs.stdout, logs.stderr)
	}

	r = dw.run(t, "--env", "staging", "down")
	r.wantCode(t, 0)
	if left := dw.swarmServices(t); len(left) != 0 {
		t.Errorf("services left after down: %v", left)
	}
	if left := dw.containers(t); len(left) != 0 {
		t.Errorf("task containers left after down: %v", left)
	}
	if out, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "label=ferry.project="+dw.project).Output(); len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("network left after down: %s", out)
	}

	// A service with ferry's name that ferry does not own is left alone.
	ref := imageTag(t, dw.repo)
	if out, err := exec.Command("docker", "service", "create", "--detach", "--name", side, ref).CombinedOutput(); err != nil {
		t.Fatalf("docker service create: %v\n%s", err, out)
	}
	r = dw.run(t, "--env", "staging", "up", "side")
	r.wantCode(t, 1)
	r.wantStderr(t, "a swarm service named "+side+" already exists and ferry does not own it")
	dw.run(t, "--env", "staging", "down").wantCode(t, 0)
	if err := exec.Command("docker", "service", "inspect", side).Run(); err != nil {
		t.Errorf("down removed a service ferry does not own: %v", err)
	}
}

// Deploying to a swarm environment when the Engine is not in swarm mode
// says so, names the environment, and says how to initialise a swarm.
func TestSwarmNotInitialised(t *testing.T) {
	dw := newDockerWorkspace(t, swarmEnv+`service(name = "web", image = "app-image")
`)
	dw.run(t, "run", "app-image").wantCode(t, 0)
	swarmtest.Inactive(t)
	r := dw.run(t, "--env", "staging", "up")
	r.wantCode(t, 1)
	r.wantStderr(t, "environment staging (declared at ferry.star:3:12) deploys to Docker Swarm, but the Docker Engine is not in swarm mode",
		"docker swarm init --advertise-addr")
	st := dw.ferry(t, "--project", dw.project, "--env", "staging", "status")
	st.wantCode(t, 2)
	st.wantStderr(t, "not in swarm mode")
}

// runningTasks lists the IDs of a service's running tasks.
func runningTasks(t *testing.T, service string) []string {
	t.Helper()
	out, err := exec.Command("docker", "service", "ps", "-q", "--filter", "desired-state=running", service).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}

// swarmSecretAppMain serves the content of the file $FILE; with the
// argument fail, it prints it and exits 1.
const swarmSecretAppMain = `package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "fail" {
		b, err := os.ReadFile(os.Getenv("FILE"))
		fmt.Printf("file=%s err=%v\n", b, err)
		fmt.Println("failing on purpose")
		os.Exit(1)
	}
	if len(os.Args) > 1 && os.Args[1] == "job" {
		b, err := os.ReadFile(os.Getenv("FILE"))
		fmt.Printf("file=%s err=%v\n", b, err)
		return
	}
	b, _ := os.ReadFile(os.Getenv("FILE"))
	printWrapped(string(b), "\n")
	fmt.Println("listening on :8080")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(os.Getenv("FILE"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(b)
	})
	http.ListenAndServe(":8080", nil)
}
` + wrappedGo

// swarmSecrets lists the project's Swarm secrets by name, sorted.
func (dw *dockerWorkspace) swarmSecrets(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("docker", "secret", "ls", "--filter", "label=ferry.project="+dw.project, "--format", "{{.Name}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	list := strings.Fields(string(out))
	slices.Sort(list)
	return list
}

// secret_files on a swarm become Swarm secrets named by an HMAC of their
// value, mounted at the declared path; a new value (a plain up) makes a
// new secret, the service is updated to it and the old one removed; down
// removes them all. The value never shows in ferry's output, nor does its
// wrapped base64 in ferry logs.
func TestSwarmSecretFiles(t *testing.T) {
	t.Parallel()
	// The value is in a file, rotated by writing it: the environment is
	// the whole test process's.
	dw := newDockerWorkspace(t, swarmEnv+`tok = secret("tok", file = "tok.txt")
service(name = "web", image = "app-image", env = {"FILE": "/etc/app/tok.txt"}, ports = ["8080"],
        secret_files = {"/etc/app/tok.txt": tok})
job(name = "once", image = "app-image", command = ["job"], env = {"FILE": "/run/secrets/tok"}, secret_files = {"/run/secrets/tok": tok})
`)
	dw.write(t, "tok.txt", leakValue)
	dw.write(t, "app/main.go", swarmSecretAppMain)
	dw.run(t, "run", "app-image").wantCode(t, 0)
	swarmtest.Shared(t) // with the other parallel swarm tests
	t.Cleanup(func() {
		exec.Command(ferryBin, "-C", dw.dir, "--project", dw.project, "--env", "staging", "down").Run()
	})

	r := dw.run(t, "--env", "staging", "up")
	r.wantCode(t, 0)
	wantNoLeak(t, "up", r.stdout+r.stderr)
	if out := r.output("once"); !slices.Contains(out, "file=[redacted tok] err=<nil>") {
		t.Errorf("the job's output: %v", out)
	}
	all := dw.swarmSecrets(t)
	if len(all) != 2 || !strings.HasPrefix(all[0], dw.project+"_once_tok_") {
		t.Fatalf("swarm secrets after up: %v, want one of the job and one of the service", all)
	}
	secrets := all[1:]
	prefix := dw.project + "_web_tok.txt_"
	if !strings.HasPrefix(secrets[0], prefix) || len(secrets[0]) != len(prefix)+8 {
		t.Fatalf("swarm secrets after up: %v, want %s<hmac8>", all, prefix)
	}
	web := dw.project + "_web"
	if got := serviceField(t, web, `{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{.File.Name}}{{end}}`); got != secrets[0]+" /etc/app/tok.txt" {
		t.Errorf("web's secret references: %q", got)
	}
	if got := httpGet(t, "http://127.0.0.1:"+hostPort(t, dw.swarmStatus(t)["web"])+"/"); got != leakValue {
		t.Fatalf("the service read %q from its secret file", got)
	}
	// The task printed the value base64-encoded and wrapped over lines.
	logs := dw.ferry(t, "--project", dw.project, "--env", "staging", "logs", "web")
	logs.wantCode(t, 0)
	wantNoWrapped(t, "logs", logs.stdout+logs.stderr)
	if !strings.Contains(logs.stdout, "web-1 | "+wrappedRedacted) {
		t.Errorf("logs: want %q:\n%s%s", "web-1 | "+wrappedRedacted, logs.stdout, logs.stderr)
	}

	// Unchanged: nothing updated.
	version := serviceField(t, web, "{{.Version.Index}}")
	dw.run(t, "--env", "staging", "up", "--force").wantCode(t, 0)
	if again := serviceField(t, web, "{{.Version.Index}}"); again != version {
		t.Errorf("up --force with the same value updated web: version %s → %s", version, again)
	}

	// Rotation: a new secret, the service moves to it, the old one goes.
	dw.write(t, "tok.txt", leakValue+"-rotated")
	r = dw.run(t, "--env", "staging", "up")
	r.wantCode(t, 0)
	wantNoLeak(t, "up after rotation", r.stdout+r.stderr)
	rotated := dw.swarmSecrets(t)
	if len(rotated) != 2 || rotated[0] == all[0] || rotated[1] == secrets[0] || !strings.HasPrefix(rotated[1], prefix) {
		t.Fatalf("swarm secrets after rotation: %v (before: %v)\n%s", rotated, all, r)
	}
	r.wantStderr(t, "removed swarm secret "+secrets[0])
	if got := httpGet(t, "http://127.0.0.1:"+hostPort(t, dw.swarmStatus(t)["web"])+"/"); got != leakValue+"-rotated" {
		t.Fatalf("after rotation the service read %q", got)
	}

	r = dw.run(t, "--env", "staging", "down")
	r.wantCode(t, 0)
	if left := dw.swarmSecrets(t); len(left) != 0 {
		t.Errorf("swarm secrets left after down: %v", left)
	}
}

// A rotation whose update fails is rolled back by the swarm: up fails
// saying so and why, without the value; the rolled-back tasks use the old
// secret, which is still there, and the new one, which nothing uses, is
// removed. A later up of a fixed definition converges on the new value and
// removes the old secret; down leaves nothing of the project.
func TestSwarmSecretRotationRolledBack(t *testing.T) {
	t.Parallel()
	// The value is in a file, rotated by writing it: the environment is
	// the whole test process's.
	rules := swarmEnv + `tok = secret("tok", file = "tok.txt")
service(name = "web", image = "app-image", env = {"FILE": "/etc/app/tok.txt"}, ports = ["8080"],%s
        secret_files = {"/etc/app/tok.txt": tok})
`
	dw := newDockerWorkspace(t, fmt.Sprintf(rules, ""))
	dw.write(t, "tok.txt", leakValue)
	dw.write(t, "app/main.go", swarmSecretAppMain)
	dw.run(t, "run", "app-image").wantCode(t, 0)
	swarmtest.Shared(t) // with the other parallel swarm tests
	t.Cleanup(func() {
		exec.Command(ferryBin, "-C", dw.dir, "--project", dw.project, "--env", "staging", "down").Run()
	})
	web := dw.project + "_web"
	refs := func() string {
		return serviceField(t, web, `{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{.SecretName}} {{end}}`)
	}
	answer := func() string {
		return httpGet(t, "http://127.0.0.1:"+hostPort(t, dw.swarmStatus(t)["web"])+"/")
	}

	dw.run(t, "--env", "staging", "up").wantCode(t, 0)
	old := dw.swarmSecrets(t)
	if len(old) != 1 || refs() != old[0] {
		t.Fatalf("swarm secrets after up: %v; web references %q", old, refs())
	}

	// Rotate the value and, at the same time, make the new tasks exit.
	dw.write(t, "tok.txt", leakValue+"-rotated")
	dw.setRules(t, fmt.Sprintf(rules, ` command = ["fail"],`))
	r := dw.run(t, "--env", "staging", "up")
	r.wantCode(t, 1)
	wantNoLeak(t, "a rolled-back up", r.stdout+r.stderr)
	r.wantStderr(t, "swarm service "+web+": the new definition failed, so the swarm rolled the service back to the previous one",
		"exited with code 1", "file=[redacted tok] err=<nil>", "failing on purpose")
	if got := refs(); got != old[0] {
		t.Errorf("after the rollback web references %q, want %s", got, old[0])
	}
	if s := dw.swarmStatus(t)["web"]; s.Replicas != 1 || s.State != "rolled back" {
		t.Errorf("when the rolled-back up returned, web was %+v, want its replica running", s)
	}
	if got := answer(); got != leakValue {
		t.Errorf("after the rollback the service read %q", got)
	}
	if got := dw.swarmSecrets(t); len(got) != 1 || got[0] != old[0] {
		t.Errorf("swarm secrets after the rollback: %v, want only the old one, %s, which the service uses\n%s", got, old[0], r)
	}

	// Fixed: the service moves to the new value, and the old secret goes.
	dw.setRules(t, fmt.Sprintf(rules, ""))
	r = dw.run(t, "--env", "staging", "up")
	r.wantCode(t, 0)
	wantNoLeak(t, "up after the fix", r.stdout+r.stderr)
	r.wantStderr(t, "removed swarm secret "+old[0])
	rotated := dw.swarmSecrets(t)
	if len(rotated) != 1 || rotated[0] == old[0] || refs() != rotated[0] {
		t.Fatalf("swarm secrets after the fixed up: %v (before: %v); web references %q\n%s", rotated, old, refs(), r)
	}
	if got := answer(); got != leakValue+"-rotated" {
		t.Errorf("after the fixed up the service read %q", got)
	}

	dw.run(t, "--env", "staging", "down").wantCode(t, 0)
	if left := dw.swarmSecrets(t); len(left) != 0 {
		t.Errorf("swarm secrets left after down: %v", left)
	}
	if left := dw.swarmServices(t); len(left) != 0 {
		t.Errorf("services left after down: %v", left)
	}
	if out, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "label=ferry.project="+dw.project).Output(); len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("network left after down: %s", out)
	}
}

// ferry --env up --follow on a swarm environment follows the swarm's
// tasks, not the local Engine's containers: a task that exits is reported
// with its exit code and last lines, and the swarm's new task in its place,
// then a crash loop once a slot's tasks failed 3 times; --events has them
// as service events.
func TestSwarmUpFollow(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, swarmEnv+`service(name = "web", image = "app-image", env = {"SLEEP": "5", "EXIT_CODE": "3"}, restart = "always")
`)
	dw.run(t, "run", "app-image").wantCode(t, 0)
	swarmtest.Shared(t) // with the other parallel swarm tests
	t.Cleanup(func() {
		exec.Command(ferryBin, "-C", dw.dir, "--project", dw.project, "--env", "staging", "down").Run()
	})
	p := dw.start(t, "--project", dw.project, "--env", "staging", "--events", "events.jsonl", "up", "--follow")
	eventually(t, "a crash loop report", func() bool { return strings.Contains(p.stderr.String(), "is in a crash loop") })
	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	r.wantStderr(t, "following project "+dw.project,
		"web: task "+dw.project+"_web.1 exited with code 3; the swarm starts a new task in its place; its last log lines:\n    sleeping\n    bye: exiting on purpose",
		"web: task "+dw.project+"_web.1 is in a crash loop: its tasks failed 3 times in ",
		"last exited with code 3 (ferry says so again every 30s while it lasts; `ferry --env staging logs web` shows more); its last log lines:\n    sleeping\n    bye: exiting on purpose")
	if n := strings.Count(r.stderr, "exited with code 3;"); n != 2 {
		t.Errorf("%d single failures were reported, want 2 before the crash loop\n%s", n, r.stderr)
	}
	task := dw.project + "_web.1"
	events := dw.path("events.jsonl")
	if exits := serviceEvents(t, events, engine.EventServiceExit, "web"); len(exits) != 2 || exits[0].Service.Replica != task || exits[0].Service.Exit == nil || exits[0].Service.Exit.Code != 3 {
		t.Errorf("service.exit events of web: %+v", exits)
	}
	if restarts := serviceEvents(t, events, engine.EventServiceRestart, "web"); len(restarts) < 3 {
		t.Errorf("%d service.restart events of web, want 3 or more", len(restarts))
	}
	loops := serviceEvents(t, events, engine.EventServiceCrashLoop, "web")
	if len(loops) != 1 || loops[0].Service.Replica != task || loops[0].Service.Restarts != 3 || loops[0].Service.Exit == nil || loops[0].Service.Exit.Code != 3 {
		t.Errorf("service.crashloop events of web: %+v", loops)
	}
}
