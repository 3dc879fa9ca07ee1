package swarm

import (
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

// A swarm service takes health.disable(), a start interval and anonymous
// volumes as a container does (see TestContainerHealthAndAnonymousVolumes
// of the local target).
func TestSwarmHealthAndAnonymousVolumes(t *testing.T) {
	spec := &deploy.ServiceSpec{Name: "web", Restart: "always", Replicas: 1,
		Volumes:  []deploy.Volume{{Target: "/cache", Anonymous: true}},
		Settings: deploy.Settings{HealthDisabled: true}}
	d := &deploy.Deployment{Project: "shop", Spec: spec, Image: "acme/web:1", Key: engine.Digest{1}}
	ss := (&Target{}).serviceSpec(d, "sha256:abc")
	if ss.Health == nil || strings.Join(ss.Health.Test, " ") != "NONE" {
		t.Errorf("health: %+v, want Test [NONE]", ss.Health)
	}
	if m := ss.Mounts; len(m) != 1 || m[0].Source != "" || m[0].Target != "/cache" || m[0].Bind {
		t.Errorf("mounts: %+v, want an anonymous volume (no source)", m)
	}
	spec.HealthDisabled = false
	spec.Health = &deploy.HealthCheck{Kind: "exec", Argv: []string{"/check"}, Interval: time.Minute, StartPeriod: time.Minute, StartInterval: time.Second}
	if ss := (&Target{}).serviceSpec(d, "sha256:abc"); ss.Health == nil || ss.Health.StartInterval != time.Second || ss.Health.Interval != time.Minute {
		t.Errorf("health: %+v", ss.Health)
	}
}

// A swarm service joins its networks with its aliases on each, and only
// those it names with default_network = False.
func TestSwarmNetworkAliases(t *testing.T) {
	spec := &deploy.ServiceSpec{Name: "db", Restart: "always", Replicas: 1, Networks: []string{"backend", "shared"},
		External: map[string]bool{"shared": true},
		Settings: deploy.Settings{Aliases: map[string][]string{"default": {"front"}, "backend": {"pg"}}}}
	d := &deploy.Deployment{Project: "shop", Spec: spec, Image: "acme/db:1", Key: engine.Digest{1}}
	nets := func() string {
		var out []string
		for _, n := range (&Target{}).serviceSpec(d, "sha256:abc").Networks {
			out = append(out, n.Name+"="+strings.Join(n.Aliases, ","))
		}
		return strings.Join(out, " ")
	}
	if got := nets(); got != "shop_swarm=db,front shop_swarm_backend=db,pg shared=db" {
		t.Errorf("networks: %s", got)
	}
	spec.NoDefaultNetwork = true
	if got := nets(); got != "shop_swarm_backend=db,pg shared=db" {
		t.Errorf("networks with default_network = False: %s", got)
	}
}

// A Swarm config is named by the project, rule, file name and content;
// a swarm refuses one larger than it stores.
func TestSwarmConfigs(t *testing.T) {
	a := deploy.Config{Target: "/etc/nginx/nginx.conf", Content: "a", Mode: 0o444}
	b := a
	b.Content = "b"
	if n := ConfigName("shop", "web", a); !strings.HasPrefix(n, "shop_web_nginx.conf_") || len(n) != len("shop_web_nginx.conf_")+8 || n == ConfigName("shop", "web", b) {
		t.Errorf("names: %s %s", n, ConfigName("shop", "web", b))
	}
	spec := &deploy.ServiceSpec{Name: "web", Configs: []deploy.Config{a}}
	if err := (&Target{}).CheckSpec(spec); err != nil {
		t.Errorf("a small config: %v", err)
	}
	spec.Configs[0].Content = strings.Repeat("x", maxSwarmConfig+1)
	if err := (&Target{}).CheckSpec(spec); err == nil || !strings.Contains(err.Error(), "configs: /etc/nginx/nginx.conf is 1024001 bytes, and a swarm stores configs of up to 1024000 bytes (1000 KiB)") {
		t.Errorf("a large config: %v", err)
	}
}
