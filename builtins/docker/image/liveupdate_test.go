package image

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// Steps are checked when ferry.star is evaluated, with the position of the
// call at fault.
func TestLiveUpdateErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ star, want string }{
		{`image(name = "i", repo = "r", context = "app", live_update = [sync("other", "/x")])`, "sync source other (ferry.star:1:67) is outside the image's context app"},
		{`image(name = "i", repo = "r", context = "app", live_update = [sync("app/s", "x")])`, `dest "x" is relative; give the absolute path`},
		{`image(name = "i", repo = "r", context = "app", live_update = [sync("app/s", "/x"), signal("BOGUS")])`, `unknown signal "BOGUS"; use one of HUP`},
		{`image(name = "i", repo = "r", context = "app", live_update = [run(["/r"]), sync("app/s", "/x")])`, "sync (ferry.star:1:80) comes after run (ferry.star:1:66); give fall_back_on first"},
		{`image(name = "i", repo = "r", context = "app", live_update = [run(["/r"])])`, "live_update has no sync step"},
		{`image(name = "i", repo = "r", context = "app", live_update = ["x"])`, "live_update"},
	} {
		w := newWorkspace(t, nil, map[string]string{"ferry.star": c.star + "\n", "app/Dockerfile": "FROM scratch\n"})
		_, err := w.Load(context.Background(), engine.NewBus(redact.New()))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %q", c.star, err, c.want)
		}
	}
}

func TestParentsBelow(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		file  string
		dests []string
		want  []string
	}{
		{"/srv/static/a.txt", []string{"/srv/static"}, []string{"/srv/static"}},
		{"/srv/static/n/d/a.txt", []string{"/srv", "/srv/static"}, []string{"/srv/static", "/srv/static/n", "/srv/static/n/d"}},
		{"/etc/app.conf", []string{"/etc/app.conf"}, nil},
	} {
		if got := parentsBelow(c.file, c.dests); !slices.Equal(got, c.want) {
			t.Errorf("parentsBelow(%q, %q) = %q, want %q", c.file, c.dests, got, c.want)
		}
	}
}

// syncFiles maps changed paths to container paths through the innermost
// sync source, and refuses what must be built.
func TestSyncFiles(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t, nil, map[string]string{
		"app/static/a.txt":     "a",
		"app/static/img/b.png": "b",
		"app/conf/c.conf":      "c",
	})
	i := &Image{context: "app", dockerfile: "app/Dockerfile", ws: &engine.Workspace{Root: w.Root}, live: []*step{
		{kind: "fall_back_on", paths: []string{"app/conf/ports.txt"}},
		{kind: "sync", src: "app/static", dest: "/srv"},
		{kind: "sync", src: "app/static/img", dest: "/img"},
		{kind: "sync", src: "app/conf/c.conf", dest: "/etc/c.conf"},
	}}
	files, err := i.syncFiles([]string{"app/conf/c.conf", "app/static/a.txt", "app/static/gone.txt", "app/static/img/b.png"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, fmt.Sprintf("%s→%s gone=%v %s", f.local, f.dest, f.gone, f.body))
	}
	want := []string{
		"app/conf/c.conf→/etc/c.conf gone=false c",
		"app/static/a.txt→/srv/a.txt gone=false a",
		"app/static/gone.txt→/srv/gone.txt gone=true ",
		"app/static/img/b.png→/img/b.png gone=false b",
	}
	if !slices.Equal(got, want) {
		t.Errorf("syncFiles:\n got %q\nwant %q", got, want)
	}
	for path, reason := range map[string]string{
		"app/Dockerfile":     "app/Dockerfile changed",
		"app/.dockerignore":  "app/.dockerignore changed",
		"app/conf/ports.txt": "app/conf/ports.txt changed, and fall_back_on lists app/conf/ports.txt",
		"app/main.go":        "app/main.go changed, and no sync step covers it",
	} {
		_, err := i.syncFiles([]string{"app/static/a.txt", path})
		if fb, ok := err.(*errFallBack); !ok || fb.reason != reason {
			t.Errorf("%s: %v, want a fall back: %s", path, err, reason)
		}
	}
}

func TestResolveUser(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"/etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1234:5678::/:/app\n",
		"/etc/group":  "root:x:0:\nstaff:x:50:\n",
	}
	withFiles := func(name string) []byte { return []byte(files[name]) }
	without := func(string) []byte { return nil }
	for _, c := range []struct {
		user     string
		read     func(string) []byte
		uid, gid int
		err      string
	}{
		{"", without, 0, 0, ""},
		{"1000", without, 1000, 0, ""},
		{"1234", withFiles, 1234, 5678, ""},
		{"1000:50", without, 1000, 50, ""},
		{"app", withFiles, 1234, 5678, ""},
		{"app:staff", withFiles, 1234, 50, ""},
		{"1000:staff", withFiles, 1000, 50, ""},
		{"app", without, 0, 0, `user "app" is not in the container's /etc/passwd`},
		{"1000:wheel", withFiles, 0, 0, `group "wheel" is not in the container's /etc/group`},
	} {
		uid, gid, err := resolveUser(c.user, c.read)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("resolveUser(%q): %v, want an error with %q", c.user, err, c.err)
			}
			continue
		}
		if err != nil || uid != c.uid || gid != c.gid {
			t.Errorf("resolveUser(%q) = %d, %d, %v; want %d, %d", c.user, uid, gid, err, c.uid, c.gid)
		}
	}
}

func TestTriggered(t *testing.T) {
	t.Parallel()
	s := &step{trigger: []string{"app/conf/**/*.toml", "app/static/reload"}}
	for path, want := range map[string]bool{
		"app/conf/a.toml":         true,
		"app/conf/deep/er/b.toml": true,
		"app/conf/a.txt":          false,
		"app/static/reload":       true,
		"app/static/reload/x":     true,
		"app/static/other":        false,
	} {
		if got := s.triggered([]string{"app/x", path}); got != want {
			t.Errorf("triggered by %s: %v, want %v", path, got, want)
		}
	}
	if !(&step{}).triggered([]string{"anything"}) {
		t.Error("a step without trigger must run on every live update")
	}
}

// An image whose base image (another image rule) changed is built: what
// changed is in no file of its context.
func TestDepsLive(t *testing.T) {
	images := &catalog{}
	base := &Image{info: engine.RuleInfo{Name: "base", Kind: "image"}, images: images}
	app := &Image{info: engine.RuleInfo{Name: "app", Kind: "image"}, images: images}
	images.add(base)
	images.add(app)
	if err := app.depsLive([]string{"bin"}); err != nil {
		t.Errorf("a changed task: %v, want a live update", err)
	}
	var fb *errFallBack
	if err := app.depsLive([]string{"bin", "base"}); !errors.As(err, &fb) || !strings.Contains(fb.reason, "the image base it depends on changed") {
		t.Errorf("a changed base image: %v, want a fall back that names it", err)
	}
}

// The live update's last line breaks its time down by phase, in the order
// the phases began, each summed over the containers.
func TestPhaseTimes(t *testing.T) {
	var p phaseTimes
	if got := p.String(); got != "" {
		t.Errorf("no phase: %q, want nothing", got)
	}
	p.add("sync", 30*time.Millisecond)
	p.add("restart", time.Second)
	p.add("sync", 50*time.Millisecond)
	if got, want := p.String(), ": sync 80ms, restart 1s"; got != want {
		t.Errorf("phases %q, want %q", got, want)
	}
}
