package local

// Rolling updates against the real Engine, checked with the Engine's own
// event log (docker events) and with HTTP requests to the replicas while
// the rollout runs.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
)

// versionSrc serves its VERSION on / and /healthz; with BROKEN set,
// /healthz answers 503; with CRASH_AFTER (a duration) it exits with 1
// after that long; with EAT_AFTER, it then takes memory until it is killed.
const versionSrc = `package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if d, err := time.ParseDuration(os.Getenv("CRASH_AFTER")); err == nil {
		time.Sleep(d)
		fmt.Println("crashing on purpose")
		os.Exit(1)
	}
	if d, err := time.ParseDuration(os.Getenv("EAT_AFTER")); err == nil {
		time.Sleep(d)
		fmt.Println("eating memory")
		var keep [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			keep = append(keep, b)
		}
	}
	v := os.Getenv("VERSION")
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if os.Getenv("BROKEN") != "" {
			http.Error(w, "broken on purpose", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, v) })
	fmt.Println("serving", v)
	http.ListenAndServe(":8080", nil)
}
`

// versionImage builds a FROM scratch image of versionSrc, removed when the
// test ends.
func versionImage(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	files := map[string]string{
		"main.go":    versionSrc,
		"go.mod":     "module example.com/version\n\ngo 1.22\n",
		"Dockerfile": "FROM scratch\nCOPY server /server\nENTRYPOINT [\"/server\"]\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-o", "server", ".")
	build.Dir, build.Env = dir, append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	tag := "ferrytest/version-" + dockertest.RandomHex(tb)
	docker := exec.Command("docker", "build", "-q", "-t", tag, dir)
	docker.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := docker.CombinedOutput(); err != nil {
		tb.Fatalf("docker build: %v\n%s", err, out)
	}
	tb.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

// rolloutFixture is a project on the real Engine running versionSrc.
type rolloutFixture struct {
	target  *Target
	project string
	image   string
}

func newRolloutFixture(t *testing.T) *rolloutFixture {
	c := dockertest.NeedDocker(t)
	f := &rolloutFixture{target: NewTarget(c, nil), project: "ferrytest-" + dockertest.RandomHex(t), image: versionImage(t)}
	t.Cleanup(func() { f.target.Down(context.Background(), f.project, true) })
	return f
}

// deployment is the service web at version, with n replicas and an http
// check; key is its config hash.
//
// The check has a start period, as a replica may take seconds to listen on
// a loaded machine: the probes failing meanwhile do not count, and the
// first that passes ends it, so a working replica is no slower. A BROKEN
// one is unhealthy only once its period is over, so that is shorter, still
// long enough for it to answer 503 rather than refuse connections (with
// none, TestRollingUpdateUnhealthy saw only refused connections under
// load). A CRASH_AFTER one keeps none.
func (f *rolloutFixture) deployment(key byte, n int, env map[string]string, ports ...deploy.Port) *deploy.Deployment {
	health := &deploy.HealthCheck{Kind: "http", Path: "/healthz", Port: 8080, Interval: 100 * time.Millisecond, Timeout: time.Second, Retries: 2}
	switch {
	case env["BROKEN"] != "":
		health.StartPeriod = 10 * time.Second
	case env["CRASH_AFTER"] == "":
		health.StartPeriod = 30 * time.Second
	}
	return &deploy.Deployment{Project: f.project, Image: f.image, Key: engine.Digest{key}, Spec: &deploy.ServiceSpec{
		Name: "web", Replicas: n, Restart: "unless-stopped", Env: env, Ports: ports, Health: health,
	}}
}

// answers returns what each running replica of the project answers on /,
// by container name; a replica that does not answer is left out.
func (f *rolloutFixture) answers(ctx context.Context) (map[string]string, error) {
	list, err := f.target.c.Containers(ctx, map[string]string{objects.LabelProject: f.project})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range list {
		if c.State != "running" {
			continue
		}
		ep, err := f.target.c.InspectEndpoints(ctx, c.ID)
		if err != nil {
			continue // removed meanwhile
		}
		if body, err := get(ctx, "http://"+ep.IPs[NetworkName(f.project)]+":8080/"); err == nil {
			out[c.Name] = body
		}
	}
	return out, nil
}

// get returns the body url answers; its timeout only bounds how long a
// replica that does not answer holds up the caller, generous for a loaded
// machine.
func get(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

// sample asks every replica for its version every 20ms until stop is
// closed, and returns the fewest replicas that answered in one round.
func (f *rolloutFixture) sample(t *testing.T, stop chan struct{}) func() int {
	fewest, rounds := 1<<30, 0
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			got, err := f.answers(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			fewest, rounds = min(fewest, len(got)), rounds+1
		}
	})
	return func() int {
		close(stop)
		wg.Wait()
		if rounds == 0 {
			t.Fatal("no sampling round ran during the rollout")
		}
		return fewest
	}
}

// engineEvent is one line of `docker events --format '{{json .}}'`.
type engineEvent struct {
	Action   string
	TimeNano int64
	Actor    struct {
		ID         string
		Attributes map[string]string
	}
}

// engineEvents returns the project's container events from since until now,
// in order, as the Engine logged them.
func engineEvents(t *testing.T, project string, since time.Time) []engineEvent {
	t.Helper()
	cmd := exec.Command("docker", "events", "--format", "{{json .}}", "--filter", "type=container", "--filter", "label=ferry.project="+project,
		"--since", fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()), "--until", fmt.Sprintf("%d", time.Now().Add(time.Second).Unix()))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker events: %v", err)
	}
	var evs []engineEvent
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var e engineEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("docker events: %v: %s", err, sc.Text())
		}
		evs = append(evs, e)
	}
	return evs
}

// replay follows the events from the state before them (existing
// containers, all running) and returns the most containers that existed
// and the fewest that ran at any point.
func replay(evs []engineEvent, existing int) (most, fewest int) {
	running := existing
	most, fewest = existing, existing
	for _, e := range evs {
		switch e.Action {
		case "create":
			existing++
		case "destroy":
			existing--
		case "start":
			running++
		case "die":
			running--
		}
		most, fewest = max(most, existing), min(fewest, running)
	}
	return most, fewest
}

// wantVersions checks the project's containers: the names given, each
// answering version.
func (f *rolloutFixture) wantVersions(t *testing.T, ctx context.Context, version string, names ...string) {
	t.Helper()
	got, err := f.answers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, n := range names {
		want[f.project+"-"+n] = version
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("replicas answer %v, want %v", got, want)
	}
}

// A changed service of 3 replicas is replaced one replica at a time, start
// first: never more than 4 containers, never fewer than 3 running, and
// some replica answers throughout.
func TestRollingUpdate(t *testing.T) {
	t.Parallel()
	f := newRolloutFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.target.Deploy(ctx, f.deployment(1, 3, map[string]string{"VERSION": "v1"}), io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := deploy.WaitHealthy(ctx, f.target, f.deployment(1, 3, nil), time.Minute, io.Discard); err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	done := f.sample(t, make(chan struct{}))
	var log strings.Builder
	if err := f.target.Deploy(ctx, f.deployment(2, 3, map[string]string{"VERSION": "v2"}), &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if fewest := done(); fewest == 0 {
		t.Errorf("a moment came when no replica answered\n%s", log.String())
	}
	for i := 1; i <= 3; i++ {
		if want := fmt.Sprintf("replica %d/3 updated: %s-web-", i, f.project); !strings.Contains(log.String(), want) {
			t.Errorf("no progress line %q in\n%s", want, log.String())
		}
	}
	evs := engineEvents(t, f.project, since)
	most, fewest := replay(evs, 3)
	if most > 4 || fewest < 3 {
		t.Errorf("during the rollout up to %d containers existed and as few as %d ran; want at most 4 and at least 3\n%s", most, fewest, log.String())
	}
	var creates int
	for _, e := range evs {
		if e.Action == "create" {
			creates++
		}
	}
	if creates != 3 {
		t.Errorf("%d containers created, want 3", creates)
	}
	f.wantVersions(t, ctx, "v2", "web-1", "web-2", "web-3")
}

// update = {"parallelism": 2} replaces 2 replicas at a time: start-first,
// up to 2 containers more than the replicas; stop-first, 2 replicas
// fewer running.
func TestRollingUpdateParallel(t *testing.T) {
	t.Parallel()
	f := newRolloutFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.target.Deploy(ctx, f.deployment(1, 4, map[string]string{"VERSION": "v1"}), io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key            byte
		order, version string
		most, fewest   int
	}{
		// Both new replicas of a batch are created before either waited
		// for its first probe, so the most is reached.
		{2, deploy.StartFirst, "v2", 6, 4},
		{3, deploy.StopFirst, "v3", 6, 2},
	} {
		d := f.deployment(tc.key, 4, map[string]string{"VERSION": tc.version})
		d.Spec.Update = deploy.UpdatePolicy{Order: tc.order, Parallelism: 2}
		since := time.Now()
		var log strings.Builder
		if err := f.target.Deploy(ctx, d, &log); err != nil {
			t.Fatalf("%s: %v\n%s", tc.order, err, log.String())
		}
		most, fewest := replay(engineEvents(t, f.project, since), 4)
		if most != tc.most || fewest != tc.fewest {
			t.Errorf("%s, 2 at a time: up to %d containers existed and as few as %d ran; want %d and %d\n%s", tc.order, most, fewest, tc.most, tc.fewest, log.String())
		}
		if tc.order == deploy.StopFirst && !strings.Contains(log.String(), "first: update order stop-first") {
			t.Errorf("the log does not say why replicas are stopped first:\n%s", log.String())
		}
		f.wantVersions(t, ctx, tc.version, "web-1", "web-2", "web-3", "web-4")
	}
}

// freePortPair returns a host port P such that P and P+1 were free a moment
// ago. It picks them in 20000-29999, below the kernel's ephemeral ports
// (32768 and up by default), where a port that Listen(":0") chose could be
// taken, before Docker binds it, as the source port of any connection the
// machine's other tests make, and below the 30000-32767 that a swarm, which
// another package's test may run, gives its published ports.
func freePortPair(t *testing.T) int {
	free := func(p int) bool {
		l, err := net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", p))
		if err != nil {
			return false
		}
		l.Close()
		return true
	}
	for range 1000 {
		if p := 20000 + mathrand.IntN(9999); free(p) && free(p+1) {
			return p
		}
	}
	t.Fatal("no two free host ports in a row in 20000-29999")
	return 0
}

// With fixed host ports, each old replica is stopped before its new one
// starts; a new version that fails its check has its replica removed and
// the stopped old one started again.
func TestRollingUpdateStopFirst(t *testing.T) {
	t.Parallel()
	f := newRolloutFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Two ports in a row for the range "P-P+1:8080".
	port := freePortPair(t)
	published := deploy.Port{HostStart: port, HostEnd: port + 1, Container: 8080, Protocol: "tcp"}
	if err := f.target.Deploy(ctx, f.deployment(1, 2, map[string]string{"VERSION": "v1"}, published), io.Discard); err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	var log strings.Builder
	if err := f.target.Deploy(ctx, f.deployment(2, 2, map[string]string{"VERSION": "v2"}, published), &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "stopping "+f.project+"-web-1 first: its fixed host port") {
		t.Errorf("the log does not say why it stops first:\n%s", log.String())
	}
	evs := engineEvents(t, f.project, since)
	most, fewest := replay(evs, 2)
	if most > 3 || fewest < 1 {
		t.Errorf("up to %d containers existed and as few as %d ran; want at most 3 and at least 1", most, fewest)
	}
	// Each new replica starts after the old one of its slot died.
	died := map[string]bool{}
	for _, e := range evs {
		slot := e.Actor.Attributes[objects.LabelReplica]
		switch {
		case e.Action == "die":
			died[slot] = true
		case e.Action == "start" && !died[slot]:
			t.Errorf("a new replica %s started before the old replica %s stopped", e.Actor.Attributes["name"], slot)
		}
	}
	for _, p := range []int{port, port + 1} {
		if got, err := get(ctx, fmt.Sprintf("http://127.0.0.1:%d/", p)); err != nil || got != "v2" {
			t.Errorf("host port %d answers %q (%v), want v2", p, got, err)
		}
	}

	// A version that never becomes healthy: its first replica is removed,
	// the old one started again, and the port serves v2 still.
	err := f.target.Deploy(ctx, f.deployment(3, 2, map[string]string{"VERSION": "v3", "BROKEN": "1"}, published), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "and started the old "+f.project+"-web-1 again") {
		t.Fatalf("a broken version: got %v", err)
	}
	// The old replica is started again, not waited for: give it time to listen.
	var got string
	for deadline := time.Now().Add(time.Minute); got != "v2" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got, err = get(ctx, fmt.Sprintf("http://127.0.0.1:%d/", port))
	}
	if got != "v2" {
		t.Errorf("host port %d answers %q (%v) after the failed rollout, want v2", port, got, err)
	}
	f.wantVersions(t, ctx, "v2", "web-1", "web-2")
}

// A new version that never becomes healthy stops the rollout at its first
// replica: that one is removed, the old replicas keep serving, and the
// error names the service, the replica, the probe errors and its last log
// lines. The next Deploy of a good version goes through.
func TestRollingUpdateUnhealthy(t *testing.T) {
	t.Parallel()
	f := newRolloutFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.target.Deploy(ctx, f.deployment(1, 3, map[string]string{"VERSION": "v1"}), io.Discard); err != nil {
		t.Fatal(err)
	}
	err := f.target.Deploy(ctx, f.deployment(2, 3, map[string]string{"VERSION": "v2", "BROKEN": "1"}), io.Discard)
	if err == nil {
		t.Fatal("a version that never becomes healthy was rolled out")
	}
	for _, want := range []string{
		"rollout of web stopped: its new replica 1 did not become healthy, so ferry removed it; the old replicas keep serving (0 of 3 replicas run the new definition)",
		"`ferry up` again",
		f.project + "-web-1-02000000 is unhealthy",
		"answered 503 Service Unavailable",
		"its last log lines:\n    serving v2",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	f.wantVersions(t, ctx, "v1", "web-1", "web-2", "web-3")

	if err := f.target.Deploy(ctx, f.deployment(3, 3, map[string]string{"VERSION": "v3"}), io.Discard); err != nil {
		t.Fatal(err)
	}
	f.wantVersions(t, ctx, "v3", "web-1", "web-2", "web-3")

	// Without a health check, a new replica must keep running.
	crash := f.deployment(4, 3, map[string]string{"CRASH_AFTER": "0s"})
	crash.Spec.Health, crash.Spec.Restart = nil, "no"
	err = f.target.Deploy(ctx, crash, io.Discard)
	want := "rollout of web stopped: its new replica 1 did not keep running, so ferry removed it; the old replicas keep serving (0 of 3 replicas run the new definition); fix it and run `ferry up` again to resume the rollout: " +
		f.project + "-web-1-04000000 exited at once with code 1; its last log lines:\n    crashing on purpose"
	if err == nil || err.Error() != want {
		t.Errorf("a version that exits at once: got\n%v\nwant\n%s", err, want)
	}
	f.wantVersions(t, ctx, "v3", "web-1", "web-2", "web-3")
}

// Cancelling a rollout (Ctrl-C) while a new replica is starting removes
// that replica and leaves the old ones as they were: cancelled at once,
// while the Engine creates it (which it finishes all the same), and while
// it is probed within its start period.
func TestRollingUpdateInterrupted(t *testing.T) {
	t.Parallel()
	f := newRolloutFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.target.Deploy(ctx, f.deployment(1, 2, map[string]string{"VERSION": "v1"}), io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, after := range []time.Duration{0, 300 * time.Millisecond} {
		slow := f.deployment(2, 2, map[string]string{"VERSION": "v2", "BROKEN": "1"})
		slow.Spec.Health.StartPeriod = time.Minute
		rctx, stop := context.WithCancel(ctx)
		var log syncBuilder
		done := make(chan error, 1)
		go func() { done <- f.target.Deploy(rctx, slow, &log) }()
		for deadline := time.Now().Add(30 * time.Second); !strings.Contains(log.String(), "starting "+f.project+"-web-1-02000000"); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the rollout did not start a new replica")
			}
		}
		time.Sleep(after)
		stop()
		if err := <-done; err != context.Canceled {
			t.Fatalf("a rollout cancelled %s after starting a replica returned %v", after, err)
		}
		f.wantVersions(t, ctx, "v1", "web-1", "web-2")
		list, err := f.target.c.Containers(ctx, map[string]string{objects.LabelProject: f.project})
		if err != nil || len(list) != 2 {
			t.Errorf("after a rollout cancelled %s after starting a replica: %v containers (%v), want the 2 old ones", after, len(list), err)
		}
	}
}

// syncBuilder is a strings.Builder safe for a writer and a reader.
type syncBuilder struct {
	mu sync.Mutex
	sb strings.Builder
}

func (b *syncBuilder) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.Write(p)
}

func (b *syncBuilder) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.String()
}
