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

// Serve serves the Docker API on a unix socket: /_ping as an Engine of API
// 1.41 answers it, and every other request with h, which sees the path
// without its version prefix ("/images/create", not
// "/v1.41/images/create"). It returns the DOCKER_HOST that reaches it.
func Serve(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Header().Set("API-Version", "1.41")
			w.Header().Set("OSType", "linux")
			w.Write([]byte("OK"))
			return
		}
		if rest, ok := strings.CutPrefix(r.URL.Path, "/v"); ok {
			if i := strings.IndexByte(rest, '/'); i > 0 {
				r.URL.Path = rest[i:]
			}
		}
		h.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}
