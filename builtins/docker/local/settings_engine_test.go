package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// Against the real Engine: a service declared in ferry.star with the
// container settings compose users expect runs with each of them, as
// docker inspect shows; one without them gets ferry's 5 s grace period.
func TestContainerSettings(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	image := serverImage(t)
	w := newWorkspace(t, docker, map[string]string{"ferry.star": fmt.Sprintf(`
service(
    name = "web",
    image = %q,
    pull = "never",
    cap_drop = ["ALL"],
    cap_add = ["net_bind_service", "CAP_CHOWN"],
    read_only = True,
    security_opt = ["no-new-privileges:true", "seccomp=" + read_file("seccomp.json")],
    tmpfs = ["/run:size=1m,mode=1777", "/tmp"],
    init = True,
    stop_signal = "INT",
    stop_grace_period = "7s",
    extra_hosts = ["host.docker.internal:host-gateway", "db.local:10.0.0.5"],
    dns = ["10.0.0.2"],
    hostname = "box",
    shm_size = "128m",
    ulimits = {"nofile": "1024:2048", "nproc": 512},
    sysctls = {"net.core.somaxconn": 1024},
    devices = ["/dev/null:/dev/xnull:rw"],
    restart = "on-failure:3",
)
service(name = "plain", image = %q, pull = "never")
`, image, image), "seccomp.json": `{"defaultAction": "SCMP_ACT_ALLOW"}`})
	target := NewTarget(docker, nil)
	t.Cleanup(func() { target.Down(context.Background(), w.Project, true) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ws := &engine.Workspace{Root: w.Root, File: filepath.Join(w.Root, engine.FileName)}
	bus := engine.NewBus(redact.New())
	res, err := engine.Evaluate(ctx, engine.Options{
		Workspace: ws,
		Plugins:   []engine.Plugin{core.Plugin{}, w.images(nil), &deploy.Plugin{Project: w.Project, Target: target}},
		Events:    bus,
	})
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.LoadState(ws, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewEngine(ws, g, st, bus).Run(ctx, []string{"web", "plain"}, engine.RunOptions{Jobs: 2}); err != nil {
		t.Fatalf("up: %v", err)
	}

	var got []struct {
		State  struct{ Running bool }
		Config struct {
			Hostname    string
			StopSignal  string
			StopTimeout *int
		}
		HostConfig struct {
			CapAdd, CapDrop, SecurityOpt, ExtraHosts, DNS []string
			ReadonlyRootfs                                bool
			Tmpfs                                         map[string]string
			Init                                          *bool
			ShmSize                                       int64
			Ulimits                                       []struct {
				Name       string
				Soft, Hard int64
			}
			Sysctls       map[string]string
			Devices       []struct{ PathOnHost, PathInContainer, CgroupPermissions string }
			RestartPolicy struct {
				Name              string
				MaximumRetryCount int
			}
		}
	}
	out, err := exec.Command("docker", "inspect", w.Project+"-web-1", w.Project+"-plain-1").Output()
	if err != nil {
		t.Fatalf("docker inspect: %v", err)
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got) != 2 {
		t.Fatalf("docker inspect: %v: %s", err, out)
	}
	c, hc := got[0], got[0].HostConfig
	if !c.State.Running {
		t.Error("web is not running")
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	check("CapAdd", hc.CapAdd, []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"}) // as the Engine stores them
	check("CapDrop", hc.CapDrop, []string{"ALL"})
	check("ReadonlyRootfs", hc.ReadonlyRootfs, true)
	check("SecurityOpt", hc.SecurityOpt, []string{"no-new-privileges:true", `seccomp={"defaultAction": "SCMP_ACT_ALLOW"}`})
	check("Tmpfs", hc.Tmpfs, map[string]string{"/run": "size=1m,mode=1777", "/tmp": ""})
	check("Init", hc.Init != nil && *hc.Init, true)
	check("StopSignal", c.Config.StopSignal, "SIGINT")
	check("StopTimeout", c.Config.StopTimeout != nil && *c.Config.StopTimeout == 7, true)
	check("ExtraHosts", hc.ExtraHosts, []string{"host.docker.internal:host-gateway", "db.local:10.0.0.5"})
	// The Engine resolves host-gateway to its address on the host when it
	// writes /etc/hosts (docker cp gives a tar of the file).
	hosts, err := exec.Command("docker", "cp", w.Project+"-web-1:/etc/hosts", "-").Output()
	if err != nil || !regexp.MustCompile(`\d+\.\d+\.\d+\.\d+\s+host\.docker\.internal`).Match(hosts) || strings.Contains(string(hosts), "host-gateway") {
		t.Errorf("/etc/hosts of web does not give host.docker.internal an address (%v):\n%s", err, hosts)
	}
	check("Dns", hc.DNS, []string{"10.0.0.2"})
	check("Hostname", c.Config.Hostname, "box")
	check("ShmSize", hc.ShmSize, int64(128<<20))
	check("Ulimits", fmt.Sprint(hc.Ulimits), "[{nofile 1024 2048} {nproc 512 512}]")
	check("Sysctls", hc.Sysctls, map[string]string{"net.core.somaxconn": "1024"})
	check("Devices", fmt.Sprint(hc.Devices), "[{/dev/null /dev/xnull rw}]")
	check("RestartPolicy", fmt.Sprint(hc.RestartPolicy), "{on-failure 3}")

	plain := got[1]
	check("plain StopTimeout", plain.Config.StopTimeout != nil && *plain.Config.StopTimeout == 5, true)
	check("plain ReadonlyRootfs", plain.HostConfig.ReadonlyRootfs, false)
	check("plain RestartPolicy", fmt.Sprint(plain.HostConfig.RestartPolicy), "{unless-stopped 0}")
}

// Against the real Engine, through a proxy that sees each call: ferry
// stops and restarts a container with the grace period it was made with,
// stop_grace_period's or the 5 s default. Not parallel: the proxy's
// client is made with DOCKER_HOST set.
func TestStopGracePeriod(t *testing.T) {
	direct := dockertest.NeedDocker(t)
	image := serverImage(t)
	proxy := newFaultProxy(t)
	var mu sync.Mutex
	var calls []string // "stop 7", "restart 5"
	proxy.setFail(func(r *http.Request) bool {
		if m := containerCall.FindStringSubmatch(r.URL.Path); m != nil && (m[2] == "stop" || m[2] == "restart") {
			mu.Lock()
			calls = append(calls, m[2]+" "+r.URL.Query().Get("t"))
			mu.Unlock()
		}
		return false
	})
	c := proxy.client(t)
	target := NewTarget(c, nil)
	project := "ferrytest-" + dockertest.RandomHex(t)
	t.Cleanup(func() { NewTarget(direct, nil).Down(context.Background(), project, true) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, tc := range []struct {
		grace time.Duration
		want  string
	}{{7 * time.Second, "[restart 7 stop 7]"}, {0, "[restart 5 stop 5]"}} {
		spec := &deploy.ServiceSpec{Name: fmt.Sprintf("g%d", tc.grace/time.Second), Restart: "no", Settings: deploy.Settings{StopGracePeriod: tc.grace}}
		d := &deploy.Deployment{Project: project, Image: image, Spec: spec}
		if err := target.prepare(ctx, d); err != nil {
			t.Fatal(err)
		}
		id, err := target.makeReplica(ctx, d, 1, replicaName(d, 1))
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		calls = nil
		mu.Unlock()
		if err := c.RestartContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := c.RemoveContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if got := fmt.Sprint(calls); got != tc.want {
			t.Errorf("stop_grace_period %s: calls %s, want %s", tc.grace, got, tc.want)
		}
		mu.Unlock()
	}
}
