package dockertest

// Registries on loopback, for the tests of pushes and pulls: the tests
// push images made here (a static Go binary in one layer) to an in-process
// registry, and the Engine pulls them from it.

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Registry is an in-process registry on loopback that counts the
// manifests pushed to it.
type Registry struct {
	*httptest.Server
	Manifests atomic.Int32
}

// StartRegistry starts a Registry, closed when the test ends.
func StartRegistry(t testing.TB) *Registry {
	reg := &Registry{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	reg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			reg.Manifests.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(reg.Close)
	return reg
}

// Host is the registry's host:port.
func (reg *Registry) Host() string { return strings.TrimPrefix(reg.URL, "http://") }

// Manifest returns the manifest of name:tag, or nil when there is none.
func (reg *Registry) Manifest(t testing.TB, name, tag string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, reg.URL+"/v2/"+name+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("manifest of %s:%s: %v", name, tag, err)
	}
	return m
}

// WriteDockerConfig writes a Docker CLI config.json into a new folder and
// points DOCKER_CONFIG at it.
func WriteDockerConfig(t testing.TB, cfg string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

// PullRegistry is a registry on loopback that counts the requests it is
// sent, can ask for basic credentials, and can hold blob downloads back.
type PullRegistry struct {
	*Registry
	Requests atomic.Int32
	user     string // with user set, every request needs user:pass
	pass     string
	mu       sync.Mutex
	stall    chan struct{} // while not nil, blob GETs wait for it to close
	stalled  chan struct{} // closed when a blob GET waits
}

// StartPullRegistry starts a PullRegistry, which asks for user:pass
// when user is set.
func StartPullRegistry(t testing.TB, user, pass string) *PullRegistry {
	reg := &PullRegistry{Registry: StartRegistry(t), user: user, pass: pass}
	inner := reg.Config.Handler
	reg.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg.Requests.Add(1)
		if reg.user != "" {
			if u, p, ok := r.BasicAuth(); !ok || u != reg.user || p != reg.pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="ferry-test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
		}
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			reg.mu.Lock()
			stall, stalled := reg.stall, reg.stalled
			reg.mu.Unlock()
			if stall != nil {
				select {
				case <-stalled:
				default:
					close(stalled)
				}
				select {
				case <-stall:
				case <-r.Context().Done():
					return
				}
			}
		}
		inner.ServeHTTP(w, r)
	})
	return reg
}

// HoldBlobs makes blob downloads wait until release is called; stalled
// is closed when the first one waits.
func (reg *PullRegistry) HoldBlobs() (stalled <-chan struct{}, release func()) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.stall, reg.stalled = make(chan struct{}), make(chan struct{})
	stall := reg.stall
	return reg.stalled, func() {
		reg.mu.Lock()
		reg.stall = nil
		reg.mu.Unlock()
		close(stall)
	}
}

// PushHello pushes to reg, as repo:tag, an image of the hello binary
// (made unique by note) that sleeps, and returns the manifest digest.
func (reg *PullRegistry) PushHello(t testing.TB, repo, tag, note string) string {
	t.Helper()
	bin, err := os.ReadFile(Hello(t))
	if err != nil {
		t.Fatal(err)
	}
	bin = append(bin, note...)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o755, Size: int64(len(bin)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(bin)
	tw.Close()
	layer, err := tarball.LayerFromReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Entrypoint: []string{"/hello"}, Cmd: []string{"sleep"}})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Host()+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{}
	if reg.user != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: reg.user, Password: reg.pass}))
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// ForgetImages removes refs from the Engine now and when the test ends.
func ForgetImages(t testing.TB, docker *dockerapi.Client, refs ...string) {
	rm := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, r := range refs {
			if err := docker.Remove(ctx, r); err != nil {
				t.Logf("remove %s: %v", r, err)
			}
		}
	}
	rm()
	t.Cleanup(rm)
}
