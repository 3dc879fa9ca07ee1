package local

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/versions"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// up evaluates w's ferry.star with the core, Docker and deploy plugins,
// deploying to target, runs the named rules and returns the run's
// error and the failure of each rule that failed.
func (w *testWorkspace) up(target deploy.Target, names ...string) (error, map[string]string) {
	w.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ws := &engine.Workspace{Root: w.Root, File: filepath.Join(w.Root, engine.FileName)}
	var mu sync.Mutex
	failed := map[string]string{}
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) {
		if e.Kind == engine.EventRuleFail {
			mu.Lock()
			failed[e.Rule] = e.Err
			mu.Unlock()
		}
	}))
	res, err := engine.Evaluate(ctx, engine.Options{
		Workspace: ws,
		Plugins:   []engine.Plugin{core.Plugin{}, w.images(nil), &deploy.Plugin{Project: w.Project, Target: target}},
		Events:    bus,
	})
	if err != nil {
		return err, nil
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		w.T.Fatal(err)
	}
	st, err := engine.LoadState(ws, true)
	if err != nil {
		w.T.Fatal(err)
	}
	e := engine.NewEngine(ws, g, st, bus)
	_, err = e.Run(ctx, names, engine.RunOptions{Jobs: 2})
	if serr := e.Save(); serr != nil {
		w.T.Fatal(serr)
	}
	return err, failed
}

// inspected is what the tests read of `docker inspect` of a container.
type inspected struct {
	State  struct{ Running bool }
	Config struct {
		Env         []string
		Healthcheck *struct {
			Test          []string
			StartInterval int64
		}
	}
	Mounts []struct {
		Type, Name, Source, Destination string
		RW                              bool
	}
	NetworkSettings struct {
		Networks map[string]struct{ Aliases []string }
	}
}

func dockerInspect(t *testing.T, names ...string) []inspected {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"inspect"}, names...)...).Output()
	if err != nil {
		t.Fatalf("docker inspect %v: %v", names, err)
	}
	var got []inspected
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(names) {
		t.Fatalf("docker inspect: %v: %s", err, out)
	}
	return got
}

func volumeExists(name string) bool {
	return exec.Command("docker", "volume", "inspect", name).Run() == nil
}

// Against the real Engine: health.disable() turns the image's check off
// (Test NONE), and a volume written as a container path alone is an
// anonymous volume, a fresh one per container, removed with the container
// when it is replaced and by down.
func TestHealthDisableAndAnonymousVolumes(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	image := serverImage(t)
	src := `service(name = "web", image = %q, pull = "never", volumes = ["/cache", "/scratch:rw"], health = health.disable(), env = {"V": "%s"})`
	w := newWorkspace(t, docker, map[string]string{"ferry.star": fmt.Sprintf(src, image, "1")})
	target := NewTarget(docker, nil)
	t.Cleanup(func() { target.Down(context.Background(), w.Project, true) })
	if err, failed := w.up(target, "web"); err != nil {
		t.Fatalf("up: %v %v", err, failed)
	}
	name := w.Project + "-web-1"
	c := dockerInspect(t, name)[0]
	if h := c.Config.Healthcheck; h == nil || strings.Join(h.Test, " ") != "NONE" {
		t.Errorf("health check: %+v, want Test [NONE]", h)
	}
	anon := map[string]string{} // destination: volume
	for _, m := range c.Mounts {
		if m.Type != "volume" || len(m.Name) != 64 {
			t.Errorf("mount %+v: want an anonymous volume (a 64-hex name)", m)
		}
		if !m.RW {
			t.Errorf("mount %s: read-only", m.Destination)
		}
		anon[m.Destination] = m.Name
	}
	if len(anon) != 2 || anon["/cache"] == "" || anon["/scratch"] == "" {
		t.Fatalf("mounts: %+v", c.Mounts)
	}

	// A changed definition replaces the container, and its volumes go with it.
	w.Write("ferry.star", fmt.Sprintf(src, image, "2"))
	if err, failed := w.up(target, "web"); err != nil {
		t.Fatalf("up again: %v %v", err, failed)
	}
	for _, m := range dockerInspect(t, name)[0].Mounts {
		if m.Name == anon[m.Destination] {
			t.Errorf("%s: the new container kept the old anonymous volume %s", m.Destination, m.Name)
		}
		anon["new "+m.Destination] = m.Name
	}
	if volumeExists(anon["/cache"]) || volumeExists(anon["/scratch"]) {
		t.Errorf("the replaced container's anonymous volumes are still there")
	}
	if !volumeExists(anon["new /cache"]) {
		t.Errorf("the new container's volume %s does not exist", anon["new /cache"])
	}
	if _, err := target.Down(context.Background(), w.Project, false); err != nil {
		t.Fatal(err)
	}
	if volumeExists(anon["new /cache"]) {
		t.Errorf("down left the anonymous volume %s", anon["new /cache"])
	}
}

// Against the real Engine: a health.exec start_interval reaches the
// container on an Engine that takes it (API 1.44), and on an older one
// (such as this machine's 20.10) up fails saying what to do.
func TestHealthStartInterval(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	image := serverImage(t)
	w := newWorkspace(t, docker, map[string]string{"ferry.star": fmt.Sprintf(`
service(name = "web", image = %q, pull = "never", health = health.exec(["/server"], start_period = "30s", start_interval = "1s", interval = "1m"))
`, image)})
	target := NewTarget(docker, nil)
	t.Cleanup(func() { target.Down(context.Background(), w.Project, true) })
	b, err := docker.Builder(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	err, failed := w.up(target, "web")
	if versions.LessThan(b.APIVersion, "1.44") {
		want := "health.exec(start_interval = 1s): the Docker Engine runs exec checks, and this one speaks API " + b.APIVersion + ", while a start interval needs API 1.44 (Docker Engine 25 or later); drop start_interval"
		if err == nil || !strings.Contains(failed["web"], want) {
			t.Fatalf("up on API %s: %v %q, want %q", b.APIVersion, err, failed["web"], want)
		}
		return
	}
	if err != nil {
		t.Fatalf("up: %v %v", err, failed)
	}
	if h := dockerInspect(t, w.Project+"-web-1")[0].Config.Healthcheck; h == nil || h.StartInterval != int64(time.Second) {
		t.Errorf("health check: %+v, want StartInterval 1s", h)
	}
}

// Against the real Engine: aliases on each network, an internal network,
// and a service kept off the project's network (default_network = False),
// which ferry probes on the network it is on before starting the service
// that depends on it.
func TestNetworkAliasesInternalAndNoDefault(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	image := serverImage(t)
	w := newWorkspace(t, docker, map[string]string{"ferry.star": fmt.Sprintf(`
network("backend", internal = True)
service(name = "db", image = %[1]q, pull = "never", default_network = False, networks = {"backend": {"aliases": ["database", "pg"]}},
    health = health.tcp(8080, interval = "200ms"))
service(name = "api", image = %[1]q, pull = "never", networks = {"default": {"aliases": ["front"]}, "backend": None}, depends_on = ["db"])
`, image)})
	target := NewTarget(docker, nil)
	t.Cleanup(func() { target.Down(context.Background(), w.Project, true) })
	if err, failed := w.up(target, "db", "api"); err != nil {
		t.Fatalf("up: %v %v", err, failed)
	}
	got := dockerInspect(t, w.Project+"-db-1", w.Project+"-api-1")
	aliases := func(c inspected) string {
		var out []string
		for n, e := range c.NetworkSettings.Networks {
			var names []string
			for _, a := range e.Aliases {
				if len(a) != 12 { // the Engine adds the container's short ID
					names = append(names, a)
				}
			}
			out = append(out, strings.TrimPrefix(n, w.Project)+"="+strings.Join(names, ","))
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	if a := aliases(got[0]); a != "_backend=db,database,pg" {
		t.Errorf("db's networks: %s, want _backend=db,database,pg only", a)
	}
	if a := aliases(got[1]); a != "_backend=api _default=api,front" {
		t.Errorf("api's networks: %s", a)
	}
	out, err := exec.Command("docker", "network", "inspect", "-f", "{{.Internal}}", w.Project+"_backend", w.Project+"_default").Output()
	if err != nil || strings.Fields(string(out))[0] != "true" || strings.Fields(string(out))[1] != "false" {
		t.Errorf("internal: %s %v, want true (backend) false (default)", out, err)
	}
}

// Against the real Engine: the variables of env_file files, under env =,
// and of dotenv(), reach the container's environment; a changed file
// replaces the container.
func TestEnvFileReachesContainer(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	image := serverImage(t)
	w := newWorkspace(t, docker, map[string]string{
		"ferry.star": fmt.Sprintf(`
cfg = dotenv()
service(name = "web", image = %q, pull = "never", env_file = ["config/common.env", "config/web.env"], env = {"PORT": "80", "TAG": cfg["TAG"]})
`, image),
		".env":              "TAG=1.4\n",
		"config/common.env": "LEVEL=info\nPORT=8080\n",
		"config/web.env":    "# web\nLEVEL=debug\nURL=\"http://${FERRY_TEST_UNSET_HOST:-db}/x\"\n",
	})
	target := NewTarget(docker, nil)
	t.Cleanup(func() { target.Down(context.Background(), w.Project, true) })
	env := func() []string {
		var out []string
		for _, e := range dockerInspect(t, w.Project+"-web-1")[0].Config.Env {
			if k, _, _ := strings.Cut(e, "="); k != "PATH" {
				out = append(out, e)
			}
		}
		slices.Sort(out)
		return out
	}
	if err, failed := w.up(target, "web"); err != nil {
		t.Fatalf("up: %v %v", err, failed)
	}
	if got := strings.Join(env(), " "); got != "LEVEL=debug PORT=80 TAG=1.4 URL=http://db/x" {
		t.Errorf("env: %s", got)
	}
	w.Write("config/common.env", "LEVEL=info\nPORT=8080\nEXTRA=1\n")
	if err, failed := w.up(target, "web"); err != nil {
		t.Fatalf("up again: %v %v", err, failed)
	}
	if got := env(); !slices.Contains(got, "EXTRA=1") {
		t.Errorf("after the file changed: %v, want EXTRA=1 (the container replaced)", got)
	}
}

// Against the real Engine: configs are mounted read-only with their
// content and mode; a changed config replaces the container, and the copy
// no container uses is removed, as down removes them all.
func TestConfigsMounted(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	image := serverImage(t)
	w := newWorkspace(t, docker, map[string]string{
		"ferry.star": fmt.Sprintf(`
service(name = "web", image = %q, pull = "never", configs = {
    "/etc/app/app.conf": "conf/app.conf",
    "/etc/app/inline.txt": {"content": "inline\n", "mode": 0o440},
})
`, image),
		"conf/app.conf": "listen 8080\n",
	})
	target := NewTarget(docker, nil)
	target.Own(deploy.OwnerOf(w.Root))
	t.Cleanup(func() { target.Down(context.Background(), w.Project, true) })
	name := w.Project + "-web-1"
	read := func(p string) (string, int64) {
		t.Helper()
		out, err := exec.Command("docker", "cp", name+":"+p, "-").Output()
		if err != nil {
			t.Fatalf("docker cp %s: %v", p, err)
		}
		tr := tar.NewReader(bytes.NewReader(out))
		h, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		return string(b), h.Mode & 0o777
	}
	if err, failed := w.up(target, "web"); err != nil {
		t.Fatalf("up: %v %v", err, failed)
	}
	for _, m := range dockerInspect(t, name)[0].Mounts {
		if m.Type != "bind" || m.RW || !strings.HasPrefix(m.Source, filepath.Join(w.Root, ".ferry", "configs")) {
			t.Errorf("mount %+v: want a read-only bind mount of a copy in .ferry/configs", m)
		}
	}
	if got, mode := read("/etc/app/app.conf"); got != "listen 8080\n" || mode != 0o444 {
		t.Errorf("app.conf: %q mode %o", got, mode)
	}
	if got, mode := read("/etc/app/inline.txt"); got != "inline\n" || mode != 0o440 {
		t.Errorf("inline.txt: %q mode %o", got, mode)
	}
	dir := filepath.Join(w.Root, ".ferry", "configs", w.Project, "web")
	w.Write("conf/app.conf", "listen 9090\n")
	if err, failed := w.up(target, "web"); err != nil {
		t.Fatalf("up again: %v %v", err, failed)
	}
	if got, _ := read("/etc/app/app.conf"); got != "listen 9090\n" {
		t.Errorf("after the change, app.conf: %q", got)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 2 {
		t.Errorf("copies in %s: %v %v, want the 2 in use", dir, entries, err)
	}
	if _, err := target.Down(context.Background(), w.Project, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("down left %s: %v", dir, err)
	}
}
