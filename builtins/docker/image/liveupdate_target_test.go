package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine"
)

// liveTarget is a deploy target that can live-update its replicas.
type liveTarget struct {
	deploy.Target
	reps  []deploy.LiveReplica
	asked deploy.LiveImage
}

func (l *liveTarget) LiveReplicas(_ context.Context, _ string, img deploy.LiveImage) ([]deploy.LiveReplica, error) {
	l.asked = img
	return l.reps, nil
}

// fakeReplica records what a live update does to it; without tar, its
// Extract fails as a pod's without tar does.
type fakeReplica struct {
	id, svc  string
	noTar    bool
	files    map[string]string
	ran      [][]string
	extracts int
}

func (r *fakeReplica) ID() string      { return r.id }
func (r *fakeReplica) Name() string    { return "pod web-1" }
func (r *fakeReplica) Service() string { return r.svc }
func (r *fakeReplica) Image() string   { return "reg/web@sha256:1" }
func (r *fakeReplica) Extract(_ context.Context, s io.Reader) error {
	r.extracts++
	if r.noTar {
		return fmt.Errorf("%w: no program \"tar\"", deploy.ErrNoTar)
	}
	tr := tar.NewReader(s)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(tr)
		if h.Typeflag == tar.TypeReg {
			r.files[h.Name] = string(b)
		}
	}
}
func (r *fakeReplica) Exec(_ context.Context, argv []string, _, _ io.Writer) (int, error) {
	r.ran = append(r.ran, argv)
	return 0, nil
}
func (r *fakeReplica) Signal(context.Context, string) error { return nil }
func (r *fakeReplica) Restart(context.Context) error {
	return fmt.Errorf("restarts from its image (%w)", deploy.ErrLiveUnsupported)
}

// The selected target decides where a live update goes: to its replicas
// when it is a deploy.LiveUpdater, else to the Engine's containers.
func TestLiveUpdaterSelection(t *testing.T) {
	t.Parallel()
	lt := &liveTarget{}
	var plain deploy.Target = struct{ deploy.Target }{}
	for _, c := range []struct {
		name   string
		images *catalog
		want   deploy.LiveUpdater
	}{
		{"no deploy plugin", &catalog{}, nil},
		{"no target", &catalog{target: func() deploy.Target { return nil }}, nil},
		{"a target without the capability (the local Engine's)", &catalog{target: func() deploy.Target { return plain }}, nil},
		{"a LiveUpdater (Kubernetes)", &catalog{target: func() deploy.Target { return lt }}, lt},
	} {
		i := &Image{images: c.images}
		if got := i.liveUpdater(); got != c.want {
			t.Errorf("%s: liveUpdater() = %v, want %v", c.name, got, c.want)
		}
	}
}

func liveRC(t *testing.T, out io.Writer) *engine.RunContext {
	return &engine.RunContext{Context: context.Background(), Workspace: &engine.Workspace{Root: t.TempDir()}, PrevKey: engine.NewHasher().String("k").Sum(), Stdout: out, Stderr: out}
}

// Through a LiveUpdater, the files reach each replica as a tar and the
// triggered run steps run there; a replica without tar is said once, and
// the image is built (and rolled out) instead.
func TestApplyLiveToReplicas(t *testing.T) {
	t.Parallel()
	i := &Image{repo: "acme/web", images: &catalog{project: "shop"}, live: []*step{
		{kind: "sync", src: "app", dest: "/srv"},
		{kind: "run", argv: []string{"/app", "reload"}, trigger: []string{"app/*.conf"}},
	}}
	files := []syncFile{{local: "app/a.conf", dest: "/srv/a.conf", body: []byte("v2"), mode: 0o644, mtime: time.Now(), sum: "s2"}}
	rep := &fakeReplica{id: "uid-1", svc: "web", files: map[string]string{}}
	lt := &liveTarget{reps: []deploy.LiveReplica{rep}}
	img := &dockerapi.Image{ID: "sha256:abc", RepoDigests: []string{"reg/acme/web@sha256:1"}}
	var out bytes.Buffer
	rc := liveRC(t, &out)
	if err := i.applyLiveTo(rc, lt, img, files, time.Now()); !errors.Is(err, engine.ErrLiveUpdated) {
		t.Fatalf("applyLiveTo: %v\n%s", err, out.String())
	}
	if rep.files["srv/a.conf"] != "v2" || len(rep.ran) != 1 || rep.ran[0][1] != "reload" {
		t.Errorf("replica has %v, ran %v\n%s", rep.files, rep.ran, out.String())
	}
	if lt.asked.Ref != i.Ref(rc.PrevKey) || lt.asked.RepoDigests[0] != "reg/acme/web@sha256:1" {
		t.Errorf("asked for the replicas of %+v", lt.asked)
	}
	// The same files again: nothing to copy, nothing to run.
	if err := i.applyLiveTo(rc, lt, img, files, time.Now()); !errors.Is(err, engine.ErrLiveUpdated) || rep.extracts != 1 || len(rep.ran) != 1 {
		t.Errorf("again: %v, %d extracts, ran %v", err, rep.extracts, rep.ran)
	}

	// No tar: a fall back, said with the service and image once.
	bare := &fakeReplica{id: "uid-2", svc: "web", noTar: true}
	lt.reps = []deploy.LiveReplica{bare}
	for n := range 2 {
		err := i.applyLiveTo(rc, lt, img, files, time.Now())
		var fb *errFallBack
		if !errors.As(err, &fb) {
			t.Fatalf("no tar, update %d: %v", n+1, err)
		}
		full := strings.Contains(fb.reason, "service web runs image reg/web@sha256:1, which has no tar program")
		if full != (n == 0) || !strings.Contains(fb.reason, "tar") {
			t.Errorf("no tar, update %d: %s", n+1, fb.reason)
		}
	}
	if bare.extracts != 1 {
		t.Errorf("tar tried %d times in an image without it", bare.extracts)
	}

	// restart_container cannot keep the files on this target: a fall back.
	i.live = append(i.live, &step{kind: "restart_container"})
	rep2 := &fakeReplica{id: "uid-3", svc: "api", files: map[string]string{}}
	lt.reps = []deploy.LiveReplica{rep2}
	err := i.applyLiveTo(rc, lt, img, files, time.Now())
	var fb *errFallBack
	if !errors.As(err, &fb) || !strings.Contains(err.Error(), "restarts from its image") {
		t.Errorf("restart_container: %v", err)
	}
}
