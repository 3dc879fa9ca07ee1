package docker

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/docker/local"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// liveSrc is a server for FROM scratch images: GET /file?p=PATH answers
// "uid:gid contents" of a file (or "uid:gid" of a folder), GET /hups the
// number of SIGHUPs it received. Called as rm, it deletes files. `mark` appends a line to /tmp/marks,
// `fail` exits with 4, and `stop` stops the server (its container's main
// process) and waits to be killed with it.
const liveSrc = `package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if filepath.Base(os.Args[0]) == "rm" {
		for _, a := range os.Args[1:] {
			if err := os.Remove(a); a != "-f" && a != "--" && err != nil && !os.IsNotExist(err) {
				fmt.Println(err)
				os.Exit(1)
			}
		}
		return
	}
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "mark":
			f, err := os.OpenFile("/tmp/marks", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			fmt.Fprintln(f, "mark")
			f.Close()
			fmt.Println("marked")
			return
		case "fail":
			fmt.Println("reload failed on purpose")
			os.Exit(4)
		case "stop":
			syscall.Kill(1, syscall.SIGTERM)
			time.Sleep(30 * time.Second)
			return
		}
	}
	var hups atomic.Int32
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM)
	go func() {
		for s := range sig {
			if s == syscall.SIGTERM {
				os.Exit(0)
			}
			hups.Add(1)
		}
	}()
	http.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query().Get("p")
		fi, err := os.Stat(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		st := fi.Sys().(*syscall.Stat_t)
		fmt.Fprintf(w, "%d:%d", st.Uid, st.Gid)
		if !fi.IsDir() {
			b, _ := os.ReadFile(p)
			fmt.Fprintf(w, " %s", b)
		}
	})
	http.HandleFunc("/hups", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, hups.Load()) })
	http.ListenAndServe(":8080", nil)
}
`

// liveServer returns the path of the static liveSrc binary, built once.
func liveServer(t *testing.T) string { return dockertest.StaticBinary(t, "server", liveSrc) }

const liveFerry = `image(name = "img", repo = "REPO", context = "app", live_update = [
    fall_back_on(["app/static/fallback.txt"]),
    sync("app/static", "/srv/static"),
    run(["/server", "mark"], trigger = ["app/static/**/*.conf"]),
    run(["/server", "fail"], trigger = ["app/static/*.bad"]),
    run(["/server", "stop"], trigger = ["app/static/stop.txt"]),
    signal("HUP", trigger = ["app/static/hup.txt"]),
    restart_container(trigger = ["app/static/restart.txt"]),
])
service(name = "web", image = "img")
`

const liveDockerfile = `FROM scratch
COPY server /server
COPY passwd /etc/passwd
COPY --chown=1234:5678 tmp /tmp
COPY static /srv/static
USER app
ENTRYPOINT ["/server"]
`

// liveWorkspace is a workspace with an image FROM scratch that has
// live_update steps, and a service running it.
type liveWorkspace struct {
	*testWorkspace
	target *local.Target
	graph  *engine.Graph // evaluated once, as in one watch session
}

func newLiveWorkspace(t *testing.T) *liveWorkspace {
	docker := dockertest.NeedDocker(t)
	w := &liveWorkspace{testWorkspace: newWorkspace(t, docker, map[string]string{
		"ferry.star":            liveFerry,
		"app/Dockerfile":        liveDockerfile,
		"app/tmp/.keep":         "",
		"app/passwd":            "root:x:0:0::/:/server\napp:x:1234:5678::/:/server\n",
		"app/static/index.html": "v1",
		"app/static/app.conf":   "a=1",
		"app/other.txt":         "not synced",
	}), target: local.NewTarget(docker, nil)}
	body, err := os.ReadFile(liveServer(t))
	if err != nil {
		t.Fatal(err)
	}
	// Unique layers per test, as copyHello does.
	w.Write("app/server", string(body)+w.Repo)
	if err := os.Chmod(filepath.Join(w.Root, "app/server"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := w.target.Down(ctx, w.Project, true); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return w
}

// liveRun runs every build and deploy rule, with live updates allowed when
// live is set, and saves the state.
func (w *liveWorkspace) liveRun(live bool) dockertest.RunResult {
	w.T.Helper()
	ctx := context.Background()
	var r dockertest.RunResult
	var mu sync.Mutex
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) {
		mu.Lock()
		r.Events = append(r.Events, e)
		mu.Unlock()
	}))
	ws := &engine.Workspace{Root: w.Root, File: filepath.Join(w.Root, engine.FileName)}
	if w.graph == nil {
		res, err := engine.Evaluate(ctx, engine.Options{
			Workspace: ws,
			Plugins:   []engine.Plugin{core.Plugin{}, Plugin{Client: w.client(), Project: w.Project}, &deploy.Plugin{Project: w.Project, Target: w.target}},
			Events:    bus,
		})
		if err != nil {
			w.T.Fatalf("evaluate: %v", err)
		}
		if w.graph, err = engine.NewGraph(res.Rules); err != nil {
			w.T.Fatal(err)
		}
	}
	st, err := engine.LoadState(ws, true)
	if err != nil {
		w.T.Fatal(err)
	}
	e := engine.NewEngine(ws, w.graph, st, bus)
	r.Sum, r.Err = e.Run(ctx, []string{"img", "web"}, engine.RunOptions{Jobs: 2, LiveUpdate: live})
	if err := e.Save(); err != nil {
		w.T.Fatal(err)
	}
	return r
}

// container returns the ID and address of the web service's one container.
func (w *liveWorkspace) container() (id, addr string) {
	w.T.Helper()
	out, err := exec.Command("docker", "ps", "-q", "--no-trunc", "--filter", "label=ferry.project="+w.Project, "--filter", "label=ferry.rule=web").Output()
	if err != nil || len(strings.Fields(string(out))) != 1 {
		w.T.Fatalf("want one running web container: %q %v", out, err)
	}
	id = strings.TrimSpace(string(out))
	ip, err := exec.Command("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", id).Output()
	if err != nil {
		w.T.Fatal(err)
	}
	return id, "http://" + strings.TrimSpace(string(ip)) + ":8080"
}

// httpBodyBecomes polls url until its body is want, for a minute at most,
// and returns the last body.
func httpBodyBecomes(t *testing.T, url, want string) string {
	t.Helper()
	got := httpBody(t, url)
	for deadline := time.Now().Add(time.Minute); got != want && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = httpBody(t, url)
	}
	return got
}

// httpBody returns the body of GET url, retrying while the server starts,
// for up to a minute: a generous bound for a loaded machine.
func httpBody(t *testing.T, url string) string {
	t.Helper()
	var last error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			last = err
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.TrimSpace(string(b))
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

// wantOutcome fails the test unless the run r succeeded, running ran and
// live-updating live.
func wantOutcome(t *testing.T, r dockertest.RunResult, what string, ran, live []string) {
	t.Helper()
	if r.Err != nil || !slices.Equal(r.Sum.Ran, ran) || !slices.Equal(r.Sum.LiveUpdated, live) {
		t.Fatalf("%s: ran %v, live-updated %v (%v), want ran %v, live-updated %v\n%s%s", what, r.Sum.Ran, r.Sum.LiveUpdated, r.Err, ran, live, r.Output("img"), r.Failure("img")+r.Failure("web"))
	}
}

// Live update against the real Engine, into a FROM scratch container with
// a non-root USER, named in its /etc/passwd: files synced with their owner and new folders created,
// steps run only when their trigger matches, the state kept at the last
// build, and every case that needs a rebuild rebuilt, saying why.
func TestLiveUpdate(t *testing.T) {
	t.Parallel()
	w := newLiveWorkspace(t)
	wantOutcome(t, w.liveRun(true), "first run", []string{"img", "web"}, nil)
	built := w.StateKey("img")
	id, addr := w.container()
	if got := httpBody(t, addr+"/file?p=/srv/static/index.html"); got != "0:0 v1" {
		t.Fatalf("built file: %q", got)
	}

	// A changed file and a new nested one: copied, owned by the USER.
	w.Write("app/static/index.html", "v2")
	w.Write("app/static/new/deep/x.txt", "deep")
	r := w.liveRun(true)
	wantOutcome(t, r, "sync", nil, []string{"img"})
	if !slices.Contains(r.Sum.Cached, "web") {
		t.Errorf("web not up to date after a live update: %+v", r.Sum)
	}
	for p, want := range map[string]string{
		"/srv/static/index.html":     "1234:5678 v2",
		"/srv/static/new/deep/x.txt": "1234:5678 deep",
		"/srv/static/new":            "1234:5678",
	} {
		if got := httpBody(t, addr+"/file?p="+p); got != want {
			t.Errorf("%s in the container: %q, want %q", p, got, want)
		}
	}
	if got := httpBody(t, addr+"/file?p=/tmp/marks"); !strings.Contains(got, "no such file") {
		t.Errorf("run() ran without a matching change: /tmp/marks is %q", got)
	}
	if now, _ := w.container(); now != id {
		t.Errorf("container replaced by a live update")
	}
	if k := w.StateKey("img"); k != built {
		t.Errorf("state key moved to %s after a live update, want the build's %s", k.Short(), built.Short())
	}

	// A matching change runs run(); files synced before are not new to the
	// container and trigger nothing again.
	w.Write("app/static/app.conf", "a=2")
	r = w.liveRun(true)
	wantOutcome(t, r, "run trigger", nil, []string{"img"})
	if got := httpBody(t, addr+"/file?p=/tmp/marks"); got != "1234:5678 mark" {
		t.Errorf("/tmp/marks after app.conf changed: %q, want one mark", got)
	}
	if out := r.Output("img"); !strings.Contains(out, "synced 1 file(s) into") || !strings.Contains(out, "marked") {
		t.Errorf("output of the live update:\n%s", out)
	}
	w.Write("app/static/hup.txt", "hup")
	wantOutcome(t, w.liveRun(true), "signal trigger", nil, []string{"img"})
	// The signal is sent when the step ends; the server counts it a moment
	// later, in its own goroutine.
	if got := httpBodyBecomes(t, addr+"/hups", "1"); got != "1" {
		t.Errorf("SIGHUPs received: %s, want 1", got)
	}
	if got := httpBody(t, addr+"/file?p=/tmp/marks"); got != "1234:5678 mark" {
		t.Errorf("run() ran again without a matching change: /tmp/marks is %q", got)
	}

	// restart_container restarts the process; the synced files stay.
	w.Write("app/static/restart.txt", "restart")
	wantOutcome(t, w.liveRun(true), "restart trigger", nil, []string{"img"})
	if got := httpBody(t, addr+"/hups"); got != "0" {
		t.Errorf("SIGHUPs after restart_container: %s, want 0 from a new process", got)
	}
	if got := httpBody(t, addr+"/file?p=/srv/static/restart.txt"); got != "1234:5678 restart" {
		t.Errorf("restart.txt after the restart: %q", got)
	}
	if now, _ := w.container(); now != id {
		t.Errorf("restart_container replaced the container")
	}

	// A run() that fails fails the rule, with its exit code and position.
	w.Write("app/static/x.bad", "bad")
	r = w.liveRun(true)
	if msg := r.Failure("img"); !strings.Contains(msg, `run(["/server", "fail"]) (ferry.star:5:8) exited with code 4 in`) {
		t.Errorf("failing run(): %q\n%s", msg, r.Output("img"))
	}
	// The update did not complete: the next change runs it again.
	w.Write("app/static/y.txt", "y")
	if msg := w.liveRun(true).Failure("img"); !strings.Contains(msg, "exited with code 4") {
		t.Errorf("the failed run() was not tried again: %q", msg)
	}

	// Outside a watch session the image is built: a later ferry run
	// rebuilds what was live-updated.
	wantOutcome(t, w.liveRun(false), "ferry run", []string{"img", "web"}, nil)
	id, addr = w.container()

	for _, c := range []struct {
		what, reason string
		change       func()
	}{
		{"a deleted file in a FROM scratch image", "has no rm to delete it", func() { os.Remove(filepath.Join(w.Root, "app/static/index.html")) }},
		{"a fall_back_on file", "fall_back_on lists app/static/fallback.txt", func() { w.Write("app/static/fallback.txt", "f") }},
		{"a file outside every sync", "app/other.txt changed, and no sync step covers it", func() { w.Write("app/other.txt", "changed") }},
		{"a container dying during the update", "stopped during the live update", func() { w.Write("app/static/stop.txt", "stop") }},
	} {
		c.change()
		r := w.liveRun(true)
		wantOutcome(t, r, c.what, []string{"img", "web"}, nil)
		if out := r.Output("img"); !strings.Contains(out, "live update not possible: ") || !strings.Contains(out, c.reason) {
			t.Errorf("%s: the output does not say why it rebuilt (%q):\n%s", c.what, c.reason, out)
		}
		now, a := w.container()
		if now == id {
			t.Errorf("%s: the container was not replaced", c.what)
		}
		id, addr = now, a
	}
	if got := httpBody(t, addr+"/file?p=/srv/static/stop.txt"); got != "0:0 stop" {
		t.Errorf("after the rebuild, stop.txt is %q", got)
	}
}

// A deleted file is removed from the container when the image has rm.
func TestLiveUpdateDelete(t *testing.T) {
	t.Parallel()
	w := newLiveWorkspace(t)
	w.Write("app/Dockerfile", strings.Replace(liveDockerfile, "COPY server /server\n", "COPY server /server\nCOPY server /bin/rm\n", 1))
	wantOutcome(t, w.liveRun(true), "first run", []string{"img", "web"}, nil)
	_, addr := w.container()
	if err := os.Remove(filepath.Join(w.Root, "app/static/index.html")); err != nil {
		t.Fatal(err)
	}
	r := w.liveRun(true)
	wantOutcome(t, r, "delete", nil, []string{"img"})
	if got := httpBody(t, addr+"/file?p=/srv/static/index.html"); !strings.Contains(got, "no such file") {
		t.Errorf("index.html is still in the container: %q", got)
	}
	if out := r.Output("img"); !strings.Contains(out, "synced 0 file(s) (and 1 deletion(s)) into") {
		t.Errorf("output:\n%s", out)
	}
}

// A service with a read-only root filesystem cannot take a synced file:
// the change is built and the container replaced, saying why.
func TestLiveUpdateReadOnly(t *testing.T) {
	t.Parallel()
	w := newLiveWorkspace(t)
	w.Write("ferry.star", strings.Replace(liveFerry, `service(name = "web", image = "img")`, `service(name = "web", image = "img", read_only = True)`, 1))
	wantOutcome(t, w.liveRun(true), "first run", []string{"img", "web"}, nil)
	w.Write("app/static/index.html", "v2")
	r := w.liveRun(true)
	wantOutcome(t, r, "sync into a read-only container", []string{"img", "web"}, nil)
	if out := r.Output("img"); !strings.Contains(out, "has a read-only root filesystem (read_only = True)") {
		t.Errorf("want the reason for the build; output:\n%s", out)
	}
	_, addr := w.container()
	if got := httpBody(t, addr+"/file?p=/srv/static/index.html"); got != "0:0 v2" {
		t.Errorf("file in the new container: %q", got)
	}
}

// A binary that a task compiles into the image's context is synced into the
// running container and the container restarted, without an image build:
// the task's changed key does not stop the live update, as the file it
// wrote is covered by a sync step. The services see no change; a later
// `ferry run` builds the image.
func TestLiveUpdateOfATaskBuiltBinary(t *testing.T) {
	t.Parallel()
	w := newLiveWorkspace(t)
	body, err := os.ReadFile(filepath.Join(w.Root, "app/server"))
	if err != nil {
		t.Fatal(err)
	}
	w.Write("server.bin", string(body))
	w.Write("version.txt", "v1")
	w.Write("ferry.star", `task(name = "bin", cmd = "cat server.bin version.txt > app/server && chmod 755 app/server",
     srcs = ["server.bin", "version.txt"], outs = ["app/server"])
image(name = "img", repo = "REPO", context = "app", deps = ["bin"], live_update = [
    sync("app/server", "/server"),
    restart_container(trigger = ["app/server"]),
])
service(name = "web", image = "img")
`)
	wantOutcome(t, w.liveRun(true), "first run", []string{"bin", "img", "web"}, nil)
	built := w.StateKey("img")
	id, addr := w.container()
	if out, err := exec.Command("docker", "kill", "-s", "HUP", id).CombinedOutput(); err != nil {
		t.Fatalf("docker kill -s HUP: %v\n%s", err, out)
	}
	if got := httpBodyBecomes(t, addr+"/hups", "1"); got != "1" {
		t.Fatalf("SIGHUPs before the change: %s, want 1", got)
	}

	w.Write("version.txt", "v2")
	r := w.liveRun(true)
	wantOutcome(t, r, "a rebuilt binary", []string{"bin"}, []string{"img"})
	if !slices.Contains(r.Sum.Cached, "web") {
		t.Errorf("web not up to date after the live update: %+v", r.Sum)
	}
	if out := r.Output("img"); !strings.Contains(out, "synced 1 file(s) into") || !strings.Contains(out, "restarted ") || !strings.Contains(out, "container(s) done in ") || !strings.Contains(out, ": sync ") || !strings.Contains(out, ", restart ") {
		t.Errorf("output of the live update:\n%s", out)
	}
	if now, _ := w.container(); now != id {
		t.Errorf("the container was replaced, want it restarted")
	}
	if got := httpBody(t, addr+"/hups"); got != "0" {
		t.Errorf("SIGHUPs after the live update: %s, want 0 from the restarted process", got)
	}
	if got := httpBody(t, addr+"/file?p=/server"); !strings.HasSuffix(got, "v2") {
		t.Errorf("/server in the container does not end with the new version (%d bytes)", len(got))
	}
	if k := w.StateKey("img"); k != built {
		t.Errorf("state key moved to %s after a live update, want the build's %s", k.Short(), built.Short())
	}
	wantOutcome(t, w.liveRun(false), "ferry run", []string{"img", "web"}, nil)
}
