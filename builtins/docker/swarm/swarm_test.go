package swarm

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/builtins/docker/swarmtest"
	"github.com/ferryhq/ferry/builtins/scale"
	"github.com/ferryhq/ferry/engine"
)

func TestSwarmServiceSpec(t *testing.T) {
	port := func(s string) deploy.Port {
		p, err := deploy.ParsePort(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	spec := &deploy.ServiceSpec{
		Name: "web", Image: "web-image", Replicas: 2, Restart: "unless-stopped",
		Env:      map[string]string{"B": "2", "A": "1"},
		Labels:   map[string]string{"team": "core"},
		Ports:    []deploy.Port{port("8080")},
		Volumes:  []deploy.Volume{{Source: "data", Target: "/data"}, {Source: "conf", Target: "/conf", Bind: true, ReadOnly: true}},
		Networks: []string{"backend", "shared"},
		External: map[string]bool{"shared": true},
		Health:   &deploy.HealthCheck{Kind: "exec", Argv: []string{"/web", "healthcheck"}, Retries: 3},
	}
	d := &deploy.Deployment{Project: "shop", Spec: spec, Image: "acme/web:1", Key: engine.Digest{1}, Root: "/ws"}
	// ready_after is how long the swarm watches each new task.
	spec.ReadyAfter = 7 * time.Second
	if ss := (&Target{}).serviceSpec(d, "sha256:abc"); ss.UpdateMonitor != 7*time.Second {
		t.Errorf("ready_after 7s: update monitor %s", ss.UpdateMonitor)
	}
	spec.ReadyAfter = 0
	ss := (&Target{}).serviceSpec(d, "sha256:abc")

	if ss.Name != "shop_web" || ss.Image != "sha256:abc" || ss.Replicas != 2 || ss.Restart != "any" || ss.UpdateOrder != "start-first" || ss.UpdateMonitor != 0 {
		t.Errorf("spec: %+v", ss)
	}
	if ss.Labels[objects.LabelKind] != "service" || ss.Labels[labelImage] != "acme/web:1" || ss.Labels["team"] != "core" || ss.Labels[objects.LabelConfig] != d.Key.String() {
		t.Errorf("service labels: %v", ss.Labels)
	}
	if _, ok := ss.ContainerLabels[objects.LabelKind]; ok || ss.ContainerLabels[objects.LabelConfig] != d.Key.String() || ss.ContainerLabels[objects.LabelRule] != "web" {
		t.Errorf("task container labels (no %s, so the Docker target ignores them): %v", objects.LabelKind, ss.ContainerLabels)
	}
	if strings.Join(ss.Env, " ") != "A=1 B=2" {
		t.Errorf("env: %v", ss.Env)
	}
	if len(ss.Ports) != 1 || ss.Ports[0].Published != 0 || ss.Ports[0].Target != 8080 {
		t.Errorf("ports: %+v", ss.Ports)
	}
	if m := ss.Mounts; len(m) != 2 || m[0].Source != "shop_data" || m[0].Labels[objects.LabelProject] != "shop" || m[1].Source != "/ws/conf" || !m[1].ReadOnly {
		t.Errorf("mounts: %+v", m)
	}
	var nets []string
	for _, n := range ss.Networks {
		nets = append(nets, n.Name+"="+strings.Join(n.Aliases, ","))
	}
	if got := strings.Join(nets, " "); got != "shop_swarm=web shop_swarm_backend=web shared=web" {
		t.Errorf("networks: %s", got)
	}
	if ss.Health == nil || strings.Join(ss.Health.Test, " ") != "CMD /web healthcheck" {
		t.Errorf("health: %+v", ss.Health)
	}
	if _, ok := ss.ContainerLabels[objects.LabelSecrets]; ok {
		t.Errorf("task container labels of a service without secrets: %v", ss.ContainerLabels)
	}
	// The tasks of another secret value count as another definition's.
	d.SecretsHash = "feed"
	if ss := (&Target{}).serviceSpec(d, "sha256:abc"); ss.Labels[objects.LabelSecrets] != "feed" || ss.ContainerLabels[objects.LabelSecrets] != "feed" {
		t.Errorf("secrets' hash: service labels %v, task container labels %v", ss.Labels, ss.ContainerLabels)
	}
	d.SecretsHash = ""

	// A fixed host port is held by the old task until it stops.
	spec.Ports, spec.Replicas, spec.Restart = []deploy.Port{port("8080:8080")}, 1, "no"
	if ss := (&Target{}).serviceSpec(d, "sha256:abc"); ss.UpdateOrder != "stop-first" || ss.Ports[0].Published != 8080 || ss.Restart != "none" {
		t.Errorf("fixed port: order %s, ports %+v, restart %s", ss.UpdateOrder, ss.Ports, ss.Restart)
	}
	d.Job = true
	if ss := (&Target{}).serviceSpec(d, "sha256:abc"); !ss.Job || ss.Labels[objects.LabelKind] != "job" || ss.Restart != "none" {
		t.Errorf("job: %+v", ss)
	}
}

func TestSwarmCheckSpec(t *testing.T) {
	for _, tc := range []struct {
		ports  []string
		health *deploy.HealthCheck
		want   string
	}{
		{[]string{"8080", "9000:9000"}, nil, ""},
		{[]string{"127.0.0.1:8080:80"}, nil, "drop 127.0.0.1"},
		{[]string{"[::ffff:127.0.0.1]:8080:80"}, nil, "drop 127.0.0.1"},
		// Every address is what a swarm does: written, it is accepted.
		{[]string{"0.0.0.0:8080:8080", "[::]:8081:80", "[::ffff:0.0.0.0]:8082:80"}, nil, ""},
		{[]string{"8080-8081:80"}, nil, `publish "80" so each replica gets a free host port`},
		{nil, &deploy.HealthCheck{Kind: "http", Port: 8080}, `port 8080 is not published; publish it (ports = ["8080"])`},
		{[]string{"8080/udp"}, &deploy.HealthCheck{Kind: "tcp", Port: 8080}, "port 8080 is not published"},
		{[]string{"8080"}, &deploy.HealthCheck{Kind: "http", Port: 8080}, ""},
		{nil, &deploy.HealthCheck{Kind: "exec", Argv: []string{"/x"}}, ""},
		{[]string{"9000"}, nil, `autoscale: on a swarm ferry reads http_requests_total through each task's published host port, since overlay addresses cannot be reached from the host, and port 8080 is not published; publish it (ports = ["8080"]), or scale on metric = "cpu"`},
		{[]string{"8080"}, nil, ""},
	} {
		s := &deploy.ServiceSpec{Name: "web", Health: tc.health}
		if tc.health == nil {
			s.Autoscale = &scale.Policy{Min: 1, Max: 2, Metric: "http_requests_total", Target: 1, Port: 8080}
		}
		for _, p := range tc.ports {
			port, err := deploy.ParsePort(p)
			if err != nil {
				t.Fatal(err)
			}
			s.Ports = append(s.Ports, port)
		}
		err := (&Target{}).CheckSpec(s)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("ports %v, health %+v: got %v, want %q", tc.ports, tc.health, err, tc.want)
		}
	}
}

func TestSwarmSecretName(t *testing.T) {
	hmac := "0123456789abcdef" + strings.Repeat("0", 48)
	valid := regexp.MustCompile(`^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$`) // Swarm's rule
	for _, c := range []struct{ project, rule, path, want string }{
		{"shop", "web", "/run/secrets/tls.key", "shop_web_tls.key_01234567"},
		{"shop", "web", "/etc/app/db password", "shop_web_db-password_01234567"},
		{"shop", "web", "/etc/ünï", "shop_web_-n-_01234567"},
		{"p", strings.Repeat("r", 80), "/x", "p_" + strings.Repeat("r", 53) + "_01234567"},
	} {
		got := SecretName(c.project, c.rule, c.path, hmac)
		if got != c.want {
			t.Errorf("SecretName(%q, %q, %q) = %q, want %q", c.project, c.rule, c.path, got, c.want)
		}
		if len(got) > 64 || !valid.MatchString(got) {
			t.Errorf("%q is not a valid Swarm secret name", got)
		}
	}
	// Another value (another HMAC) gets another name.
	if a, b := SecretName("p", "r", "/x", hmac), SecretName("p", "r", "/x", "fedcba98"+hmac[8:]); a == b {
		t.Errorf("two values share the name %s", a)
	}
}

func TestSwarmRefusesPrivilegedAndNetworkMode(t *testing.T) {
	for _, tc := range []struct {
		spec deploy.ServiceSpec
		want string
	}{
		{deploy.ServiceSpec{Name: "a", Privileged: true}, "privileged: a swarm service cannot run privileged"},
		{deploy.ServiceSpec{Name: "a", NetworkMode: "host"}, `network_mode = "host": ferry's swarm services join the project's overlay network only`},
		{deploy.ServiceSpec{Name: "a", NetworkMode: "none"}, `network_mode = "none"`},
		{deploy.ServiceSpec{Name: "a"}, ""},
	} {
		err := (&Target{}).CheckSpec(&tc.spec)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: got %v, want %q", tc.spec, err, tc.want)
		}
	}
}

// While a service's update has not settled, ferry removes none of the
// rule's secrets: the swarm lets the older one be removed though the
// previous spec references it, and may still roll the service back to it.
func TestSwarmSecretsKeptMidUpdate(t *testing.T) {
	t.Parallel()
	target, project, image := swarmProject(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	deployment := func(key byte, value string, health *deploy.HealthCheck) *deploy.Deployment {
		hmac := strings.Repeat(value[:1], 64)
		return &deploy.Deployment{Project: project, Image: image, Key: engine.Digest{key}, SecretsHash: hmac,
			SecretFileValues: map[string]deploy.SecretFileValue{"/run/secrets/tok": {Value: value, HMAC: hmac}},
			Spec:             &deploy.ServiceSpec{Name: "web", Replicas: 1, Restart: "unless-stopped", Health: health}}
	}
	if err := target.Deploy(ctx, deployment(1, "1-old", nil), io.Discard); err != nil {
		t.Fatal(err)
	}
	// The new task stays starting: its first health check is a minute away.
	// The deploy is stopped once the swarm is updating the service, not
	// after a fixed 5s, which a loaded machine could spend before the
	// update was even asked for.
	slow := &deploy.HealthCheck{Kind: "exec", Argv: []string{"/app", "serve"}, Interval: time.Minute, Timeout: time.Second, Retries: 1}
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	deployed := make(chan error, 1)
	go func() { deployed <- target.Deploy(dctx, deployment(2, "2-new", slow), io.Discard) }()
	for {
		s, err := target.service(ctx, project, "web")
		if err != nil {
			t.Fatal(err)
		}
		if s != nil && s.UpdateState == "updating" {
			break
		}
		select {
		case err := <-deployed:
			t.Fatalf("deploy of a task that stays starting returned %v before the service was updating (%+v)", err, s)
		case <-ctx.Done():
			t.Fatalf("service %+v; want it updating", s)
		case <-time.After(100 * time.Millisecond):
		}
	}
	stop()
	if err := <-deployed; !errors.Is(err, context.Canceled) {
		t.Fatalf("deploy of a task that stays starting: %v, want it still waiting when stopped", err)
	}
	if s, err := target.service(ctx, project, "web"); err != nil || s.UpdateState != "updating" {
		t.Fatalf("service %+v, %v; want it updating", s, err)
	}
	removed, err := target.pruneStored(ctx, project, "web")
	if err != nil || len(removed) != 0 {
		t.Errorf("pruning mid-update removed %v (%v)", removed, err)
	}
	if list, err := target.c.Secrets(ctx, map[string]string{objects.LabelProject: project}); err != nil || len(list) != 2 {
		t.Errorf("swarm secrets mid-update: %+v %v, want the old one and the new one", list, err)
	}
}

// swarmProject joins a real single-node swarm (left at the end) and returns
// a Swarm target, a project that Down removes at the end (checking that no
// Swarm secret of it is left), and the autoscale test image.
func swarmProject(t *testing.T) (*Target, string, string) {
	t.Helper()
	c := dockertest.NeedDocker(t)
	swarmtest.Shared(t) // with the other parallel swarm tests
	image := dockertest.AutoscaleImage(t)
	target := NewTarget(c, nil, &deploy.Environment{Name: "staging", Target: deploy.TargetSwarm}, func(string) {})
	project := "ferrytest-" + dockertest.RandomHex(t)
	t.Cleanup(func() {
		if _, err := target.Down(context.Background(), project, true); err != nil {
			t.Errorf("down: %v", err)
		}
		if left, err := c.Secrets(context.Background(), map[string]string{objects.LabelProject: project}); err != nil || len(left) != 0 {
			t.Errorf("swarm secrets left after down: %v %v", left, err)
		}
	})
	return target, project, image
}

// The container settings a swarm takes reach its service spec (see
// dockerapi.TestServiceSpecSettings for the Engine's form); those it lacks
// are refused before anything runs.
func TestSwarmSettings(t *testing.T) {
	spec := &deploy.ServiceSpec{Name: "web", Restart: "on-failure", Replicas: 1, Settings: deploy.Settings{
		CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"ALL"}, ReadOnly: true, Init: true,
		StopSignal: "SIGINT", StopGracePeriod: 30 * time.Second, ExtraHosts: []string{"db:10.0.0.5"},
		DNS: []string{"10.0.0.2"}, Hostname: "box", Ulimits: []deploy.Ulimit{{Name: "nofile", Soft: 10, Hard: 20}},
		Sysctls: map[string]string{"net.core.somaxconn": "1024"}, MaxRestarts: 3,
		Tmpfs: []deploy.Tmpfs{{Path: "/run", Options: "size=1m,mode=1777"}},
	}}
	d := &deploy.Deployment{Project: "shop", Spec: spec, Image: "acme/web:1", Key: engine.Digest{1}}
	ss := (&Target{}).serviceSpec(d, "sha256:abc")
	if ss.StopGrace != 30*time.Second || ss.MaxRestarts != 3 || !ss.ReadOnly || !ss.Init || ss.Hostname != "box" || ss.Tmpfs != nil {
		t.Errorf("settings: %+v", ss.Settings)
	}
	if m := ss.Mounts; len(m) != 1 || m[0].Target != "/run" || m[0].Tmpfs == nil || m[0].Tmpfs.Size != 1<<20 || m[0].Tmpfs.Mode != 0o1777 {
		t.Errorf("tmpfs mounts: %+v", m)
	}
	spec.StopGracePeriod = 0
	if ss := (&Target{}).serviceSpec(d, "sha256:abc"); ss.StopGrace != 0 {
		t.Errorf("grace period of a service that declares none: %s, want 0 (the swarm's default)", ss.StopGrace)
	}
	if err := (&Target{}).CheckSpec(spec); err != nil {
		t.Errorf("settings a swarm takes: %v", err)
	}
	for _, tc := range []struct {
		set  func(*deploy.Settings)
		want string
	}{
		{func(s *deploy.Settings) { s.SecurityOpt = []string{"no-new-privileges:true"} }, "security_opt: a swarm service takes no security options"},
		{func(s *deploy.Settings) { s.ShmSize = 1 << 20 }, "shm_size: a swarm service cannot size /dev/shm"},
		{func(s *deploy.Settings) {
			s.Devices = []deploy.Device{{Host: "/dev/fuse", Container: "/dev/fuse", Perms: "rwm"}}
		}, "devices: a swarm service cannot be given host devices"},
		{func(s *deploy.Settings) { s.ExtraHosts = []string{"h:host-gateway"} }, `extra_hosts: "h:host-gateway": a swarm does not resolve host-gateway`},
		{func(s *deploy.Settings) { s.Tmpfs = []deploy.Tmpfs{{Path: "/run", Options: "noexec"}} }, `tmpfs: "/run:noexec": a swarm's tmpfs mounts take only size and mode, not noexec`},
	} {
		s := &deploy.ServiceSpec{Name: "web"}
		tc.set(&s.Settings)
		if err := (&Target{}).CheckSpec(s); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}
