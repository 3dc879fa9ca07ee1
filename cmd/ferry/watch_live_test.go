package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// liveAppMain serves the files under /srv/static and, at /hups, how many
// SIGHUPs it received.
const liveAppMain = `package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

func main() {
	var hups atomic.Int32
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP)
	go func() {
		for range sig {
			hups.Add(1)
		}
	}()
	http.Handle("/", http.FileServer(http.Dir("/srv/static")))
	http.HandleFunc("/hups", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, hups.Load()) })
	http.ListenAndServe(":8080", nil)
}
`

// liveWorkspace is a Docker workspace whose image has live_update steps
// and a service runs it.
func newLiveWatchWorkspace(t *testing.T) *dockerWorkspace {
	dw := newDockerWorkspace(t, "")
	dw.write(t, "app/main.go", liveAppMain)
	dw.write(t, "app/Dockerfile", "FROM scratch\nCOPY app /app\nCOPY static /srv/static\nENTRYPOINT [\"/app\"]\n")
	dw.write(t, "app/static/index.html", "v1\n")
	dw.write(t, "ferry.star", fmt.Sprintf(`task(name = "app-bin", cmd = "CGO_ENABLED=0 go build -o app .", dir = "app", srcs = ["app/main.go", "app/go.mod"], outs = ["app/app"])
image(name = "app-image", repo = %q, context = "app", deps = ["app-bin"], live_update = [
    sync("app/static", "/srv/static"),
    signal("HUP", trigger = ["app/static/*.conf"]),
])
service(name = "web", image = "app-image")
`, dw.repo))
	return dw
}

// webContainer returns the ID of web's running container, or "".
func (dw *dockerWorkspace) webContainer(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-q", "--filter", "label=ferry.project="+dw.project, "--filter", "label=ferry.rule=web").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// ferry watch brings the service up, live-updates it when a synced file
// changes (the container stays, the file is served, the signal arrives),
// and removes it on Ctrl-C; with --keep it stays.
func TestWatchLiveUpdate(t *testing.T) {
	t.Parallel()
	dw := newLiveWatchWorkspace(t)
	p := dw.start(t, append(slices.Clone(jsonArgs), "--project", dw.project, "watch")...)
	eventually(t, "the first run and the watch to start", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	id := dw.webContainer(t)
	if id == "" {
		t.Fatalf("watch did not bring web up:\n%s", p.stderr.String())
	}
	addr := "http://" + containerIP(t, id) + ":8080"
	if got := httpGet(t, addr+"/index.html"); got != "v1\n" {
		t.Fatalf("index.html: %q", got)
	}

	dw.write(t, "app/static/index.html", "v2\n")
	eventually(t, "the changed file to be served", func() bool { return httpGet(t, addr+"/index.html") == "v2\n" })
	eventually(t, "the live update to be reported", func() bool {
		return strings.Contains(p.stderr.String(), `"live-updated in `)
	})
	dw.write(t, "app/static/app.conf", "reload\n")
	eventually(t, "SIGHUP to arrive", func() bool { return httpGet(t, addr+"/hups") == "1" })
	if now := dw.webContainer(t); now != id {
		t.Errorf("web's container was replaced (%s, was %s): a live update keeps it", now, id)
	}

	// A service replaced during the watch runs the image of the last build:
	// the watch syncs its new container too.
	star, err := os.ReadFile(dw.path("ferry.star"))
	if err != nil {
		t.Fatal(err)
	}
	dw.write(t, "ferry.star", strings.Replace(string(star), `image = "app-image")`, `image = "app-image", env = {"X": "1"})`, 1))
	eventually(t, "web to be replaced", func() bool { now := dw.webContainer(t); return now != "" && now != id })
	addr = "http://" + containerIP(t, dw.webContainer(t)) + ":8080"
	eventually(t, "the new container to be synced", func() bool { return httpGet(t, addr+"/index.html") == "v2\n" })
	r0 := p.stderr.String()
	if !strings.Contains(r0, "syncing the new containers of app-image") {
		t.Errorf("the re-sync is not logged:\n%s", r0)
	}

	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	r.wantCode(t, 130)
	if c := dw.containers(t); len(c) != 0 {
		t.Errorf("containers left after the watch ended: %v\n%s", c, r.stderr)
	}
	r.wantStderr(t, "which this watch started")

	// With --keep the service stays; the image, live-updated only, is
	// rebuilt first: no container of it runs to update.
	p = dw.start(t, append(slices.Clone(jsonArgs), "--project", dw.project, "watch", "--keep")...)
	eventually(t, "the watch to start again", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	p.cmd.Process.Signal(os.Interrupt)
	r = p.wait(t)
	r.wantCode(t, 130)
	if c := dw.containers(t); len(c) != 1 || !strings.Contains(c[0], " running ") {
		t.Errorf("with --keep, want web still running: %v\n%s", c, r.stderr)
	}
	if got := httpGet(t, "http://"+containerIP(t, dw.webContainer(t))+":8080/index.html"); got != "v2\n" {
		t.Errorf("after the rebuild, index.html is %q", got)
	}
}

// The liveupdate example does under ferry watch what its README says:
// pages and the greeting reach the running container, a greeting that
// fails its check fails the live update without ending the watch, and
// Ctrl-C removes the site.
func TestLiveUpdateExample(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/liveupdate")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, ".ferry"))
	b := make([]byte, 4)
	rand.Read(b)
	project := "ferryex-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		exec.Command(ferryBin, "-C", dir, "--project", project, "down", "--volumes", "--rmi").Run()
	})
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	p := startFerry(t, dir, append(slices.Clone(jsonArgs), "--project", project, "watch")...)
	eventually(t, "the first run and the watch to start", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	var site string
	for _, s := range projectStatus(t, dir, project) {
		if s.Name == "site" {
			site = publishedURL(s.Ports)
		}
	}
	if site == "" {
		t.Fatalf("the site is not published:\n%s", p.stderr.String())
	}
	if got := httpGet(t, site+"/greeting"); got != "hello from ferry\n" {
		t.Fatalf("GET /greeting: %q", got)
	}

	write("site/conf/greeting.txt", "hi again\n")
	eventually(t, "the new greeting", func() bool { return httpGet(t, site+"/greeting") == "hi again\n" })
	write("site/static/index.html", "<h1>edited</h1>\n")
	eventually(t, "the edited page", func() bool { return strings.Contains(httpGet(t, site+"/"), "edited") })

	write("site/conf/greeting.txt", "\n")
	eventually(t, "the failed check to be reported", func() bool {
		return strings.Contains(p.stderr.String(), `exited with code 1 in `+project+`-site-1`)
	})
	write("site/conf/greeting.txt", "third\n")
	eventually(t, "the fixed greeting", func() bool { return httpGet(t, site+"/greeting") == "third\n" })

	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	if c := (&dockerWorkspace{project: project}).containers(t); len(c) != 0 {
		t.Errorf("containers left after the watch: %v", c)
	}
}
