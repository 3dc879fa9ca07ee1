package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// imageRule returns the image rule name of a loaded workspace.
func imageRule(t *testing.T, e *engine.Engine, name string) *Image {
	t.Helper()
	i, ok := e.Graph.Rule(name).(*Image)
	if !ok {
		t.Fatalf("no image rule %s", name)
	}
	return i
}

func TestSecretFilesSent(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, nil, map[string]string{
		"ferry.star": `
a = secret("a", file = "ctx/a.token")
b = secret("b", file = "ctx/keys/b.token")
c = secret("c", dotenv = "ctx/.env", env = "C")
d = secret("d", encrypted = "ctx/d.age")
e = secret("e", file = "outside.token")
f = secret("f", file = "ctx/f.token")
image(name = "open", repo = "acme/open", context = "ctx")
image(name = "ignoring", repo = "acme/ignoring", context = "ctx", ignore = ["f.token"])
image(name = "other", repo = "acme/other", context = "other")
g = secret("g", file = "gone/g.token")
image(name = "gone", repo = "acme/gone", context = "gone")
`,
		"ctx/Dockerfile":    "FROM scratch\nCOPY . /app\n",
		"ctx/.dockerignore": "keys/\n",
		"other/Dockerfile":  "FROM scratch\n",
		// Only paths matter: the files are not read, nor need to exist.
	})
	e, err := w.Load(context.Background(), engine.NewBus(redact.New()))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ctx/a.token", "ctx/keys/b.token", "ctx/.env", "ctx/d.age", "outside.token", "ctx/f.token"} {
		w.Write(name, "written after evaluation\n")
	}
	for rule, want := range map[string][]string{
		"open":     {"a ctx/a.token ferry.star:2:11", "c ctx/.env ferry.star:4:11", "f ctx/f.token ferry.star:7:11"},
		"ignoring": {"a ctx/a.token ferry.star:2:11", "c ctx/.env ferry.star:4:11"},
		"other":    nil,
		"gone":     nil, // no context folder: nothing is sent
	} {
		files, err := imageRule(t, e, rule).SecretFilesSent(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range files {
			got = append(got, fmt.Sprintf("%s %s %s", f.Secret, f.Path, f.Pos))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s sends %v, want %v", rule, got, want)
		}
	}
	err = imageRule(t, e, "open").secretFilesError([]engine.SecretFile{{Secret: "a", Path: "ctx/a.token"}})
	for _, want := range []string{"ctx/a.token", "secret a", "move the file out of ctx", "add a.token to ctx/.dockerignore", "secret_files"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestWriteTarStopsAtSecretValue streams a context in which one large file
// holds a secret's value: the stream stops with an error naming the file
// and the secret, and holds no byte of the value.
func TestWriteTarStopsAtSecretValue(t *testing.T) {
	t.Parallel()
	const value = "s3cr3t-build-value"
	pad := strings.Repeat("x", 70_000)
	for name, files := range map[string]map[string]string{
		"file":       {"ctx/Dockerfile": "FROM scratch\n", "ctx/a.txt": "clean\n", "ctx/big.bin": pad + value + pad},
		"dockerfile": {"ctx/Dockerfile": "FROM scratch\nLABEL x=" + value + "\n"},
	} {
		t.Run(name, func(t *testing.T) {
			files["ferry.star"] = `image(name = "app", repo = "acme/app", context = "ctx")` + "\n"
			w := newWorkspace(t, nil, files)
			e, err := w.Load(context.Background(), engine.NewBus(redact.New()))
			if err != nil {
				t.Fatal(err)
			}
			i := imageRule(t, e, "app")
			bc, err := i.readContext(context.Background(), i.ws)
			if err != nil {
				t.Fatal(err)
			}
			df, _ := i.parse()
			dockerfile := df.render(nil, nil)
			r := redact.New()
			if err := bc.writeTar(context.Background(), &bytes.Buffer{}, i.ws, dockerfile, r.Matcher()); err != nil {
				t.Fatalf("no values known: %v", err)
			}
			r.Add("tok", value)
			var out bytes.Buffer
			err = bc.writeTar(context.Background(), &out, i.ws, dockerfile, r.Matcher())
			var se *secretContentError
			if !errors.As(err, &se) || se.secret != "tok" || !strings.Contains(err.Error(), "holds the value of secret tok") {
				t.Fatalf("err = %v, want a secretContentError for tok", err)
			}
			if strings.Contains(err.Error(), value) || bytes.Contains(out.Bytes(), []byte(value)) {
				t.Fatal("the value got out")
			}
		})
	}
}

// projectImages returns the IDs of the images labelled with w's project.
func projectImages(t *testing.T, w *testWorkspace) []string {
	t.Helper()
	imgs, err := w.Docker.ImagesByLabel(context.Background(), objects.LabelProject, w.Project)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, img := range imgs {
		ids = append(ids, img.ID)
	}
	return ids
}

// noValue fails the test when a run's events show value.
func noValue(t *testing.T, r dockertest.RunResult, value string) {
	t.Helper()
	for _, e := range r.Events {
		if strings.Contains(e.Text+e.Err, value) {
			t.Fatalf("event %s of %s shows the value: %s%s", e.Kind, e.Rule, e.Text, e.Err)
		}
	}
}

// A secret(file =) inside the context: the build is refused before the
// Engine sees anything, until .dockerignore leaves the file out.
func TestImageRefusesSecretFileInContext(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	const value = "file-secret-value-0123"
	w := newWorkspace(t, docker, map[string]string{
		"ferry.star": `tok = secret("tok", file = "ctx/api.token")
image(name = "app", repo = "REPO", context = "ctx")
`,
		"ctx/Dockerfile": "FROM scratch\nCOPY . /app\n",
		"ctx/api.token":  value,
		"ctx/conf.txt":   "REPO\n",
	})
	r := w.Run(context.Background())
	msg := r.Failure("app")
	if r.Err == nil || !strings.Contains(msg, "its build context ctx sends ctx/api.token (the value of secret tok, declared at ferry.star:1:13)") ||
		!strings.Contains(msg, "add api.token to ctx/.dockerignore") {
		t.Fatalf("want the build refused, naming the file and the secret; got %v: %s", r.Err, msg)
	}
	noValue(t, r, value)
	if n := w.eng.builds.Load(); n != 0 {
		t.Errorf("%d builds started, want none", n)
	}
	if ids := projectImages(t, w); len(ids) != 0 {
		t.Errorf("images %v exist, want none", ids)
	}

	w.Write("ctx/.dockerignore", "api.token\n")
	w.MustRun()
	if n := w.eng.builds.Load(); n != 1 {
		t.Errorf("%d builds once .dockerignore leaves the file out, want 1", n)
	}
}

// A task given a secret writes its value into the context: the build is
// refused while the context streams, before the value's first byte, and
// no image is made.
func TestImageRefusesSecretValueInContext(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	const value = "task-secret-value-4567"
	const star = `tok = secret("tok", file = "secrets/tok")
task(name = "gen", cmd = 'mkdir -p out && head -c 70000 /dev/zero > ctx/token && printf %s "$TOK" >> ctx/token', secrets = {"TOK": tok}, outs = ["ctx/token"])
image(name = "app", repo = "REPO", context = "ctx", deps = ["gen"])
`
	w := newWorkspace(t, docker, map[string]string{
		"ferry.star":     star,
		"secrets/tok":    value + "\n",
		"ctx/Dockerfile": "FROM scratch\nCOPY . /app\n",
		"ctx/conf.txt":   "REPO\n",
	})
	r := w.Run(context.Background())
	msg := r.Failure("app")
	if r.Err == nil || !strings.Contains(msg, "context file ctx/token holds the value of secret tok") || !strings.Contains(msg, "secret_files") {
		t.Fatalf("want the build refused, naming the file and the secret; got %v: %s", r.Err, msg)
	}
	noValue(t, r, value)
	if ids := projectImages(t, w); len(ids) != 0 {
		t.Errorf("images %v exist, want none", ids)
	}

	// Written elsewhere, the value is no longer in the context.
	if err := os.Remove(filepath.Join(w.Root, "ctx/token")); err != nil {
		t.Fatal(err)
	}
	w.Write("ferry.star", strings.ReplaceAll(star, "ctx/token", "out/token"))
	w.MustRun()
}
