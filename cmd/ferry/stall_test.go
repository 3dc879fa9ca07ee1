package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// stalledEngine serves the Docker API on a unix socket as a stalled Engine
// does: it answers /_ping, then never answers anything else. It returns the
// DOCKER_HOST that reaches it.
func stalledEngine(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Header().Set("API-Version", "1.41")
			w.Header().Set("OSType", "linux")
			w.Write([]byte("OK"))
			return
		}
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})}
	go srv.Serve(l)
	t.Cleanup(func() { close(stop); srv.Close() })
	return "unix://" + sock
}

// A stalled Docker Engine: ferry up and ferry status end with an error
// that names the call the Engine did not answer and how long ferry waited,
// instead of hanging.
func TestStalledEngineUpStatus(t *testing.T) {
	host := stalledEngine(t)
	ws := newWorkspace(t, map[string]string{"ferry.star": `service(name = "web", image = "ferrytest/stalled:1")` + "\n"})
	for _, args := range [][]string{{"up", "ContainerList"}, {"status", "ContainerList"}} {
		cmd := exec.Command(ferryBin, args[0])
		cmd.Dir = ws.dir
		cmd.Env = append(os.Environ(), "NO_COLOR=1", "DOCKER_HOST="+host, "FERRY_DOCKER_TIMEOUT=300ms")
		r := startCmd(t, cmd).wait(t)
		want := "the Docker Engine at " + host + " did not answer " + args[1] + " within 300ms (is it stalled?"
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("ferry %s: want a failure saying %q, got:\n%s", args[0], want, r)
		}
	}
}
