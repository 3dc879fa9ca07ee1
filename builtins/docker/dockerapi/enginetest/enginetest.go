// Package enginetest gives tests fake Docker Engines that misbehave in ways
// a real one does only by accident.
package enginetest

import (
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// Stalled serves the Docker API on a unix socket as a stalled Engine does:
// it answers /_ping when ping is set, then never answers anything else,
// until the client gives up or the test ends. It returns the DOCKER_HOST
// that reaches it.
func Stalled(t *testing.T, ping bool) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ping && strings.HasSuffix(r.URL.Path, "/_ping") {
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
