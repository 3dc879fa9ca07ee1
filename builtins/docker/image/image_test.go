package image

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

const helloFerry = `image(name = "hello", repo = "REPO", context = "app", ignore = ["*.log"], tag = ["latest"])
`

const helloDockerfile = `FROM scratch
COPY hello /hello
COPY conf.txt /conf.txt
`

// helloWorkspace is a workspace with one image built FROM scratch.
func helloWorkspace(t *testing.T, docker *dockerapi.Client) *testWorkspace {
	w := newWorkspace(t, docker, map[string]string{
		"ferry.star":        helloFerry,
		"app/Dockerfile":    helloDockerfile,
		"app/conf.txt":      "v1\n",
		"app/.dockerignore": "notes/\n",
		"app/notes/a.md":    "ignored by .dockerignore\n",
		"app/debug.log":     "ignored by ignore=\n",
	})
	w.CopyHello("app/hello")
	return w
}

// imageFor returns the image labelled with key, failing the test when
// there is not exactly one.
func imageFor(t *testing.T, docker *dockerapi.Client, key string) dockerapi.Image {
	t.Helper()
	imgs, err := docker.ImagesByLabel(context.Background(), LabelKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 {
		t.Fatalf("%d images labelled %s=%s, want 1", len(imgs), LabelKey, key)
	}
	return imgs[0]
}

func TestImageBuildTagAndCache(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := helloWorkspace(t, docker)

	r := w.Run(context.Background())
	if r.Err != nil {
		t.Fatalf("first run: %v: %s", r.Err, r.Failure("hello"))
	}
	if !slices.Equal(r.Sum.Ran, []string{"hello"}) || w.eng.builds.Load() != 1 {
		t.Fatalf("first run ran %v with %d builds, want hello built once", r.Sum.Ran, w.eng.builds.Load())
	}
	if out := r.Output("hello"); !strings.Contains(out, "] COPY hello /hello") || !strings.Contains(out, "built "+w.Repo+":") {
		t.Errorf("build output does not show the steps:\n%s", out)
	}
	key := w.StateKey("hello")
	img := imageFor(t, docker, key.String())
	for _, want := range []string{w.Repo + ":" + key.Short(), w.Repo + ":latest"} {
		if !slices.Contains(img.Tags, want) {
			t.Errorf("image tags %v lack %s", img.Tags, want)
		}
	}
	if img.Labels[objects.LabelRule] != "hello" || img.Labels[objects.LabelProject] != w.Project {
		t.Errorf("labels = %v", img.Labels)
	}

	// Nothing changed: the plan says up to date and the run starts no build.
	if it := w.Plan("hello"); it.Run || it.Err != "" {
		t.Errorf("plan after a build: %+v", it)
	}
	if ran, cached := w.MustRun(); len(ran) != 0 || !slices.Equal(cached, []string{"hello"}) {
		t.Errorf("second run ran %v, cached %v", ran, cached)
	}
	if n := w.eng.builds.Load(); n != 1 {
		t.Errorf("%d builds after an up-to-date run, want 1", n)
	}
}

func TestImageKeyFollowsContext(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := helloWorkspace(t, docker)
	w.MustRun()
	first := w.StateKey("hello")

	// Files left out by .dockerignore or ignore= do not change the key.
	w.Write("app/notes/b.md", "more\n")
	w.Write("app/debug.log", "changed\n")
	w.Write("app/trace.log", "new\n")
	if it := w.Plan("hello"); it.Run {
		t.Errorf("an ignored file changed the key: %+v", it)
	}

	// A file of the context does.
	w.Write("app/conf.txt", "v2\n")
	if it := w.Plan("hello"); !it.Run || !slices.Contains(it.Reasons, "app/conf.txt changed") {
		t.Errorf("plan after a context change: %+v", it)
	}
	if ran, _ := w.MustRun(); !slices.Equal(ran, []string{"hello"}) {
		t.Fatalf("ran %v after a context change", ran)
	}
	second := w.StateKey("hello")
	if second == first {
		t.Fatal("key unchanged after a context change")
	}
	imageFor(t, docker, second.String())

	// Back to the first contents: the image built for that key is still
	// there, so it is tagged again and nothing is built.
	builds := w.eng.builds.Load()
	w.Write("app/conf.txt", "v1\n")
	r := w.Run(context.Background())
	if r.Err != nil || !slices.Equal(r.Sum.Ran, []string{"hello"}) {
		t.Fatalf("run after reverting: %v %v", r.Err, r.Failure("hello"))
	}
	if w.eng.builds.Load() != builds {
		t.Errorf("reverting to an earlier key started a build")
	}
	if img := imageFor(t, docker, first.String()); !slices.Contains(img.Tags, w.Repo+":latest") {
		t.Errorf("latest does not point at the reverted image: %v", img.Tags)
	}
}

func TestImageRemovedByHand(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := helloWorkspace(t, docker)
	w.MustRun()
	key := w.StateKey("hello")
	img := imageFor(t, docker, key.String())
	if err := docker.Remove(context.Background(), img.ID); err != nil {
		t.Fatal(err)
	}
	it := w.Plan("hello")
	want := "image " + w.Repo + ":" + key.Short() + " is not in the Docker Engine"
	if !it.Run || !slices.Equal(it.Reasons, []string{want}) {
		t.Errorf("plan after docker rmi: %+v, want reason %q", it, want)
	}
	if ran, _ := w.MustRun(); !slices.Equal(ran, []string{"hello"}) {
		t.Errorf("ran %v after docker rmi", ran)
	}
	imageFor(t, docker, key.String())

	// A tag removed by hand is put back without a build: plan only says so
	// (it changes nothing), and the run re-tags.
	builds := w.eng.builds.Load()
	if err := docker.Remove(context.Background(), w.Repo+":latest"); err != nil {
		t.Fatal(err)
	}
	if it := w.Plan("hello"); !it.Run || !strings.Contains(strings.Join(it.Reasons, ";"), "lacks the tag(s) "+w.Repo+":latest") {
		t.Errorf("plan after a tag was removed: %+v", it)
	}
	if img := imageFor(t, docker, key.String()); slices.Contains(img.Tags, w.Repo+":latest") {
		t.Error("plan put the tag back: it must change nothing")
	}
	if ran, _ := w.MustRun(); !slices.Equal(ran, []string{"hello"}) {
		t.Errorf("ran %v, want hello (a re-tag)", ran)
	}
	if img := imageFor(t, docker, key.String()); !slices.Contains(img.Tags, w.Repo+":latest") || w.eng.builds.Load() != builds {
		t.Errorf("tags %v after retagging, %d builds", img.Tags, w.eng.builds.Load()-builds)
	}
}

// TestImageFromImage builds a base FROM scratch from a binary that a task
// puts in its context, then an image FROM it through deps, with
// multi-stage and ARG-substituted FROM lines.
func TestImageFromImage(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := newWorkspace(t, docker, map[string]string{
		"ferry.star": `
task(name = "bin", cmd = "cp hello.bin base/hello", srcs = ["hello.bin"], outs = ["base/hello"])
image(name = "base", repo = "REPO-base", context = "base", deps = ["bin"])
image(name = "app", repo = "REPO-app", context = "app", deps = ["base"], build_args = {"BASE": "REPO-base"})
`,
		"base/Dockerfile": "FROM scratch\nCOPY hello /hello\n",
		"app/Dockerfile": `ARG BASE=nothing
FROM ${BASE} AS build
COPY greeting.txt /greeting.txt

FROM build
`,
		"app/greeting.txt": "hi\n",
	})
	w.CopyHello("hello.bin") // a task copies it into the base's context
	if ran, _ := w.MustRun(); !slices.Equal(ran, []string{"bin", "base", "app"}) {
		t.Fatalf("ran %v, want bin, base, then app", ran)
	}
	baseKey, appKey := w.StateKey("base"), w.StateKey("app")
	base, app := imageFor(t, docker, baseKey.String()), imageFor(t, docker, appKey.String())
	if base.ID == app.ID {
		t.Fatal("app is the same image as base")
	}

	// A change to the base rebuilds both; the app then uses the new base.
	w.Write("base/extra.txt", "x\n")
	w.Write("base/Dockerfile", "FROM scratch\nCOPY hello /hello\nCOPY extra.txt /extra.txt\n")
	r := w.Run(context.Background())
	if r.Err != nil || !slices.Equal(r.Sum.Ran, []string{"base", "app"}) {
		t.Fatalf("after a base change: ran %v, %v %s", r.Sum.Ran, r.Err, r.Failure("app"))
	}
	newBase := w.StateKey("base")
	if out := r.Output("app"); !strings.Contains(out, "] FROM docker.io/"+w.Repo+"-base:"+newBase.Short()) {
		t.Errorf("app was not built FROM the new base:\n%s", out)
	}

	// Without the dep, FROM alone makes base a dep: the same key, so app is
	// still up to date.
	w.Write("ferry.star", `
task(name = "bin", cmd = "cp hello.bin base/hello", srcs = ["hello.bin"], outs = ["base/hello"])
image(name = "base", repo = "REPO-base", context = "base", deps = ["bin"])
image(name = "app", repo = "REPO-app", context = "app", build_args = {"BASE": "REPO-base"})
`)
	if it := w.Plan("app"); it.Err != "" || it.Run {
		t.Errorf("plan of app with base implied by FROM: %+v", it)
	}
}

func TestImageErrors(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	down := dockertest.StartRegistry(t) // a registry that is down: its address refuses connections
	downHost := down.Host()
	down.Close()
	absent := downHost + "/ferrytest/absent-" + dockertest.RandomHex(t) + ":3.19"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name:  "base not present",
			files: map[string]string{"Dockerfile": "FROM " + absent + "\nCOPY hello /hello\n"},
			want:  []string{`image "api": base image ` + absent + ` (Dockerfile:1): `, "cannot reach the registry " + downHost},
		},
		{
			name:  "copy from absent image",
			files: map[string]string{"Dockerfile": "FROM scratch\nCOPY --from=" + absent + " /x /x\n"},
			want:  []string{`base image ` + absent + ` (Dockerfile:2): `, "cannot reach the registry " + downHost},
		},
		{
			name:  "syntax error",
			files: map[string]string{"Dockerfile": "FROM scratch\nCOPY hello /hello\nFORM scratch\n"},
			want:  []string{`image "api": Dockerfile:3: unknown instruction: FORM`},
		},
		{
			name:  "missing Dockerfile",
			files: map[string]string{"Dockerfile.other": "FROM scratch\n"},
			want:  []string{"Dockerfile Dockerfile does not exist (image declared at ferry.star:1:6)", "dockerfile ="},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorkspace(t, docker, map[string]string{"ferry.star": `image(name = "api", repo = "REPO")` + "\n"})
			for name, body := range tc.files {
				w.Write(name, body)
			}
			w.CopyHello("hello")
			r := w.Run(context.Background())
			if !errors.Is(r.Err, engine.ErrFailed) {
				t.Fatalf("run: %v, want a failure", r.Err)
			}
			msg := r.Failure("api")
			for _, want := range tc.want {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if w.eng.builds.Load() != 0 {
				t.Errorf("a build started")
			}
		})
	}
}

func TestImageMissingContext(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, nil, map[string]string{
		"ferry.star":        `image(name = "api", repo = "acme/api", context = "api", dockerfile = "docker/Dockerfile")` + "\n",
		"docker/Dockerfile": "FROM scratch\n",
	})
	it := w.Plan("api")
	if want := `image "api": context folder api does not exist (image declared at ferry.star:1:6); create it, or fix context =`; it.Err != want {
		t.Errorf("plan error %q, want %q", it.Err, want)
	}
}

func TestImageBuildFailures(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := newWorkspace(t, docker, map[string]string{
		"ferry.star": `
image(name = "base", repo = "REPO-base", context = "base")
image(name = "fails", repo = "REPO-fails", context = "fails", deps = ["base"])
`,
		"base/Dockerfile":  "FROM scratch\nCOPY hello /hello\n",
		"fails/Dockerfile": "FROM REPO-base\n\n# fails on purpose\nRUN [\"/hello\", \"fail\"]\n",
	})
	w.CopyHello("base/hello")
	r := w.Run(context.Background())
	if !errors.Is(r.Err, engine.ErrFailed) {
		t.Fatalf("run: %v, want a failure", r.Err)
	}
	msg := r.Failure("fails")
	for _, want := range []string{`build failed at fails/Dockerfile:4 (RUN ["/hello", "fail"])`, "exit code: 3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if out := r.Output("fails"); !strings.Contains(out, "failing on purpose") {
		t.Errorf("the failing command's output is not in the log:\n%s", out)
	}
	if imgs, _ := docker.ImagesByLabel(context.Background(), objects.LabelRule, "fails"); len(imgs) != 0 {
		t.Errorf("a failed build left an image: %v", imgs)
	}
}

func TestImageBuildCancelled(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := newWorkspace(t, docker, map[string]string{
		"ferry.star": `
image(name = "base", repo = "REPO-base", context = "base")
image(name = "slow", repo = "REPO", context = "slow", deps = ["base"])
`,
		"base/Dockerfile": "FROM scratch\nCOPY hello /hello\n",
		"slow/Dockerfile": "FROM REPO-base\nRUN [\"/hello\", \"sleep\"]\n",
	})
	w.CopyHello("base/hello")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled time.Time
	w.OnEvent = func(e engine.Event) {
		if e.Rule == "slow" && strings.Contains(e.Text, `] RUN ["/hello", "sleep"]`) && cancelled.IsZero() {
			cancelled = time.Now()
			cancel()
		}
	}
	r := w.Run(ctx)
	if r.Err == nil || !r.Sum.Interrupted || slices.Contains(r.Sum.Ran, "slow") {
		t.Fatalf("run: %v, summary %+v, want slow interrupted", r.Err, r.Sum)
	}
	if cancelled.IsZero() {
		t.Fatal("the slow step never started")
	}
	// The step sleeps a minute: a run that ends well before is one that
	// stopped the step rather than waited for it. A tighter bound would
	// time the Engine, which a loaded machine slows.
	if d := time.Since(cancelled); d > 40*time.Second {
		t.Errorf("the build took %s to stop: it waited for the step's minute of sleep", d)
	}
}

// TestNoDockerForTasks checks that a workspace without images never calls
// the Engine, even with the Docker plugin loaded.
func TestNoDockerForTasks(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, nil, map[string]string{"ferry.star": `task(name = "t", cmd = "true")` + "\n"})
	w.eng = &countingEngine{Client: panicEngine{t: t}}
	if ran, _ := w.MustRun(); !slices.Equal(ran, []string{"t"}) {
		t.Errorf("ran %v", ran)
	}
}

// panicEngine fails the test on any call (a live update call panics on
// the nil liveEngine).
type panicEngine struct {
	t *testing.T
	liveClient
}

func (p panicEngine) Ping(context.Context) error { p.t.Error("Ping called"); return nil }
func (p panicEngine) ImageID(context.Context, string) (string, error) {
	p.t.Error("ImageID called")
	return "", nil
}
func (p panicEngine) ImagesByLabel(context.Context, string, string) ([]dockerapi.Image, error) {
	p.t.Error("ImagesByLabel called")
	return nil, nil
}
func (p panicEngine) Build(context.Context, io.Reader, dockerapi.BuildOptions, io.Writer) (string, error) {
	p.t.Error("Build called")
	return "", nil
}
func (p panicEngine) Builder(context.Context) (dockerapi.BuilderInfo, error) {
	p.t.Error("Builder called")
	return dockerapi.BuilderInfo{}, nil
}
func (p panicEngine) BuildWithBuildKit(context.Context, dockerapi.BuildKitOptions, io.Writer) (string, error) {
	p.t.Error("BuildWithBuildKit called")
	return "", nil
}
func (p panicEngine) Tag(context.Context, string, string) error { p.t.Error("Tag called"); return nil }
func (p panicEngine) ImageRef(context.Context, string) (dockerapi.ImageRef, bool, error) {
	p.t.Error("ImageRef called")
	return dockerapi.ImageRef{}, false, nil
}
func (p panicEngine) Pull(context.Context, string, string, func(dockerapi.LayerProgress)) error {
	p.t.Error("Pull called")
	return nil
}
func (p panicEngine) Remove(context.Context, string) error { p.t.Error("Remove called"); return nil }

func TestEngineUnreachable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
	c := dockerapi.New()
	err := c.Ping(context.Background())
	want := "cannot reach the Docker Engine at unix:///nonexistent.sock: is it running? (start it, or fix DOCKER_HOST, which is set)"
	if err == nil || err.Error() != want {
		t.Fatalf("Ping: %v, want %q", err, want)
	}
	var ue *dockerapi.UnreachableError
	if !errors.As(err, &ue) {
		t.Errorf("error is a %T, want *dockerapi.UnreachableError", err)
	}

	// Through the engine: the rule fails with the same one line.
	w := newWorkspace(t, nil, map[string]string{
		"ferry.star": `image(name = "api", repo = "acme/api")` + "\n",
		"Dockerfile": "FROM scratch\n",
	})
	r := w.Run(context.Background())
	if got := r.Failure("api"); got != want {
		t.Errorf("rule error %q, want %q", got, want)
	}
}

func TestImageDeclarationErrors(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		`image(name = "a", repo = "Acme/API")`:                        `image "a": repo "Acme/API" is not a valid repository name`,
		`image(name = "a", repo = "acme/api:1")`:                      `image "a": repo "acme/api:1" has a tag or digest`,
		`image(name = "a")`:                                           `missing required argument "repo"`,
		`image(name = "a", repo = "acme/api", context = "../x")`:      `image "a": context: "../x" leaves the workspace`,
		`image(name = "a", repo = "acme/api", tag = ["a b"])`:         `image "a": tag "a b"`,
		`image(name = "a", repo = "acme/api", tag = ["x/y"])`:         `needs a tag`,
		`image(name = "a b", repo = "acme/api")`:                      `no spaces`,
		`image(name = "a", repo = "acme/api", build_args = {"A": 1})`: `build_args: got dict, want dict of string to string`,
	} {
		w := newWorkspace(t, nil, map[string]string{"ferry.star": src + "\n"})
		_, err := w.Load(context.Background(), engine.NewBus(redact.New()))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", src, err, want)
		}
	}
}

func TestContextInputs(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, nil, map[string]string{
		"ferry.star": `image(name = "a", repo = "acme/a", context = "ctx", dockerfile = "build/Dockerfile", ignore = ["/secret", "**/*.tmp"])
image(name = "b", repo = "acme/b", context = "ctx2")
image(name = "c", repo = "acme/c")
`,
		"build/Dockerfile":    "FROM scratch\n",
		"ctx/.dockerignore":   "# comment\nvendor\n!vendor/keep.txt\ndocs/\n",
		"ctx/main.go":         "",
		"ctx/secret":          "",
		"ctx/sub/x.tmp":       "",
		"ctx/sub/y.go":        "",
		"ctx/vendor/drop.txt": "",
		"ctx/vendor/keep.txt": "",
		"ctx/docs/a.md":       "",
		"ctx2/Dockerfile":     "FROM scratch\n",
		"ctx2/.dockerignore":  "Dockerfile\n.dockerignore\n*\n!app\n",
		"ctx2/app":            "",
		"ctx2/other":          "",
		"Dockerfile":          "FROM scratch\n",
		".git/HEAD":           "",
		"notes.txt":           "",
	})
	w.Write(".ferry/junk", "")
	e, err := w.Load(context.Background(), engine.NewBus(redact.New()))
	if err != nil {
		t.Fatal(err)
	}
	for rule, want := range map[string][]string{
		"a": {"build/Dockerfile", "ctx/.dockerignore", "ctx/main.go", "ctx/sub/y.go", "ctx/vendor/keep.txt"},
		"b": {"ctx2/.dockerignore", "ctx2/Dockerfile", "ctx2/app"},
		"c": {".git/HEAD", "Dockerfile", "build/Dockerfile", "ctx/.dockerignore", "ctx/docs/a.md", "ctx/main.go", "ctx/secret", "ctx/sub/x.tmp", "ctx/sub/y.go", "ctx/vendor/drop.txt", "ctx/vendor/keep.txt", "ctx2/.dockerignore", "ctx2/Dockerfile", "ctx2/app", "ctx2/other", "ferry.star", "notes.txt"},
	} {
		got, err := e.Graph.Rule(rule).Inputs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("inputs of %s:\n got %v\nwant %v", rule, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(w.Root, ".ferry")); err != nil {
		t.Fatal(err)
	}
}

// imagesOnly answers ImagesByLabel from a list; other calls are not expected.
type imagesOnly struct {
	Client
	imgs []dockerapi.Image
}

func (f imagesOnly) ImagesByLabel(context.Context, string, string) ([]dockerapi.Image, error) {
	return f.imgs, nil
}

// An image built by hand FROM a ferry image inherits its key label: lookup
// must still find ferry's own image, by its tag or else as the oldest.
func TestLookupPrefersTheOriginal(t *testing.T) {
	t.Parallel()
	key := engine.HashBytes([]byte("k"))
	now := time.Now()
	original := dockerapi.Image{ID: "sha256:orig", Created: now.Add(-time.Hour)}
	child := dockerapi.Image{ID: "sha256:child", Created: now}
	i := &Image{repo: "acme/api"}
	i.docker = imagesOnly{imgs: []dockerapi.Image{child, original}}
	if img, _ := i.lookup(context.Background(), key); img == nil || img.ID != "sha256:orig" {
		t.Errorf("untagged: lookup = %+v, want the oldest", img)
	}
	child.Tags = []string{i.Ref(key)}
	i.docker = imagesOnly{imgs: []dockerapi.Image{original, child}}
	if img, _ := i.lookup(context.Background(), key); img == nil || img.ID != "sha256:child" {
		t.Errorf("tagged: lookup = %+v, want the one with the key's tag", img)
	}
}

// lostCacheEngine fails the first fails builds as the classic builder does
// when another build's cleanup removed an image from its cache mid-build,
// after reading the whole context, and passes the rest on.
type lostCacheEngine struct {
	Client
	fails    int32
	attempts atomic.Int32
}

// Builder says the Engine has no BuildKit: the classic builder is the one
// whose cache loses images.
func (c *lostCacheEngine) Builder(context.Context) (dockerapi.BuilderInfo, error) {
	return dockerapi.BuilderInfo{APIVersion: "1.41"}, nil
}

func (c *lostCacheEngine) Build(ctx context.Context, r io.Reader, o dockerapi.BuildOptions, out io.Writer) (string, error) {
	if c.attempts.Add(1) <= c.fails {
		io.Copy(io.Discard, r)
		return "", &dockerapi.BuildError{Step: 2, Instruction: "COPY hello /hello", Message: `unable to find image "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"`}
	}
	return c.Client.Build(ctx, r, o, out)
}

func TestImageBuildRetriesLostCachedImage(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := helloWorkspace(t, docker)
	eng := &lostCacheEngine{Client: docker, fails: 1}
	w.eng = &countingEngine{Client: eng}
	r := w.Run(context.Background())
	if r.Err != nil {
		t.Fatalf("run: %v: %s", r.Err, r.Failure("hello"))
	}
	if n := eng.attempts.Load(); n != 2 {
		t.Errorf("%d build attempts, want 2: one lost its cached image, the next built", n)
	}
	out := r.Output("hello")
	for _, want := range []string{"lost an image that the build used from its cache", "building again (attempt 2 of 3)", "built " + w.Repo + ":"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	imageFor(t, docker, w.StateKey("hello").String())
}

func TestImageBuildLostCachedImageGivesUp(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := helloWorkspace(t, docker)
	eng := &lostCacheEngine{Client: docker, fails: 5}
	w.eng = &countingEngine{Client: eng}
	r := w.Run(context.Background())
	if r.Err == nil {
		t.Fatal("the run worked, want the build to fail after 3 attempts")
	}
	if n := eng.attempts.Load(); n != 3 {
		t.Errorf("%d build attempts, want 3", n)
	}
	if got := r.Failure("hello"); !strings.Contains(got, `unable to find image "sha256:0123`) || !strings.Contains(got, "Dockerfile:2") {
		t.Errorf("the failure does not give the Engine's error at its line: %s", got)
	}
}

func TestLostCachedImageMessages(t *testing.T) {
	for msg, want := range map[string]bool{
		`unable to find image "sha256:0123abcd"`:                         true,
		"unable to find image sha256:0123abcd: reference does not exist": true,
		"unable to find image 'acme/app:1' locally":                      false,
		"pull access denied for acme/app, repository does not exist":     false,
	} {
		if got := lostCachedImage.MatchString(msg); got != want {
			t.Errorf("%q: retried %v, want %v", msg, got, want)
		}
	}
}
