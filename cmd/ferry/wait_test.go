package main

// End-to-end tests of how up --wait and ci wait for services: a replica is
// ready only once it has stayed up for ready_after without a restart, and
// the first service that fails ends the wait.

import (
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine"
)

// A service that exits 3 seconds after its start, with Docker restarting
// it (the default restart policy) and without: up --wait fails with its
// exit code and last log lines, though it ran when up returned.
func TestUpWaitCrashAfterStart(t *testing.T) {
	t.Parallel()
	for _, restart := range []string{"unless-stopped", "no"} {
		t.Run(restart, func(t *testing.T) {
			dw := newDockerWorkspace(t, `service(name = "web", image = "app-image", restart = "`+restart+`", env = {"SLEEP": "3", "EXIT_CODE": "3"})`)
			r := dw.run(t, "up", "--wait")
			r.wantCode(t, 1)
			r.wantStderr(t, "service web ", dw.project+"-web-1", "code 3", "its last log lines:", "bye: exiting on purpose")
		})
	}
}

// ferry ci fails the stage of a service that exits seconds after its start,
// with Docker restarting it: its JUnit case fails as a crash loop and says
// why, and --events has the service.crashloop event, with the exit code.
func TestCiCrashAfterStart(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "web", image = "app-image", env = {"SLEEP": "3", "EXIT_CODE": "3"})
task(name = "check", cmd = "echo checked")
pipeline("ci", stages = [["app-image"], ["web"], ["check"]])
`)
	r := dw.run(t, "--events", "events.jsonl", "ci", "--junit", "report.xml")
	r.wantCode(t, 1)
	rep := readJUnit(t, dw.path("report.xml"))
	web := testcase(t, suite(t, rep, "stage 2: web"), "web")
	if web.Failure == nil || web.Failure.Type != "crash loop" || !strings.Contains(web.Failure.Message, "code 3") || !strings.Contains(web.Failure.Message, "bye: exiting on purpose") {
		t.Errorf("web's case does not fail as a crash loop with the exit code and the last lines: %+v\n%s", web.Failure, r)
	}
	loops := serviceEvents(t, dw.path("events.jsonl"), engine.EventServiceCrashLoop, "web")
	if len(loops) != 1 || loops[0].Service.Replica != dw.project+"-web-1" || loops[0].Service.Exit == nil || loops[0].Service.Exit.Code != 3 ||
		loops[0].Reason != web.Failure.Message {
		t.Errorf("service.crashloop events of web: %+v", loops)
	}
	if check := testcase(t, suite(t, rep, "stage 3: check"), "check"); check.Skipped == nil {
		t.Errorf("check ran after a stage whose service crashed: %+v", check)
	}
}

// One service unhealthy at once, another that takes minutes to start:
// up --wait fails naming the unhealthy one, long before its 5-minute
// timeout (the test's own limit, waitLimit, is 2 minutes), and does not
// report the other as failed.
func TestUpWaitFailsFast(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "sick", image = "app-image", health = health.http("/healthz", port = 9090, interval = "200ms", retries = 2))
service(name = "slow", image = "app-image", env = {"SLEEP": "600"}, health = health.tcp(8080, interval = "200ms", start_period = "10m"))
`)
	r := dw.run(t, "up", "--wait", "--wait-timeout", "5m")
	r.wantCode(t, 1)
	r.wantStderr(t, "service sick is unhealthy", "stopped waiting for slow once sick failed")
	if strings.Contains(r.stderr, "service slow") {
		t.Errorf("slow is reported although only sick failed:\n%s", r)
	}
}

// A rollout (of 2 replicas: 1 is recreated) whose new replica crashes before it is ready fails, and the
// crash loop is an event (service.crashloop) with the exit code, as it is
// when a wait finds it.
func TestRolloutCrashLoopEvent(t *testing.T) {
	t.Parallel()
	svc := func(env string) string {
		return `service(name = "web", image = "app-image", replicas = 2, health = health.tcp(8080, interval = "200ms", start_period = "1m"), env = {` + env + `})`
	}
	dw := newDockerWorkspace(t, svc(`"V": "1"`))
	dw.run(t, "up").wantCode(t, 0)
	dw.setRules(t, svc(`"V": "2", "SLEEP": "2", "EXIT_CODE": "3"`))
	r := dw.run(t, "--events", "events.jsonl", "up")
	r.wantCode(t, 1)
	loops := serviceEvents(t, dw.path("events.jsonl"), engine.EventServiceCrashLoop, "web")
	if len(loops) != 1 || loops[0].Service.Exit == nil || loops[0].Service.Exit.Code != 3 {
		t.Errorf("service.crashloop events of web's rollout: %+v\n%s", loops, r)
	}
}
