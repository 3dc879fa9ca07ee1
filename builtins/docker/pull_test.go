package docker

// Pulls from a real registry on loopback: the tests push images made
// here (a static Go binary in one layer) to an in-process registry, and
// the Engine pulls them from it.

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi/enginetest"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/docker/image"
	"github.com/ferryhq/ferry/builtins/docker/local"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// deployEngine evaluates the workspace with the deploy plugin on target.
func (w *testWorkspace) deployEngine(ctx context.Context, target deploy.Target, bus *engine.Bus) *engine.Engine {
	w.T.Helper()
	ws := &engine.Workspace{Root: w.Root, File: filepath.Join(w.Root, engine.FileName)}
	res, err := engine.Evaluate(ctx, engine.Options{
		Workspace: ws,
		Plugins:   []engine.Plugin{core.Plugin{}, Plugin{Client: w.client(), Project: w.Project}, &deploy.Plugin{Project: w.Project, Target: target}},
		Events:    bus,
	})
	if err != nil {
		w.T.Fatalf("evaluate: %v", err)
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		w.T.Fatal(err)
	}
	st, err := engine.LoadState(ws, true)
	if err != nil {
		w.T.Fatal(err)
	}
	return engine.NewEngine(ws, g, st, bus)
}

// deployRun runs the named rules of the workspace with the deploy plugin
// on target, and saves the state.
func (w *testWorkspace) deployRun(ctx context.Context, target deploy.Target, names ...string) dockertest.RunResult {
	w.T.Helper()
	var r dockertest.RunResult
	var mu sync.Mutex
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) {
		mu.Lock()
		r.Events = append(r.Events, e)
		mu.Unlock()
	}))
	e := w.deployEngine(ctx, target, bus)
	r.Sum, r.Err = e.Run(ctx, names, engine.RunOptions{Jobs: 2})
	if err := e.Save(); err != nil {
		w.T.Fatal(err)
	}
	return r
}

// deployPlan returns the plan item of rule, with the deploy plugin on
// target.
func (w *testWorkspace) deployPlan(target deploy.Target, rule string) engine.PlanItem {
	w.T.Helper()
	items, err := w.deployEngine(context.Background(), target, engine.NewBus(redact.New())).Plan(context.Background(), []string{rule}, false)
	if err != nil {
		w.T.Fatal(err)
	}
	for _, it := range items {
		if it.Rule == rule {
			return it
		}
	}
	w.T.Fatalf("no plan item for %s", rule)
	return engine.PlanItem{}
}

// pulls returns the image.pull events of a run.
func pulls(r dockertest.RunResult) []*engine.PullState {
	var out []*engine.PullState
	for _, e := range r.Events {
		if e.Kind == engine.EventImagePull {
			out = append(out, e.Pull)
		}
	}
	return out
}

// newPullWorkspace makes a workspace whose ferry.star is star (IMG
// stands for ref), on the local target, removed when the test ends.
func newPullWorkspace(t *testing.T, docker *dockerapi.Client, ref, star string) (*testWorkspace, *local.Target) {
	w := newWorkspace(t, docker, map[string]string{"ferry.star": strings.ReplaceAll(star, "IMG", ref)})
	target := local.NewTarget(docker, nil)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := target.Down(ctx, w.Project, true); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return w, target
}

func serviceStatus(t *testing.T, target *local.Target, project, name string) deploy.ServiceStatus {
	t.Helper()
	list, err := target.Status(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no status for %s in %v", name, list)
	return deploy.ServiceStatus{}
}

// A service whose image the Engine lacks pulls it, with progress, and
// runs it; the digest is shown by status; an up-to-date run asks the
// registry nothing.
func TestPullMissingImage(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	reg := dockertest.StartPullRegistry(t, "", "")
	repo := "ferrytest/" + dockertest.RandomHex(t)
	digest := reg.PushHello(t, repo, "v1", repo)
	ref := reg.Host() + "/" + repo + ":v1"
	dockertest.ForgetImages(t, docker, ref)
	w, target := newPullWorkspace(t, docker, ref, `service(name = "app", image = "IMG")`+"\n")

	r := w.deployRun(context.Background(), target, "app")
	if r.Err != nil {
		t.Fatalf("up: %v: %s", r.Err, r.Failure("app"))
	}
	pulls := pulls(r)
	if len(pulls) < 2 {
		t.Fatalf("%d image.pull events, want progress and an end", len(pulls))
	}
	last := pulls[len(pulls)-1]
	want := reg.Host() + "/" + repo + "@" + digest
	if !last.Done || last.Digest != want || len(last.Layers) != 1 || last.Layers[0].Status != "Pull complete" {
		t.Errorf("last pull event: %+v, want done, digest %s, one layer complete", last, want)
	}
	if last.Bytes.Total == 0 || last.Bytes.Current != last.Bytes.Total {
		t.Errorf("bytes of a finished pull: %+v", last.Bytes)
	}
	if s := serviceStatus(t, target, w.Project, "app"); s.Digest != want || s.Replicas != 1 {
		t.Errorf("status: digest %q, %d replicas; want %s, 1", s.Digest, s.Replicas, want)
	}

	before := reg.Requests.Load()
	r = w.deployRun(context.Background(), target, "app")
	if r.Err != nil || len(r.Sum.Cached) != 1 {
		t.Fatalf("second up: %v, ran %v", r.Err, r.Sum.Ran)
	}
	if n := reg.Requests.Load() - before; n != 0 {
		t.Errorf("an up-to-date up sent %d requests to the registry", n)
	}
	if it := w.deployPlan(target, "app"); it.Run {
		t.Errorf("plan after up: %+v", it)
	}
}

// pull = "always" asks the registry on every up, and replaces the
// container only when the tag's digest changed.
func TestPullAlwaysReplacesOnlyOnNewDigest(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	reg := dockertest.StartPullRegistry(t, "", "")
	repo := "ferrytest/" + dockertest.RandomHex(t)
	old := reg.PushHello(t, repo, "v1", repo+"a")
	ref := reg.Host() + "/" + repo + ":v1"
	dockertest.ForgetImages(t, docker, ref, reg.Host()+"/"+repo+"@"+old)
	w, target := newPullWorkspace(t, docker, ref, `service(name = "app", image = "IMG", pull = "always")`+"\n"+
		`job(name = "once", image = "IMG", pull = "always", command = ["hi"])`+"\n")
	ctx := context.Background()
	containerID := func(rule string) string {
		list, err := docker.Containers(ctx, map[string]string{objects.LabelProject: w.Project, objects.LabelKind: "", objects.LabelRule: rule})
		if err != nil || len(list) != 1 {
			t.Fatalf("want one container of %s: %v %v", rule, list, err)
		}
		return list[0].ID
	}

	if r := w.deployRun(ctx, target, "app", "once"); r.Err != nil {
		t.Fatalf("up: %v: %s%s", r.Err, r.Failure("app"), r.Failure("once"))
	}
	first, job := containerID("app"), containerID("once")
	if it := w.deployPlan(target, "app"); !it.Run || !strings.Contains(engine.ReasonText(it.Reasons), `pull = "always"`) {
		t.Errorf("plan with pull = always: %+v", it)
	}
	before := reg.Requests.Load()
	r := w.deployRun(ctx, target, "app", "once")
	if r.Err != nil {
		t.Fatalf("second up: %v: %s%s", r.Err, r.Failure("app"), r.Failure("once"))
	}
	if reg.Requests.Load() == before {
		t.Error("pull = always sent the registry no request")
	}
	if id := containerID("app"); id != first {
		t.Error("the same digest replaced the container")
	}
	if id := containerID("once"); id != job || !strings.Contains(r.Output("once"), "the job does not run again") {
		t.Errorf("the same digest ran the job again:\n%s", r.Output("once"))
	}

	digest := reg.PushHello(t, repo, "v1", repo+"b")
	dockertest.ForgetImages(t, docker, reg.Host()+"/"+repo+"@"+digest)
	if r := w.deployRun(ctx, target, "app", "once"); r.Err != nil {
		t.Fatalf("third up: %v: %s", r.Err, r.Failure("app"))
	}
	if id := containerID("once"); id == job {
		t.Error("a new digest did not run the job again")
	}
	if id := containerID("app"); id == first {
		t.Error("a new digest did not replace the container")
	}
	if s := serviceStatus(t, target, w.Project, "app"); !strings.HasSuffix(s.Digest, "@"+digest) {
		t.Errorf("status digest %q, want …@%s", s.Digest, digest)
	}
}

// An image pinned by digest is pulled and run; pull = "never" keeps a
// missing image an error that says what to do.
func TestPullPinnedAndNever(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	reg := dockertest.StartPullRegistry(t, "", "")
	repo := "ferrytest/" + dockertest.RandomHex(t)
	digest := reg.PushHello(t, repo, "v1", repo)
	pinned := reg.Host() + "/" + repo + ":v1@" + digest
	dockertest.ForgetImages(t, docker, reg.Host()+"/"+repo+"@"+digest)
	w, target := newPullWorkspace(t, docker, pinned, `service(name = "app", image = "IMG")`+"\n"+
		`service(name = "other", image = "`+reg.Host()+"/"+repo+`:nope", pull = "never")`+"\n")

	r := w.deployRun(context.Background(), target, "app")
	if r.Err != nil {
		t.Fatalf("up: %v: %s", r.Err, r.Failure("app"))
	}
	if s := serviceStatus(t, target, w.Project, "app"); s.Digest != reg.Host()+"/"+repo+"@"+digest {
		t.Errorf("status digest %q", s.Digest)
	}
	if r := w.deployRun(context.Background(), target, "app"); r.Err != nil || len(r.Sum.Cached) != 1 {
		t.Errorf("second up of a pinned image: %v, ran %v", r.Err, r.Sum.Ran)
	}
	r = w.deployRun(context.Background(), target, "other")
	if msg := r.Failure("other"); !strings.Contains(msg, `pull = "never"`) || !strings.Contains(msg, "is not in the Docker Engine") {
		t.Errorf("pull = never on a missing image: %q", msg)
	}
}

// Bad pulls are clear errors: no such tag or repository, a registry
// that is down, a private image without credentials or with wrong ones.
func TestPullErrors(t *testing.T) {
	docker := dockertest.NeedDocker(t)
	ctx := context.Background()
	dockertest.WriteDockerConfig(t, `{}`)
	reg := dockertest.StartPullRegistry(t, "", "")
	repo := "ferrytest/" + dockertest.RandomHex(t)
	reg.PushHello(t, repo, "v1", repo)
	private := dockertest.StartPullRegistry(t, "alice", "s3cret")
	private.PushHello(t, repo, "v1", repo)
	privRef := private.Host() + "/" + repo + ":v1"
	dockertest.ForgetImages(t, docker, privRef)

	down := dockertest.StartRegistry(t)
	downHost := down.Host()
	down.Close()

	for _, tc := range []struct {
		name, ref string
		want      []string
	}{
		{"unknown tag", reg.Host() + "/" + repo + ":nope", []string{"has no such image", "check the repository and the tag"}},
		{"unknown repository", reg.Host() + "/ferrytest/nosuchrepo:v1", []string{"has no such image"}},
		{"digest not in the registry", reg.Host() + "/" + repo + ":v1@sha256:" + strings.Repeat("0", 64), []string{"has no such image", "tag or digest"}},
		{"registry down", downHost + "/" + repo + ":v1", []string{"cannot reach the registry " + downHost}},
		{"private without credentials", privRef, []string{private.Host() + " wants credentials", "docker login " + private.Host()}},
	} {
		_, err := image.PullImage(ctx, docker, tc.ref, deploy.PullMissing, nil)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v; want it to say %q", tc.name, err, w)
			}
		}
	}

	b64 := base64.StdEncoding.EncodeToString
	dockertest.WriteDockerConfig(t, `{"auths": {"`+private.Host()+`": {"auth": "`+b64([]byte("alice:wrong"))+`"}}}`)
	if _, err := image.PullImage(ctx, docker, privRef, deploy.PullMissing, nil); err == nil || !strings.Contains(err.Error(), "refused the credentials") || !strings.Contains(err.Error(), "docker login "+private.Host()) {
		t.Errorf("wrong credentials: %v", err)
	}
	dockertest.WriteDockerConfig(t, `{"auths": {"`+private.Host()+`": {"auth": "`+b64([]byte("alice:s3cret"))+`"}}}`)
	res, err := image.PullImage(ctx, docker, privRef, deploy.PullMissing, nil)
	if err != nil || !res.Pulled || res.Digest == "" {
		t.Errorf("with the credentials of config.json: %+v, %v", res, err)
	}
}

// A pull stopped by Ctrl-C leaves no image behind, and the next pull
// completes it.
func TestPullInterrupted(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	reg := dockertest.StartPullRegistry(t, "", "")
	repo := "ferrytest/" + dockertest.RandomHex(t)
	reg.PushHello(t, repo, "v1", repo)
	ref := reg.Host() + "/" + repo + ":v1"
	dockertest.ForgetImages(t, docker, ref)

	stalled, release := reg.HoldBlobs()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := image.PullImage(ctx, docker, ref, deploy.PullMissing, nil)
		done <- err
	}()
	select {
	case <-stalled:
	case err := <-done:
		t.Fatalf("the pull ended before downloading a layer: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("an interrupted pull: %v, want context.Canceled", err)
	}
	release()
	if _, ok, err := docker.ImageRef(context.Background(), ref); err != nil || ok {
		t.Fatalf("after an interrupted pull the Engine has %s: %v %v", ref, ok, err)
	}
	res, err := image.PullImage(context.Background(), docker, ref, deploy.PullMissing, nil)
	if err != nil || !res.Pulled {
		t.Fatalf("the pull after an interrupted one: %+v %v", res, err)
	}
}

// Ctrl-C during the pull of an up leaves no container and no image, and
// the next up pulls and starts the service.
func TestUpInterruptedDuringPull(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	reg := dockertest.StartPullRegistry(t, "", "")
	repo := "ferrytest/" + dockertest.RandomHex(t)
	reg.PushHello(t, repo, "v1", repo)
	ref := reg.Host() + "/" + repo + ":v1"
	dockertest.ForgetImages(t, docker, ref)
	w, target := newPullWorkspace(t, docker, ref, `service(name = "app", image = "IMG")`+"\n")

	stalled, release := reg.HoldBlobs()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-stalled
		cancel()
	}()
	r := w.deployRun(ctx, target, "app")
	release()
	if r.Err == nil || !r.Sum.Interrupted && len(r.Sum.Failed) == 0 {
		t.Fatalf("an up interrupted during its pull: %v, %+v", r.Err, r.Sum)
	}
	if list, err := docker.Containers(context.Background(), map[string]string{objects.LabelProject: w.Project, objects.LabelKind: "", objects.LabelRule: "app"}); err != nil || len(list) != 0 {
		t.Errorf("an interrupted up left containers: %v %v", list, err)
	}
	if _, ok, err := docker.ImageRef(context.Background(), ref); err != nil || ok {
		t.Errorf("an interrupted up left the image: %v %v", ok, err)
	}
	if r := w.deployRun(context.Background(), target, "app"); r.Err != nil || len(r.Sum.Ran) != 1 {
		t.Fatalf("the up after an interrupted one: %v: %s", r.Err, r.Failure("app"))
	}
}

// A pull that fills the Engine's disk fails saying so, which image, and
// what to do; against a fake Engine, as no test may fill the real one's
// disk. (That the Engine tags nothing half-pulled, and a later pull keeps
// the layers that are in, is TestPullInterrupted's, with the real Engine.)
func TestPullDiskFull(t *testing.T) {
	const ref = "127.0.0.1:5000/stack/db:1"
	enospc := "write /var/lib/docker/tmp/GetImageBlob872957069: no space left on device"
	t.Setenv("DOCKER_HOST", enginetest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/images/"+ref+"/json":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"No such image: `+ref+`"}`)
		case r.Method == http.MethodPost && r.URL.Path == "/images/create":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"Pulling from stack/db","id":"1"}
{"status":"Pulling fs layer","progressDetail":{},"id":"39a74e8cd3fc"}
{"status":"Downloading","progressDetail":{"current":524288,"total":8812345},"id":"39a74e8cd3fc"}
{"errorDetail":{"message":"`+enospc+`"},"error":"`+enospc+`"}
`)
		default:
			http.Error(w, `{"message":"unexpected call"}`, http.StatusNotImplemented)
		}
	})))
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var reports []engine.PullState
	_, err := image.PullImage(ctx, dockerapi.New(), ref, deploy.PullMissing, func(p engine.PullState) { reports = append(reports, p) })
	want := "pull " + ref + ": the Docker Engine ran out of disk space while it pulled the image: " + enospc + "; " +
		"nothing was tagged, so nothing half-pulled runs: free space where the Engine keeps its data (`docker system df` shows what takes it; " +
		"`docker image prune` and `docker builder prune` remove what nothing uses), then run ferry again, which keeps the layers already in"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	if len(reports) == 0 || reports[len(reports)-1].Done {
		t.Errorf("progress before the failure: %+v; want the layers reported, and no pull done", reports)
	}
}

// An image whose base image the Engine lacks: a plan says it would run
// (and pulls nothing); a run pulls the base from its registry, with
// progress, then builds; the next run finds it up to date.
func TestImageBasePulled(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	reg := dockertest.StartPullRegistry(t, "", "")
	repo := "ferrytest/" + dockertest.RandomHex(t)
	reg.PushHello(t, repo, "base", repo)
	base := reg.Host() + "/" + repo + ":base"
	dockertest.ForgetImages(t, docker, base)
	w := newWorkspace(t, docker, map[string]string{
		"ferry.star":     `image(name = "app", repo = "REPO")` + "\n",
		"app/Dockerfile": "FROM " + base + "\nCOPY note /note\n",
		"app/note":       "hi\n",
	})
	w.Write("ferry.star", `image(name = "app", repo = "REPO", context = "app")`+"\n")
	before := reg.Requests.Load() // the push's
	if it := w.Plan("app"); it.Err != "" || !it.Run {
		t.Fatalf("plan with the base absent: %+v, want it to run", it)
	}
	if n := reg.Requests.Load() - before; n != 0 {
		t.Errorf("a plan sent %d requests to the registry", n)
	}
	r := w.Run(context.Background())
	if r.Err != nil {
		t.Fatalf("run: %v: %s", r.Err, r.Failure("app"))
	}
	pulls := pulls(r)
	if len(pulls) == 0 || !pulls[len(pulls)-1].Done || pulls[len(pulls)-1].Image != base {
		t.Errorf("image.pull events of the base: %+v", pulls)
	}
	if r = w.Run(context.Background()); r.Err != nil || len(r.Sum.Cached) != 1 {
		t.Errorf("second run: %v, ran %v, want app up to date", r.Err, r.Sum.Ran)
	}
}
