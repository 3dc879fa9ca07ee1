package main

// End-to-end tests of docker.inspect against the real Docker Engine: what
// it tells of a service and a job, secrets kept opaque through every
// output of ferry, and its errors.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// inspectDockerfile bakes the secret's value into the image's environment
// and labels, which ferry does not control: docker.inspect must still
// return it wrapped, once ferry has read the secret.
const inspectDockerfile = `FROM scratch
COPY app /app
ENV BAKED="hunter2-\"s3cr3t\"/value&more" URL="postgres://u:hunter2-\"s3cr3t\"/value&more@db/shop"
LABEL baked="hunter2-\"s3cr3t\"/value&more"
ENTRYPOINT ["/app"]
`

const inspectRules = `tok = secret("tok", env = "FERRY_TEST_SECRET")
service(name = "web", image = "app-image", env = {"TOKEN": tok, "GREETING": "hi"}, ports = ["8080"], labels = {"team": "shop"})
job(name = "migrate", image = "app-image", env = {"EXIT_CODE": "0"})
service(name = "idle", image = "app-image")

def _check(ctx):
    info = docker.inspect("web")
    print("token:", info.env["TOKEN"], type(info.env["TOKEN"]))
    print("baked:", info.env["BAKED"], info.env["URL"], info.labels["baked"])
    print("plain:", info.env["GREETING"], info.labels["team"], info.labels["ferry.rule"])
    print("state:", info.name, info.state, info.exit_code, info.restart_count, info.health, info.image.startswith("ferrytest/app-"), info.image_id.startswith("sha256:"))
    print("ip:", info.ip)
    print("port:", info.ports["8080/tcp"])
    print("started:", type(info.started_at), info.started_at < time.now())
    print("env:", info.env)
    job = docker.inspect("migrate")
    print("job:", job.name, job.state, job.exit_code, job.ip)

def _concat(ctx):
    docker.inspect("web").env["TOKEN"] + "x"

def _unknown(ctx):
    docker.inspect("webb")

def _image(ctx):
    docker.inspect("app-image")

def _idle(ctx):
    docker.inspect("idle")

def _replica(ctx):
    docker.inspect("web", replica = 2)

def _frozen(ctx):
    docker.inspect("web").env["TOKEN"] = "x"

task(name = "check", run = _check, cache = False)
task(name = "try-concat", run = _concat, cache = False)
task(name = "try-unknown", run = _unknown, cache = False)
task(name = "try-image", run = _image, cache = False)
task(name = "try-idle", run = _idle, cache = False)
task(name = "try-replica", run = _replica, cache = False)
task(name = "try-frozen", run = _frozen, cache = False)
task(name = "idle-after-up", run = _idle, deps = ["idle"], cache = False)
`

func TestDockerInspect(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, inspectRules)
	dw.write(t, "app/Dockerfile", inspectDockerfile)
	dw.run(t, "up", "web", "migrate").wantCode(t, 0)

	events := filepath.Join(t.TempDir(), "events.json")
	r := dw.ferry(t, "--project", dw.project, "--events", events, "run", "check")
	r.wantCode(t, 0)
	ev, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	for where, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "--events": string(ev)} {
		wantNoLeak(t, where, out)
	}
	web := dw.project + "-web-1"
	r.wantStderr(t,
		"token: <secret tok> secret",
		"baked: <secret tok> <secret tok> <secret tok>",
		"plain: hi shop web",
		"state: "+web+" running 0 0 None True True",
		"ip: "+containerIP(t, web),
		"started: time.time True",
		`"TOKEN": <secret tok>`,
		"job: "+dw.project+"-migrate-job exited 0 None",
	)
	if !strings.Contains(string(ev), `"text":"token: \u003csecret tok\u003e secret"`) {
		t.Errorf("the --events file lacks what the action printed:\n%s", ev)
	}
	port := strings.TrimPrefix(r.stderr[strings.Index(r.stderr, "port: "):], "port: ")
	if n, err := strconv.Atoi(strings.Fields(port)[0]); err != nil || n <= 0 {
		t.Errorf("ports[\"8080/tcp\"] = %q, want the published host port", port)
	}

	for task, want := range map[string]string{
		"try-concat":  "ferry.star:22:40: secret tok cannot be used with +",
		"try-unknown": `ferry.star:25:19: docker.inspect "webb": ferry.star declares no service or job "webb" (did you mean "web"?); the services and jobs are idle, migrate, web. docker.inspect looks at the project's own containers only`,
		"try-image":   `ferry.star:28:19: docker.inspect "app-image": app-image is declared with image(), not service() or job()`,
		"try-idle":    `ferry.star:31:19: docker.inspect "idle": service idle has no container in project ` + dw.project + ": it is not up; run `ferry up idle` first, or add \"idle\" to the task's deps so that ferry runs it before the action",
		"try-replica": `ferry.star:34:19: docker.inspect "web": service web has no replica 2: it runs replica 1; choose one with replica = N`,
		"try-frozen":  "ferry.star:37:30: cannot insert into frozen hash table",
	} {
		r := dw.ferry(t, "--project", dw.project, "run", task)
		r.wantCode(t, exitFailed)
		r.wantStderr(t, want)
		wantNoLeak(t, task, r.stdout+r.stderr)
	}
	// As the error says: with the service in its deps, the task brings it up first.
	dw.ferry(t, "--project", dw.project, "run", "idle-after-up").wantCode(t, 0)
}

// After a rotation, until the next `ferry up`, the container keeps
// the older value, which this ferry never read: it stays wrapped, and so
// do the values baked into the image.
func TestDockerInspectAfterRotation(t *testing.T) {
	t.Parallel()
	env := secretEnv(t, leakValue)
	dw := newDockerWorkspace(t, strings.ReplaceAll(inspectRules, "FERRY_TEST_SECRET", env))
	dw.write(t, "app/Dockerfile", inspectDockerfile)
	dw.run(t, "up", "web", "migrate").wantCode(t, 0)
	os.Setenv(env, leakValue+"-rotated")
	r := dw.ferry(t, "--project", dw.project, "run", "check")
	r.wantCode(t, 0)
	wantNoLeak(t, "run", r.stdout+r.stderr)
	r.wantStderr(t, "token: <secret tok> secret", "baked: <secret tok> <secret tok> <secret tok>", `"TOKEN": <secret tok>`)
}

func TestDockerInspectAtLoadTime(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": `service(name = "web", image = "x")
info = docker.inspect("web")
`})
	r := ws.ferry(t, "graph")
	r.wantCode(t, exitConfig)
	r.wantStderr(t, "ferry.star:2:22: docker.inspect has effects, so it works only inside a run-time action (task(run = fn))")
}
