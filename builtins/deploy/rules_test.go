package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
)

// fakeImage is an image rule for linking tests.
type fakeImage struct{ info engine.RuleInfo }

func (f *fakeImage) Info() *engine.RuleInfo                           { return &f.info }
func (f *fakeImage) Definition(context.Context, *engine.Hasher) error { return nil }
func (f *fakeImage) Inputs(context.Context) ([]string, error)         { return nil, nil }
func (f *fakeImage) Outputs() []string                                { return nil }
func (f *fakeImage) Run(*engine.RunContext) error                     { return nil }
func (f *fakeImage) Ref(key engine.Digest) string                     { return "acme/api:" + key.Short() }
func (fakeImagePlugin) Builtins() []*engine.Builtin                   { return []*engine.Builtin{fakeImageBuiltin} }
func declareFake(th *starlark.Thread, c *engine.Call) (starlark.Value, error) {
	return starlark.String(c.String("name")), engine.EvaluationOf(th).AddRule(th, &fakeImage{info: engine.RuleInfo{Name: c.String("name"), Kind: "image", Pos: c.Pos}})
}

type fakeImagePlugin struct{}

var fakeImageBuiltin = &engine.Builtin{Name: "image", Params: []engine.Param{{Name: "name", Type: engine.String, Required: true}}, Impl: declareFake}

func load(t *testing.T, src string) (*engine.Graph, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ferry.star"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		Plugins:   []engine.Plugin{core.Plugin{}, fakeImagePlugin{}, &Plugin{Project: "p"}},
	})
	if err != nil {
		return nil, err
	}
	return engine.NewGraph(res.Rules)
}

func TestServiceDeclaration(t *testing.T) {
	g, err := load(t, `
image(name = "api-image")
task(name = "gen", cmd = "true")
job(name = "migrate", image = "api-image", command = "/api migrate")
service(
    name = "api",
    image = "api-image",
    command = ["/api", "--port=8080"],
    ports = ["8080-8081:8080"],
    replicas = 2,
    volumes = ["data:/data", "./static:/srv:ro"],
    resources = {"memory": "64Mi", "cpus": 0.5},
    depends_on = ["migrate", "db"],
    deps = ["gen"],
)
service(name = "db", image = "postgres:16")
`)
	if err != nil {
		t.Fatal(err)
	}
	sel, _ := g.Select([]string{"api"})
	if got := strings.Join(sel, ","); got != "api-image,db,gen,migrate,api" {
		t.Errorf("api selects %s", got)
	}
	api := g.Rule("api").(*Rule)
	s := api.Spec()
	if s.Memory != 64<<20 || s.CPUs != 0.5 || s.Replicas != 2 || s.Restart != "unless-stopped" || len(s.Volumes) != 2 || !s.Volumes[1].Bind {
		t.Errorf("spec = %+v", s)
	}
	if api.Info().Default {
		t.Error("a service must not run with `ferry run`")
	}
	if g.Rule("migrate").(*Rule).Spec().Restart != "no" {
		t.Error("jobs never restart")
	}
	if d := api.deployment(&engine.RunContext{DepKeys: map[string]engine.Digest{"api-image": engine.HashBytes([]byte("k"))}}, engine.Digest{}, "/ws"); !strings.HasPrefix(d.Image, "acme/api:") {
		t.Errorf("image not resolved through the image rule: %q", d.Image)
	}
	if d := g.Rule("db").(*Rule).deployment(nil, engine.Digest{}, ""); d.Image != "postgres:16" {
		t.Errorf("a plain reference changed: %q", d.Image)
	}
}

func TestServiceErrors(t *testing.T) {
	for src, want := range map[string]string{
		`service(name = "api", image = "x", ports = ["8080:80"], replicas = 2)`:                          `ferry.star:1:8: service "api": ports: "8080:80/tcp" gives 1 host port(s) for 2 replicas`,
		`service(name = "Api", image = "x")`:                                                             "DNS name",
		`service(name = "a", image = "x", restart = "sometimes")`:                                        "restart",
		`service(name = "a", image = "x", resources = {"disk": "1g"})`:                                   "unknown resource",
		`service(name = "a", image = "x", volumes = ["data"])`:                                           "SOURCE:TARGET",
		`service(name = "a", image = "x", ports = ["http"])`:                                             "not a port number",
		"task(name = \"t\", cmd = \"true\")\nservice(name = \"a\", image = \"t\")":                       `image: "t" names a task, not an image rule`,
		"task(name = \"t\", cmd = \"true\")\nservice(name = \"a\", image = \"x\", depends_on = [\"t\"])": "depends_on names services and jobs",
		`job(name = "m", image = "x", replicas = 2)`:                                                     `unexpected keyword argument "replicas"`,
		`service(name = "a", image = "x", network_mode = "macvlan")`:                                     `ferry.star:1:8: service "a": network_mode: got "macvlan", want "host", "none", or "bridge"`,
		`service(name = "a", image = "x", network_mode = "host", ports = ["80"])`:                        `ferry.star:1:8: service "a": network_mode = "host" cannot be combined with ports: the container shares the host's network stack`,
		`job(name = "a", image = "x", network_mode = "host", networks = ["backend"])`:                    `ferry.star:1:4: job "a": network_mode = "host" cannot be combined with networks`,
		`service(name = "a", image = "x", network_mode = "none", ports = ["80"])`:                        `network_mode = "none" cannot be combined with ports: the container has no network but loopback`,
		`service(name = "a", image = "x", network_mode = "none", health = health.tcp(80))`:               `health: network_mode = "none" leaves nothing for ferry to probe health.tcp through`,
		`service(name = "a", image = "x", privileged = "yes")`:                                           `privileged: got string, want bool`,
		`job(name = "m", image = "x", command = "migrate && serve")`:                                     `ferry.star:1:4: job "m": command "migrate && serve": it has shell operators (such as &&, ||, |, ; or &), but no shell runs a container's command; give a list, such as ["sh", "-c", "migrate && serve"]`,
		`service(name = "a", image = "x", volumes = ["~bob/x:/x"])`:                                      `~bob is another user's home folder`,
		`service(name = "a", image = "x", cap_add = ["NET_ADMN"])`:                                       `ferry.star:1:8: service "a": cap_add: "NET_ADMN" is not a Linux capability; did you mean "NET_ADMIN"?`,
		`job(name = "a", image = "x", cap_drop = ["everything"])`:                                        `ferry.star:1:4: job "a": cap_drop: "everything" is not a Linux capability`,
		`service(name = "a", image = "x", tmpfs = ["run"])`:                                              `ferry.star:1:8: service "a": tmpfs "run": want an absolute container path other than /`,
		`service(name = "a", image = "x", tmpfs = ["/run:size=big"])`:                                    `tmpfs "/run:size=big": size: memory "big"`,
		`service(name = "a", image = "x", tmpfs = ["/data"], volumes = ["d:/data"])`:                     `tmpfs: /data is mounted twice`,
		`service(name = "a", image = "x", ulimits = {"nofiles": 10})`:                                    `ferry.star:1:8: service "a": ulimits: unknown limit "nofiles"; did you mean "nofile"?`,
		`service(name = "a", image = "x", ulimits = {"nofile": "65536:1024"})`:                           `ulimits: nofile: soft limit 65536 above hard limit 1024`,
		`service(name = "a", image = "x", ulimits = {"nofile": "lots"})`:                                 `ulimits: nofile: got "lots", want a number or "SOFT:HARD"`,
		`service(name = "a", image = "x", stop_signal = "SIGINTR")`:                                      `stop_signal: "SIGINTR" is not a signal; did you mean "SIGINT"?`,
		`service(name = "a", image = "x", stop_grace_period = "1500ms")`:                                 `stop_grace_period: got 1.5s, want a whole number of seconds`,
		`service(name = "a", image = "x", extra_hosts = ["db"])`:                                         `extra_hosts "db": want HOST:IP`,
		`service(name = "a", image = "x", extra_hosts = ["db:gateway"])`:                                 `extra_hosts "db:gateway": "gateway" is not an IP address (or host-gateway)`,
		`service(name = "a", image = "x", dns = ["dns.google"])`:                                         `dns: "dns.google" is not an IP address`,
		`service(name = "a", image = "x", hostname = "my_host")`:                                         `hostname: "my_host" is not a host name`,
		`service(name = "a", image = "x", shm_size = "lots")`:                                            `shm_size: memory "lots"`,
		`service(name = "a", image = "x", sysctls = {"net.core.somaxconn": 1.5})`:                        `sysctls: net.core.somaxconn: got float, want a string or an int`,
		`service(name = "a", image = "x", devices = ["/dev/fuse:/dev/fuse:rwx"])`:                        `devices "/dev/fuse:/dev/fuse:rwx": permissions "rwx", want some of r, w and m`,
		`service(name = "a", image = "x", sysctls = {"vm.swappiness": 10})`:                              `ferry.star:1:8: service "a": sysctls: vm.swappiness is the host's, shared by every container; a container may set only namespaced parameters`,
		`service(name = "a", image = "x", sysctls = {"kernel.hostname": "h"})`:                           `sysctls: kernel.hostname is set with hostname =`,
		`service(name = "a", image = "x", network_mode = "host", sysctls = {"net.core.somaxconn": 10})`:  `network_mode = "host" cannot be combined with the sysctl net.core.somaxconn`,
		`service(name = "a", image = "x", security_opt = ["seccomp=profile.json"])`:                      `ferry.star:1:8: service "a": security_opt: "seccomp=profile.json": seccomp= takes the profile itself, as JSON, not a file name (the Engine does not read files); write "seccomp=" + read_file("profile.json")`,
		`service(name = "a", image = "x", restart = "always:3")`:                                         `ferry.star:1:8: service "a": restart: got "always:3"; only on-failure takes a bound`,
		`service(name = "a", image = "x", security_opt = ["seccomp:unconfined", "privileged"])`:          `security_opt: "privileged": want no-new-privileges:true`,
	} {
		_, err := load(t, src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %q", src, err, want)
		}
	}
}

func TestConfigHashCoversSpec(t *testing.T) {
	hash := func(src string) engine.Digest {
		g, err := load(t, src)
		if err != nil {
			t.Fatal(err)
		}
		h := engine.NewHasher()
		g.Rule("a").Definition(context.Background(), h)
		return h.Sum()
	}
	base := hash(`service(name = "a", image = "x", env = {"A": "1"})`)
	if base != hash(`service(name = "a", image = "x", env = {"A": "1"})`) {
		t.Error("config hash not stable")
	}
	// The defaults, spelled out, leave the hash (and running services) alone.
	if base != hash(`service(name = "a", image = "x", env = {"A": "1"}, privileged = False, network_mode = "bridge")`) {
		t.Error("the default privileged and network_mode changed the config hash")
	}
	if base != hash(`service(name = "a", image = "x", env = {"A": "1"}, cap_add = [], cap_drop = [], read_only = False, security_opt = [], tmpfs = [], init = False, extra_hosts = [], dns = [], ulimits = {}, sysctls = {}, devices = [])`) {
		t.Error("the container settings at their defaults changed the config hash")
	}
	if hash(`service(name = "a", image = "x", env = {"A": "1"}, network_mode = "host")`) == hash(`service(name = "a", image = "x", env = {"A": "1"}, network_mode = "none")`) {
		t.Error("network modes host and none hash alike")
	}
	if base != hash(`service(name = "a", image = "x", env = {"A": "1"}, replicas = 3)`) {
		t.Error("scaling changed the config hash, so it would replace every replica")
	}
	for _, src := range []string{
		`service(name = "a", image = "x", env = {"A": "2"})`,
		`service(name = "a", image = "y", env = {"A": "1"})`,
		`service(name = "a", image = "x", env = {"A": "1"}, ports = ["80"])`,
		`service(name = "a", image = "x", env = {"A": "1"}, health = health.tcp(80))`,
		`service(name = "a", image = "x", env = {"A": "1"}, privileged = True)`,
		`service(name = "a", image = "x", env = {"A": "1"}, network_mode = "host")`,
		`service(name = "a", image = "x", env = {"A": "1"}, network_mode = "none")`,
		`service(name = "a", image = "x", env = {"A": "1"}, cap_add = ["NET_ADMIN"])`,
		`service(name = "a", image = "x", env = {"A": "1"}, cap_drop = ["ALL"])`,
		`service(name = "a", image = "x", env = {"A": "1"}, read_only = True)`,
		`service(name = "a", image = "x", env = {"A": "1"}, security_opt = ["no-new-privileges:true"])`,
		`service(name = "a", image = "x", env = {"A": "1"}, tmpfs = ["/run"])`,
		`service(name = "a", image = "x", env = {"A": "1"}, tmpfs = ["/run:size=1m"])`,
		`service(name = "a", image = "x", env = {"A": "1"}, init = True)`,
		`service(name = "a", image = "x", env = {"A": "1"}, stop_signal = "SIGINT")`,
		`service(name = "a", image = "x", env = {"A": "1"}, stop_grace_period = "30s")`,
		`service(name = "a", image = "x", env = {"A": "1"}, extra_hosts = ["h:host-gateway"])`,
		`service(name = "a", image = "x", env = {"A": "1"}, dns = ["10.0.0.2"])`,
		`service(name = "a", image = "x", env = {"A": "1"}, hostname = "box")`,
		`service(name = "a", image = "x", env = {"A": "1"}, shm_size = "256m")`,
		`service(name = "a", image = "x", env = {"A": "1"}, ulimits = {"nofile": 1024})`,
		`service(name = "a", image = "x", env = {"A": "1"}, sysctls = {"net.core.somaxconn": 1024})`,
		`service(name = "a", image = "x", env = {"A": "1"}, devices = ["/dev/fuse"])`,
		`service(name = "a", image = "x", env = {"A": "1"}, restart = "on-failure")`,
		`service(name = "a", image = "x", env = {"A": "1"}, restart = "on-failure:3")`,
	} {
		if hash(src) == base {
			t.Errorf("%s: config hash did not change", src)
		}
	}
}

func TestExternalResources(t *testing.T) {
	g, err := load(t, `
service(name = "a", image = "x", networks = ["shared", "mine"], volumes = ["keep:/k", "own:/o"])
network("shared", external = True)
volume("keep", external = True)
volume("own")
`)
	if err != nil {
		t.Fatal(err)
	}
	s := g.Rule("a").(*Rule).Spec()
	if !s.External["shared"] || s.External["mine"] || !s.Volumes[0].External || s.Volumes[1].External {
		t.Errorf("external flags: networks %v, volumes %+v", s.External, s.Volumes)
	}
	if _, err := load(t, "volume(\"v\")\nvolume(\"v\", external = True)"); err == nil || !strings.Contains(err.Error(), `volume "v" is declared twice`) {
		t.Errorf("duplicate volume: %v", err)
	}
}

// depends_on orders services without making the others' keys part of theirs
// (the engine's OrderOnly; see engine.TestOrderOnlyDeps).
func TestDependsOnIsOrderOnly(t *testing.T) {
	g, err := load(t, "service(name = \"db\", image = \"x\")\nservice(name = \"api\", image = \"y\", depends_on = [\"db\"])")
	if err != nil {
		t.Fatal(err)
	}
	if info := g.Rule("api").Info(); len(info.OrderOnly) != 1 || info.OrderOnly[0] != "db" || info.Deps[0] != "db" {
		t.Errorf("api: %+v", info)
	}
}

func TestHealthChecks(t *testing.T) {
	g, err := load(t, `service(name = "a", image = "x", health = health.http("/healthz", port = 8080, interval = "2s", retries = 5))`)
	if err != nil {
		t.Fatal(err)
	}
	h := g.Rule("a").(*Rule).Spec().Health
	if h == nil || h.String() != "health.http(GET :8080/healthz every 2s, timeout 2s, 5 retries, start period 0s)" {
		t.Errorf("health = %v", h)
	}
	for src, want := range map[string]string{
		`health.http("healthz", port = 80)`:                 `path: got "healthz"`,
		`health.tcp(0)`:                                     "port: got 0",
		`health.exec([])`:                                   "cmd must not be empty",
		`health.exec(["x"], retries = 0)`:                   "retries: got 0",
		`service(name = "a", image = "x", health = "curl")`: "health: got string, want health check",
		`health.tcp(80, interval = "soon")`:                 `ferry.star:1:11: health.tcp: interval: got string, want duration ("30s", "5m") or seconds`,
		`health.tcp(80, timeout = "0s")`:                    "ferry.star:1:11: health.tcp: interval and timeout must be more than 0",
		`health.wait("127.0.0.1:80")`:                       "health.wait has effects, so it works only inside a run-time action",
	} {
		if _, err := load(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", src, err, want)
		}
	}
}

// The container settings are read as compose writes them, into one
// spelling each: capabilities upper case without CAP_, a signal with
// SIG, a ulimit of one number as soft and hard, a device's container path
// and permissions by default.
func TestContainerSettingsDeclared(t *testing.T) {
	g, err := load(t, `service(name = "a", image = "x", restart = "on-failure:4",
    cap_add = ["net_admin", "CAP_CHOWN", "NET_ADMIN"], cap_drop = ["all"], read_only = True,
    tmpfs = ["/run/", "/tmp:size=1m"], init = True, stop_signal = "quit", stop_grace_period = "1m",
    extra_hosts = ["h=10.0.0.1", "g:host-gateway", "v6:[::1]"], dns = ["1.1.1.1"], hostname = "box.local",
    shm_size = "1g", ulimits = {"nproc": 10, "nofile": "1:2", "core": -1}, sysctls = {"net.a": "x", "kernel.shmmax": 1},
    devices = ["/dev/fuse", "/dev/a:/dev/b", "/dev/c:r"])`)
	if err != nil {
		t.Fatal(err)
	}
	s := g.Rule("a").(*Rule).Spec().Settings
	got := fmt.Sprintf("%v %v %v %v %v %v %v %v %v %v %v %d %+v %v %+v %d", s.CapAdd, s.CapDrop, s.ReadOnly, s.SecurityOpt, s.Tmpfs, s.Init, s.StopSignal, s.StopGracePeriod,
		s.ExtraHosts, s.DNS, s.Hostname, s.ShmSize, s.Ulimits, s.Sysctls, s.Devices, s.MaxRestarts)
	want := "[NET_ADMIN CHOWN] [ALL] true [] [{/run } {/tmp size=1m}] true SIGQUIT 1m0s [h:10.0.0.1 g:host-gateway v6:::1] [1.1.1.1] box.local 1073741824 " +
		"[{Name:core Soft:-1 Hard:-1} {Name:nofile Soft:1 Hard:2} {Name:nproc Soft:10 Hard:10}] map[kernel.shmmax:1 net.a:x] " +
		"[{Host:/dev/fuse Container:/dev/fuse Perms:rwm} {Host:/dev/a Container:/dev/b Perms:rwm} {Host:/dev/c Container:/dev/c Perms:r}] 4"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if r := g.Rule("a").(*Rule).Spec().Restart; r != "on-failure" {
		t.Errorf("restart: %q", r)
	}
}
