package main

// End-to-end tests of health checks against the real Docker Engine: ferry
// probes http and tcp checks, gates depends_on and up --wait on health, and
// shows it in status. The app (upAppMain) listens on :8080 after SLEEP
// seconds and answers "/healthcheck" mode with exit 0.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// startedAt is when the container started, as the Engine says.
func startedAt(t *testing.T, name string) time.Time {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "-f", "{{.State.StartedAt}}", name).Output()
	if err != nil {
		t.Fatalf("docker inspect %s: %v", name, err)
	}
	at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// up --wait returns once http and tcp checks pass, for a server that listens
// only after a delay; status shows them healthy.
func TestUpWaitHealthy(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "web", image = "app-image", env = {"SLEEP": "1"}, health = health.http("/", port = 8080, interval = "200ms", start_period = "10s"))
service(name = "db", image = "app-image", health = health.tcp(8080, interval = "200ms", start_period = "1m"))
`)
	r := dw.run(t, "up", "--wait")
	r.wantCode(t, 0)
	for _, s := range []string{"web", "db"} {
		if out := strings.Join(r.output(s), "\n"); !strings.Contains(out, s+" is healthy after") {
			t.Errorf("%s: no health reported in its output %q\n%s", s, out, r)
		}
	}
	// --wait returned, so web listens now (it slept 1s first).
	if got := httpGet(t, "http://"+containerIP(t, dw.project+"-web-1")+":8080/"); got != "hello \n" {
		t.Errorf("web answered %q", got)
	}
	st := dw.ferry(t, "--project", dw.project, "status", "--json")
	st.wantCode(t, 0)
	var list []struct{ Name, Health string }
	if err := json.Unmarshal([]byte(st.stdout), &list); err != nil {
		t.Fatalf("status --json: %v\n%s", err, st.stdout)
	}
	if len(list) != 2 || list[0].Health != "healthy" || list[1].Health != "healthy" {
		t.Errorf("status: %+v, want db and web healthy", list)
	}
}

// A check on a port the service does not listen on: up --wait fails naming
// the service, the probe errors and its last log lines; status shows it
// unhealthy; a service that depends on it is not started; a start period
// longer than --wait-timeout ends in a timeout that says it is starting.
func TestUpWaitUnhealthy(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "web", image = "app-image", health = health.http("/healthz", port = 9090, interval = "200ms", retries = 2))`)
	r := dw.run(t, "up", "--wait")
	r.wantCode(t, 1)
	r.wantStderr(t, "service web is unhealthy (if it only needs longer to start, give its check a start_period): "+dw.project+"-web-1 is unhealthy (health.http(GET :9090/healthz",
		"its last probe errors:", ":9090/healthz", "connection refused",
		"its last log lines:", "listening on :8080")

	st := dw.ferry(t, "--project", dw.project, "status")
	st.wantCode(t, 0)
	if !strings.Contains(st.stdout, "unhealthy") || !strings.Contains(st.stdout, "web is unhealthy: "+dw.project+"-web-1: ") || !strings.Contains(st.stdout, "refused") {
		t.Errorf("status does not show why web is unhealthy:\n%s", st.stdout)
	}

	dw.setRules(t, `service(name = "web", image = "app-image", health = health.http("/healthz", port = 9090, interval = "200ms", retries = 2))
service(name = "api", image = "app-image", depends_on = ["web"])
`)
	r = dw.run(t, "up")
	r.wantCode(t, 1)
	r.wantStderr(t, "depends_on: web did not become healthy, so api was not started: service web is unhealthy")
	for _, c := range dw.containers(t) {
		if strings.Contains(c, "-api-") {
			t.Errorf("api was started although web is unhealthy: %v", dw.containers(t))
		}
	}

	dw.setRules(t, `service(name = "web", image = "app-image", health = health.tcp(9090, interval = "200ms", start_period = "1m"))`)
	r = dw.run(t, "up", "--wait", "--wait-timeout", "2s")
	r.wantCode(t, 1)
	r.wantStderr(t, "service web is not healthy after 2s: "+dw.project+"-web-1 is starting (health.tcp(connect :9090", "refused", "listening on :8080")
}

// A service that depends on one with a health check starts only once that
// one is healthy: here, after it has slept 2 seconds and listens (within
// its start period, so the failed probes before do not count).
func TestUpDependsOnHealthy(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "db", image = "app-image", env = {"SLEEP": "2"}, health = health.tcp(8080, interval = "200ms", start_period = "10s"))
service(name = "api", image = "app-image", depends_on = ["db"])
`)
	r := dw.run(t, "up")
	r.wantCode(t, 0)
	out := strings.Join(r.output("api"), "\n")
	if !strings.Contains(out, "waiting for db to be healthy (health.tcp(connect :8080 every 200ms, timeout 2s, 3 retries, start period 10s))") || !strings.Contains(out, "db is healthy after") {
		t.Errorf("api's output does not show the wait:\n%s", out)
	}
	db, api := startedAt(t, dw.project+"-db-1"), startedAt(t, dw.project+"-api-1")
	if !api.After(db.Add(2 * time.Second)) {
		t.Errorf("api started at %s, before db (started %s) could listen after its 2s sleep", api, db)
	}
}

// exec checks are Docker's: up --wait returns once the Engine says healthy,
// and fails with what the failing check printed.
func TestUpWaitExec(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "web", image = "app-image", health = health.exec(["/app", "healthcheck"], interval = "500ms"))`)
	dw.run(t, "up", "--wait").wantCode(t, 0)
	if out, err := exec.Command("docker", "inspect", "-f", "{{.State.Health.Status}}", dw.project+"-web-1").Output(); err != nil || strings.TrimSpace(string(out)) != "healthy" {
		t.Errorf("up --wait returned while the Engine says %q (%v)", out, err)
	}
	dw.setRules(t, `service(name = "web", image = "app-image", health = health.exec(["/nope"], interval = "500ms", retries = 1))`)
	r := dw.run(t, "up", "--wait")
	r.wantCode(t, 1)
	r.wantStderr(t, "service web is unhealthy (if it only needs longer to start, give its check a start_period): "+dw.project+"-web-1 is unhealthy (health.exec(/nope", "its last failed check said:", "/nope")
	st := dw.ferry(t, "--project", dw.project, "status")
	if !strings.Contains(st.stdout, "web is unhealthy: "+dw.project+"-web-1: ") || !strings.Contains(st.stdout, "/nope") {
		t.Errorf("status does not show what the failing exec check printed:\n%s", st.stdout)
	}
}

// health.wait in a run-time action waits for an HTTP server or a TCP port,
// and says what it last got when it gives up.
func TestHealthWait(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok" {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	ws := newWorkspace(t, map[string]string{"ferry.star": fmt.Sprintf(`def _ok(ctx):
    health.wait(%[1]q)
    health.wait(%[2]q, timeout = "5s")
    print("both answered")

def _down(ctx):
    health.wait(%[3]q, timeout = "1s")

def _refused(ctx):
    health.wait(%[4]q, timeout = "1s")

task(name = "ok", run = _ok)
task(name = "down", run = _down)
task(name = "refused", run = _refused)
`, srv.URL+"/ok", strings.TrimPrefix(srv.URL, "http://"), srv.URL+"/down", closedAddr)})
	r := ws.ferry(t, "run", "ok")
	r.wantCode(t, 0)
	r.wantStderr(t, "both answered")
	r = ws.ferry(t, "run", "down")
	r.wantCode(t, 1)
	r.wantStderr(t, "ferry.star:7:16: health.wait: "+srv.URL+"/down did not answer within 1s; the last try got: GET "+srv.URL+"/down: answered 503 Service Unavailable")
	r = ws.ferry(t, "run", "refused")
	r.wantCode(t, 1)
	r.wantStderr(t, "ferry.star:10:16: health.wait: "+closedAddr+" did not answer within 1s; the last try got: dial tcp "+closedAddr, "refused")
}
