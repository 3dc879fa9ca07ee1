package local

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
)

const serverSrc = `package main

import "net/http"

func main() { http.ListenAndServe(":8080", http.NotFoundHandler()) }
`

// serverImage builds a FROM scratch image of a static server that answers
// 404 on :8080, tagged uniquely, and removes it when the test ends.
func serverImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(serverSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/server\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY server /server\nENTRYPOINT [\"/server\"]\n"), 0o644)
	build := exec.Command("go", "build", "-o", "server", ".")
	build.Dir, build.Env = dir, append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tag := "ferrytest/health-" + dockertest.RandomHex(t)
	docker := exec.Command("docker", "build", "-q", "-t", tag, dir)
	docker.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := docker.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

// Against the real Engine: ferry probes a replica at its container address,
// and, when that is not reachable, through its published port; a port that
// is neither reachable nor published is an error, not a wait.
func TestProbeThroughEngine(t *testing.T) {
	t.Parallel()
	c := dockertest.NeedDocker(t)
	image := serverImage(t)
	target := NewTarget(c, nil)
	project := "ferrytest-" + dockertest.RandomHex(t)
	t.Cleanup(func() { target.Down(context.Background(), project, true) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	check := &deploy.HealthCheck{Kind: "http", Path: "/", Port: 8080, Interval: 100 * time.Millisecond, Timeout: time.Second, Retries: 3}
	d := &deploy.Deployment{Project: project, Image: image, Spec: &deploy.ServiceSpec{
		Name: "web", Replicas: 1, Restart: "no", Health: check,
		Ports: []deploy.Port{{Container: 8080, Protocol: "tcp"}},
	}}
	if err := target.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	// The check has no start period, so every failed probe counts: wait
	// until the server listens, or a slow start's refused connections, not
	// its 404s, would make it unhealthy.
	for {
		reps, err := target.Replicas(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) == 1 && reps[0].AddrErr == nil && deploy.ProbeTCP(ctx, reps[0].Addr, time.Second) == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the server did not listen: %+v", reps)
		case <-time.After(100 * time.Millisecond):
		}
	}
	// The server answers 404: the check fails with what it answered.
	err := deploy.WaitHealthy(ctx, target, d, 30*time.Second, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "answered 404 Not Found, want 2xx or 3xx") {
		t.Fatalf("a 404 check: got %v", err)
	}
	reps, err := target.Replicas(ctx, d)
	if err != nil || len(reps) != 1 {
		t.Fatalf("replicas: %v %v", reps, err)
	}
	ep, err := c.InspectEndpoints(ctx, project+"-web-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := ep.IPs[NetworkName(project)] + ":8080"; reps[0].Addr != want {
		t.Errorf("a local Engine's replica is probed at %q, want its container address %s", reps[0].Addr, want)
	}
	for _, host := range []string{"unix:///var/run/docker.sock", "tcp://127.0.0.1:2376"} {
		addr, err := Reach(host, nil, ep, NetworkName(project), 8080)
		if err != nil || !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Fatalf("%s, container address unreachable: %q, %v; want the published port on 127.0.0.1", host, addr, err)
		}
		if err := deploy.ProbeTCP(ctx, addr, time.Second); err != nil {
			t.Errorf("%s: the published port %s does not answer: %v", host, addr, err)
		}
	}
	if _, err := Reach("unix:///var/run/docker.sock", nil, ep, NetworkName(project), 9090); err == nil || !strings.Contains(err.Error(), "port 9090 is not published") {
		t.Errorf("unpublished port: got %v", err)
	}
}
