package local

// A Docker Engine that fails chosen calls: a unix socket in front of the
// real Engine's that passes every call through, except those a test picks,
// which get a 500 as from an Engine in trouble. Rolling updates interrupted
// by such failures are tested against it.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/docker/objects"
)

// A faultProxy passes the Engine's API calls through to the real Engine,
// and answers those that its fail function picks with a 500 and the
// message "injected failure of METHOD PATH".
type faultProxy struct {
	host string // DOCKER_HOST for a client of the proxy

	mu     sync.Mutex
	fail   func(r *http.Request) bool
	failed []string // "METHOD PATH" of each call it failed
}

// newFaultProxy starts a proxy in front of the Engine that DOCKER_HOST (or
// the default socket) names, which must be a unix socket, and stops it when
// the test ends. It fails no call until setFail says which.
func newFaultProxy(t *testing.T) *faultProxy {
	t.Helper()
	upstream := os.Getenv("DOCKER_HOST")
	if upstream == "" {
		upstream = "unix:///var/run/docker.sock"
	}
	sock, ok := strings.CutPrefix(upstream, "unix://")
	if !ok {
		t.Skipf("the fault proxy stands in front of a unix socket, and DOCKER_HOST is %s", upstream)
	}
	dir, err := os.MkdirTemp("", "ferry-proxy-") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{host: "unix://" + path}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker" },
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
		FlushInterval: -1, // streams (events, logs) as they come
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.failing(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `{"message": "injected failure of %s %s"}`, r.Method, r.URL.Path)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p
}

// setFail makes the proxy fail the calls fail picks (none, for nil).
func (p *faultProxy) setFail(fail func(r *http.Request) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = fail
}

func (p *faultProxy) failing(r *http.Request) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail == nil || !p.fail(r) {
		return false
	}
	p.failed = append(p.failed, r.Method+" "+r.URL.Path)
	return true
}

// calls returns the calls it failed.
func (p *faultProxy) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.failed)
}

// client returns a client of the Engine through the proxy. DOCKER_HOST
// points at the proxy while the client is made, so the test cannot run in
// parallel with others.
func (p *faultProxy) client(t *testing.T) *dockerapi.Client {
	t.Helper()
	t.Setenv("DOCKER_HOST", p.host)
	c := dockerapi.New()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	return c
}

// containerCall matches an Engine call on one container: the API version,
// the container, and what is asked of it ("" for the container itself).
var containerCall = regexp.MustCompile(`^(?:/v[0-9.]+)?/containers/([^/]+)(?:/([a-z]+))?$`)

// A rolling update whose Engine fails while the new replica is checked
// (or started), and again when ferry removes it: the error says which
// calls failed and that the replica is left, not that it was removed;
// status does not count it as a replica; and the next up removes it and
// completes the rollout.
func TestRolloutEngineFailure(t *testing.T) {
	c := dockertest.NeedDocker(t) // made before DOCKER_HOST names the proxy
	direct := NewTarget(c, nil)
	proxy := newFaultProxy(t)
	f := &rolloutFixture{target: NewTarget(proxy.client(t), nil), project: "ferrytest-" + dockertest.RandomHex(t), image: versionImage(t)}
	t.Cleanup(func() { direct.Down(context.Background(), f.project, true) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// status is what ferry status shows: a new process, with no snapshot
	// of the containers that another Target has changed since.
	status := func() ([]deploy.ServiceStatus, error) { return NewTarget(c, nil).Status(ctx, f.project) }
	if err := f.target.Deploy(ctx, f.deployment(1, 2, map[string]string{"VERSION": "v1"}), io.Discard); err != nil {
		t.Fatal(err)
	}
	list, err := f.target.c.Containers(ctx, map[string]string{objects.LabelProject: f.project})
	if err != nil || len(list) != 2 {
		t.Fatalf("v1: %d containers (%v), want 2", len(list), err)
	}
	var old []string
	for _, ctr := range list {
		old = append(old, ctr.ID)
	}
	// Every call about a container other than the old replicas fails,
	// but creating and starting it: inspecting it, stopping and removing it.
	proxy.setFail(func(r *http.Request) bool {
		m := containerCall.FindStringSubmatch(r.URL.Path)
		if m == nil || slices.Contains(old, m[1]) {
			return false
		}
		return r.Method == http.MethodGet && m[2] == "json" || r.Method == http.MethodPost && m[2] == "stop" || r.Method == http.MethodDelete && m[2] == ""
	})
	err = f.target.Deploy(ctx, f.deployment(2, 2, map[string]string{"VERSION": "v2"}), io.Discard)
	proxy.setFail(nil)
	if err == nil {
		t.Fatal("the rollout passed while the Engine failed")
	}
	interim := f.project + "-web-1-02000000"
	for _, want := range []string{
		// Removing it inspects it first, for its stop grace period.
		"rollout of web stopped: its new replica 1 could not be checked, as a call to the Docker Engine failed, and ferry could not remove it (inspect container: Error response from daemon: injected failure of GET ",
		interim + " is left beside the old replicas, is not counted as a replica of web, and the next `ferry up` removes it",
		"(0 of 2 replicas run the new definition); run `ferry up` again once the Docker Engine answers",
		"ferry could not tell whether service web is healthy: inspect container: Error response from daemon: injected failure of GET ",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "removed it") || strings.Contains(err.Error(), "did not become healthy") {
		t.Errorf("the error says what did not happen:\n%v", err)
	}
	if calls := proxy.calls(); len(calls) < 2 {
		t.Errorf("the proxy failed %v, want the inspects of the check and of the removal", calls)
	}
	// What the error says is what is there: the new replica runs.
	if out, err := exec.Command("docker", "inspect", "-f", "{{.State.Running}}", interim).Output(); err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Fatalf("%s: running %q (%v), want left running", interim, out, err)
	}
	st, err := status()
	if err != nil || len(st) != 1 {
		t.Fatalf("status: %+v %v", st, err)
	}
	if s := st[0]; s.Replicas != 2 || s.Desired != 2 || !slices.Equal(s.Unadopted, []string{interim}) {
		t.Errorf("status: %d/%d replicas, unadopted %v; want 2/2 and %s apart", s.Replicas, s.Desired, s.Unadopted, interim)
	}

	// The next up removes it and rolls v2 out.
	var log strings.Builder
	if err := direct.Deploy(ctx, f.deployment(2, 2, map[string]string{"VERSION": "v2"}), &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "removing "+interim+": the new replica of a rollout that stopped before adopting it") {
		t.Errorf("the next up does not say it removes %s:\n%s", interim, log.String())
	}
	proxied := f.target
	f.target = direct
	f.wantVersions(t, ctx, "v2", "web-1", "web-2")
	if st, err := status(); err != nil || len(st) != 1 || st[0].Replicas != 2 || st[0].Desired != 2 || len(st[0].Unadopted) != 0 {
		t.Errorf("status after the next up: %+v %v", st, err)
	}

	// An Engine that fails to start the new replica, and to remove it: the
	// created container is left, and said to be.
	if list, err = direct.c.Containers(ctx, map[string]string{objects.LabelProject: f.project}); err != nil || len(list) != 2 {
		t.Fatalf("v2: %d containers (%v), want 2", len(list), err)
	}
	old = old[:0]
	for _, ctr := range list {
		old = append(old, ctr.ID)
	}
	proxy.setFail(func(r *http.Request) bool {
		m := containerCall.FindStringSubmatch(r.URL.Path)
		if m == nil || slices.Contains(old, m[1]) {
			return false
		}
		return r.Method == http.MethodPost && (m[2] == "start" || m[2] == "stop") || r.Method == http.MethodDelete && m[2] == ""
	})
	err = proxied.Deploy(ctx, f.deployment(3, 2, map[string]string{"VERSION": "v3"}), io.Discard)
	proxy.setFail(nil)
	interim = f.project + "-web-1-03000000"
	for _, want := range []string{
		"rollout of web stopped: its new replica 1 could not start, and ferry could not remove it (stop container: Error response from daemon: injected failure of POST ",
		interim + " is left beside the old replicas",
		"start container: Error response from daemon: injected failure of POST ",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	st, err = status()
	if err != nil || len(st) != 1 || st[0].Replicas != 2 || st[0].Desired != 2 || !slices.Equal(st[0].Unadopted, []string{interim}) {
		t.Errorf("status: %+v %v; want 2/2 and %s apart", st, err, interim)
	}
	log.Reset()
	if err := direct.Deploy(ctx, f.deployment(3, 2, map[string]string{"VERSION": "v3"}), &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "removing "+interim+": the new replica of a rollout that stopped before adopting it") {
		t.Errorf("the next up does not say it removes %s:\n%s", interim, log.String())
	}
	f.wantVersions(t, ctx, "v3", "web-1", "web-2")
}
