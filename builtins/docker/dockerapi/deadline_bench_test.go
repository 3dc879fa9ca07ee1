package dockerapi

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/docker/docker/api/types/container"
)

// BenchmarkDeadline compares a container list through the deadline (a
// timer and a context per call) with the SDK's call alone, against a fake
// Engine on a unix socket that answers at once.
func BenchmarkDeadline(b *testing.B) {
	sock := filepath.Join(b.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("API-Version", "1.41")
		w.Write([]byte("[]"))
	})}
	go srv.Serve(l)
	defer srv.Close()
	b.Setenv("DOCKER_HOST", "unix://"+sock)
	ctx := context.Background()
	c := New()
	cli, err := c.client(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sdk", func(b *testing.B) {
		for b.Loop() {
			if _, err := cli.ContainerList(ctx, container.ListOptions{All: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("deadline", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.Containers(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
