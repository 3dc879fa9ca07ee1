package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// Markers stand for the contents of /etc/passwd and of an age identity:
// they must never reach a build context, an error or what a hash reads.
const (
	markerPasswd = "root:x:0:0:MARKER-PASSWD"
	markerAge    = "AGE-SECRET-KEY-1MARKERMARKER"
)

// outsideFiles returns a folder outside the workspace holding passwd and
// age/keys.txt with the markers.
func outsideFiles(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	for name, body := range map[string]string{"passwd": markerPasswd + ":/root:/bin/sh\n", "age/keys.txt": markerAge + "\n"} {
		os.MkdirAll(filepath.Join(out, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(out, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// links makes the links (link → target) in w; "OUT" in a target stands for
// the folder out.
func (w *testWorkspace) links(out string, links map[string]string) {
	w.T.Helper()
	for link, target := range links {
		p := filepath.Join(w.Root, link)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(strings.ReplaceAll(target, "OUT", out), p); err != nil {
			w.T.Fatal(err)
		}
	}
}

func noMarker(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, m := range []string{markerPasswd, markerAge} {
		if bytes.Contains(b, []byte(m)) {
			t.Errorf("%s holds the contents of a file outside the workspace (%q)", what, m)
		}
	}
}

// contextLinks are links in an image context: to a folder inside, to a
// file and a folder outside, and loops.
var contextLinks = map[string]string{
	"app/vendor": "../lib",
	"app/passwd": "OUT/passwd",
	"app/keys":   "OUT/age",
	"app/loopa":  "loopb",
	"app/loopb":  "loopa",
	"app/self":   ".",
	"app/parent": "..",
}

// A link in a context travels as a link: it is keyed by its target string,
// sent with it, and never entered or read, whatever it points to.
func TestContextLinks(t *testing.T) {
	t.Parallel()
	out := outsideFiles(t)
	w := newWorkspace(t, nil, map[string]string{
		"ferry.star":     `image(name = "a", repo = "acme/a", context = "app")`,
		"app/Dockerfile": "FROM scratch\n",
		"app/main.go":    "package main\n",
		"lib/x.go":       "package lib\n",
	})
	w.links(out, contextLinks)
	e, err := w.Load(context.Background(), engine.NewBus(redact.New()))
	if err != nil {
		t.Fatal(err)
	}
	i := imageRule(t, e, "a")
	inputs, err := i.Inputs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(inputs)
	want := []string{"app/Dockerfile", "app/keys", "app/loopa", "app/loopb", "app/main.go", "app/parent", "app/passwd", "app/self", "app/vendor"}
	if !slices.Equal(inputs, want) {
		t.Errorf("inputs\n got %v\nwant %v", inputs, want)
	}
	sums, err := e.Index.Sums(inputs)
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != len(want) {
		t.Errorf("hashed %d inputs, want %d: %v", len(sums), len(want), sums)
	}
	content, _ := os.ReadFile(filepath.Join(out, "passwd"))
	for _, s := range sums {
		if s.Path == "app/passwd" && s.Sum == engine.HashBytes(content) {
			t.Errorf("app/passwd was keyed by the contents of the file it links to")
		}
	}

	bc, err := i.readContext(context.Background(), e.Workspace)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bc.writeTar(context.Background(), &buf, e.Workspace, []byte("FROM scratch\n"), nil); err != nil {
		t.Fatal(err)
	}
	noMarker(t, "the build context", buf.Bytes())
	got := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[hdr.Name] = hdr.Linkname
		if hdr.Typeflag != tar.TypeSymlink && hdr.Linkname != "" {
			t.Errorf("%s: type %c with a link name", hdr.Name, hdr.Typeflag)
		}
	}
	for link, target := range contextLinks {
		name := strings.TrimPrefix(link, "app/")
		if got[name] != strings.ReplaceAll(target, "OUT", out) {
			t.Errorf("%s: sent as %q, want a link to %s", name, got[name], target)
		}
	}
	for name := range got {
		if strings.HasPrefix(name, "vendor/") || strings.HasPrefix(name, "keys/") || strings.HasPrefix(name, "self/") {
			t.Errorf("the context entered a linked folder: it sends %s", name)
		}
	}
}

// A Dockerfile that is a link out of the workspace is refused, naming the
// link and the image; one that links inside is read, and keyed by its
// contents.
func TestDockerfileLinks(t *testing.T) {
	t.Parallel()
	out := outsideFiles(t)
	w := newWorkspace(t, nil, map[string]string{
		"ferry.star": `image(name = "out", repo = "acme/out", context = "app")
image(name = "in", repo = "acme/in", context = "app2")
`,
		"app/main.go":       "",
		"app2/main.go":      "",
		"shared/Dockerfile": "FROM scratch\nCOPY main.go /\n",
	})
	w.links(out, map[string]string{"app/Dockerfile": "OUT/passwd", "app2/Dockerfile": "../shared/Dockerfile"})
	e, err := w.Load(context.Background(), engine.NewBus(redact.New()))
	if err != nil {
		t.Fatal(err)
	}
	h := engine.NewHasher()
	err = imageRule(t, e, "out").Definition(context.Background(), h)
	if err == nil || !strings.Contains(err.Error(), "app/Dockerfile is a link to "+out+"/passwd") || !strings.Contains(err.Error(), "ferry.star:1:6") {
		t.Errorf("got %v, want a refusal of the link app/Dockerfile naming the image's position", err)
	}
	if err != nil {
		noMarker(t, "the error", []byte(err.Error()))
	}

	in := imageRule(t, e, "in")
	before := engine.NewHasher()
	if err := in.Definition(context.Background(), before); err != nil {
		t.Fatal(err)
	}
	w.Write("shared/Dockerfile", "FROM scratch\nCOPY main.go /main.go\n")
	after := engine.NewHasher()
	if err := in.Definition(context.Background(), after); err != nil {
		t.Fatal(err)
	}
	if before.Sum() == after.Sum() {
		t.Errorf("the key of an image whose Dockerfile links to a file inside did not follow that file's contents")
	}
}

// The Engine builds a context that holds links to folders and loops.
func TestImageBuildContextWithLinks(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	out := outsideFiles(t)
	w := helloWorkspace(t, docker)
	w.Write("lib/x.go", "package lib\n")
	w.links(out, contextLinks)
	r := w.Run(context.Background())
	if r.Err != nil {
		t.Fatalf("run: %v: %s", r.Err, r.Failure("hello"))
	}
	var all strings.Builder
	for _, ev := range r.Events {
		all.WriteString(ev.Text + ev.Err + "\n")
	}
	noMarker(t, "the events", []byte(all.String()))
	if !slices.Equal(r.Sum.Ran, []string{"hello"}) {
		t.Errorf("ran %v, want hello", r.Sum.Ran)
	}
}
