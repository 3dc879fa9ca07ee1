package local

import (
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

// A container takes health.disable() and anonymous volumes, as a swarm
// service does.
func TestContainerHealthAndAnonymousVolumes(t *testing.T) {
	spec := &deploy.ServiceSpec{Name: "web", Restart: "always", Replicas: 1,
		Volumes:  []deploy.Volume{{Target: "/cache", Anonymous: true}},
		Settings: deploy.Settings{HealthDisabled: true}}
	d := &deploy.Deployment{Project: "shop", Spec: spec, Image: "acme/web:1", Key: engine.Digest{1}}
	if cs := (&Target{}).containerSpec(d, 1); len(cs.Mounts) != 1 || cs.Mounts[0].Source != "" || cs.Health == nil || cs.Health.Test[0] != "NONE" {
		t.Errorf("container: mounts %+v, health %+v", cs.Mounts, cs.Health)
	}
}

// A container off the default network (default_network = False) is made
// on the first of its networks, with its aliases there.
func TestContainerNetworkAliases(t *testing.T) {
	spec := &deploy.ServiceSpec{Name: "db", Restart: "always", Replicas: 1, Networks: []string{"backend", "shared"},
		External: map[string]bool{"shared": true},
		Settings: deploy.Settings{Aliases: map[string][]string{"default": {"front"}, "backend": {"pg"}}, NoDefaultNetwork: true}}
	d := &deploy.Deployment{Project: "shop", Spec: spec, Image: "acme/db:1", Key: engine.Digest{1}}
	cs := (&Target{}).containerSpec(d, 1)
	if cs.Network != "shop_backend" || strings.Join(cs.Aliases, ",") != "db,pg" {
		t.Errorf("container made on %s as %v, want shop_backend as db,pg", cs.Network, cs.Aliases)
	}
}

// A container off the project's network (default_network = False) is
// reached at its address on the first of its networks by name.
func TestIPNetwork(t *testing.T) {
	ips := map[string]string{"shop_metrics": "10.0.2.5", "shop_backend": "10.0.1.5"}
	if got := IPNetwork(ips, "shop_default"); got != "shop_backend" {
		t.Errorf("off the default network: %s, want shop_backend", got)
	}
	ips["shop_default"] = "10.0.0.5"
	if got := IPNetwork(ips, "shop_default"); got != "shop_default" {
		t.Errorf("on the default network: %s", got)
	}
	if got := IPNetwork(nil, "shop_default"); got != "shop_default" {
		t.Errorf("no network: %s", got)
	}
}
