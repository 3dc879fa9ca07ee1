package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/console"
)

// serviceEvents returns the events of kind about service in the --events
// file at path.
func serviceEvents(t *testing.T, path string, kind engine.EventKind, service string) []console.Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []console.Record
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r console.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s: %v: %s", path, err, line)
		}
		if r.Kind == string(kind) && r.Service != nil && r.Service.Name == service {
			out = append(out, r)
		}
	}
	return out
}

// ferry up --follow converges, then reports a replica that keeps crashing:
// each death with its exit code and last lines, Docker's restarts, and the
// crash loop with its count and last exit code, on the console and as
// service events in --events. Ctrl-C ends it with 130.
func TestUpFollowCrashLoop(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "web", image = "app-image", env = {"SLEEP": "1", "EXIT_CODE": "3"}, restart = "always")`)
	p := dw.start(t, "--project", dw.project, "--events", "events.jsonl", "up", "--follow")
	eventually(t, "a crash loop report", func() bool { return strings.Contains(p.stderr.String(), "is in a crash loop") })
	// Each restart is counted in ferry's metrics, before it is reported.
	addr, err := os.ReadFile(filepath.Join(dw.dir, metricsAddrFile))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`ferry_container_restarts_total\{service="web"\} (\d+)`).FindStringSubmatch(httpGet(t, "http://"+strings.TrimSpace(string(addr))+"/metrics"))
	n := 0
	if m != nil {
		n, _ = strconv.Atoi(m[1])
	}
	if n < 3 {
		t.Errorf("ferry_container_restarts_total{service=\"web\"} is %d after a crash loop report, want 3 or more", n)
	}
	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	web := dw.project + "-web-1"
	r.wantStderr(t, "project "+dw.project+" is up",
		"following project "+dw.project,
		"web: "+web+" exited with code 3; its last log lines:\n    sleeping\n    bye: exiting on purpose",
		"web: Docker restarted "+web+" (restart 1 within 1m0s)",
		"web: "+web+" is in a crash loop: Docker restarted it 3 times in ",
		"last exit code 3 (ferry says so again every 30s while it lasts; `ferry logs web` shows more); its last log lines:\n    sleeping\n    bye: exiting on purpose")
	// The lines of the last run only, not those of every run.
	if !regexp.MustCompile(`is in a crash loop: [^\n]*; its last log lines:\n    sleeping\n    bye: exiting on purpose\n(\S|$)`).MatchString(r.stderr) {
		t.Errorf("the crash loop report does not end with the last run's lines:\n%s", r.stderr)
	}
	if n := strings.Count(r.stderr, "is in a crash loop"); n != 1 {
		t.Errorf("the crash loop was reported %d times, want once\n%s", n, r.stderr)
	}
	events := dw.path("events.jsonl")
	loops := serviceEvents(t, events, engine.EventServiceCrashLoop, "web")
	if len(loops) != 1 || loops[0].Level != engine.LevelError || loops[0].Service.Replica != web || loops[0].Service.Exit == nil ||
		loops[0].Service.Exit.Code != 3 || loops[0].Service.Restarts < 3 || !strings.HasPrefix(loops[0].Reason, web+" is in a crash loop: Docker restarted it ") {
		t.Errorf("service.crashloop events of web: %+v", loops)
	}
	if exits := serviceEvents(t, events, engine.EventServiceExit, "web"); len(exits) == 0 || exits[0].Service.Exit == nil || exits[0].Service.Exit.Code != 3 {
		t.Errorf("service.exit events of web: %+v", exits)
	}
	if restarts := serviceEvents(t, events, engine.EventServiceRestart, "web"); len(restarts) < 3 {
		t.Errorf("%d service.restart events of web, want 3 or more", len(restarts))
	}
}
