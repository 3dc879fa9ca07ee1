package dockerapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
)

// A secret file is referenced by ID and name, mounted at its target path,
// owned by root and readable by every user.
func TestServiceSpecSecrets(t *testing.T) {
	spec := ServiceSpec{Name: "p_web", Image: "sha256:x", Secrets: []ServiceSecret{{ID: "id1", Name: "p_web_tok_01234567", Target: "/etc/app/tok"}}}.swarm()
	refs := spec.TaskTemplate.ContainerSpec.Secrets
	if len(refs) != 1 {
		t.Fatalf("secret references: %+v", refs)
	}
	r := refs[0]
	if r.SecretID != "id1" || r.SecretName != "p_web_tok_01234567" || r.File == nil || r.File.Name != "/etc/app/tok" || r.File.UID != "0" || r.File.GID != "0" || r.File.Mode != 0o444 {
		t.Errorf("secret reference: %+v %+v", r, r.File)
	}
}

// The settings a swarm takes are in the task template as the Engine's
// service API writes them.
func TestServiceSpecSettings(t *testing.T) {
	init, grace := true, 30*time.Second
	spec := ServiceSpec{Name: "p_web", Image: "sha256:x", Restart: "on-failure", Settings: Settings{
		CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"ALL"}, ReadOnly: true, Init: init,
		StopSignal: "SIGINT", StopGrace: grace, ExtraHosts: []string{"db:10.0.0.5"}, DNS: []string{"10.0.0.2"},
		Hostname: "box", Ulimits: []Ulimit{{Name: "nofile", Soft: 10, Hard: 20}}, Sysctls: map[string]string{"a.b": "1"}, MaxRestarts: 3,
	}, Mounts: []ServiceMount{{Mount: Mount{Target: "/run"}, Tmpfs: &TmpfsOptions{Size: 1 << 20, Mode: 0o755}}}}.swarm()
	cs := spec.TaskTemplate.ContainerSpec
	got := fmt.Sprintln(cs.CapabilityAdd, cs.CapabilityDrop, cs.ReadOnly, *cs.Init, cs.StopSignal, *cs.StopGracePeriod, cs.Hosts, cs.DNSConfig.Nameservers, cs.Hostname, *cs.Ulimits[0], cs.Sysctls, *spec.TaskTemplate.RestartPolicy.MaxAttempts)
	if want := "[CAP_NET_ADMIN] [ALL] true true SIGINT 30s [10.0.0.5 db] [10.0.0.2] box {nofile 20 10} map[a.b:1] 3\n"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if m := cs.Mounts; len(m) != 1 || m[0].Type != mount.TypeTmpfs || m[0].Target != "/run" || m[0].TmpfsOptions.SizeBytes != 1<<20 || m[0].TmpfsOptions.Mode != 0o755 {
		t.Errorf("tmpfs mount: %+v", m)
	}
}

// A config is referenced by ID and name, mounted at its target path,
// owned by root, with its mode; a disabled health check is Test NONE, and
// an anonymous volume a volume mount without a source.
func TestServiceSpecConfigs(t *testing.T) {
	spec := ServiceSpec{Name: "p_web", Image: "sha256:x",
		Configs: []ServiceConfig{{ID: "c1", Name: "p_web_nginx.conf_01234567", Target: "/etc/nginx/nginx.conf", Mode: 0o440}},
		Health:  &HealthCheck{Test: []string{"NONE"}},
		Mounts:  []ServiceMount{{Mount: Mount{Target: "/cache"}}},
	}.swarm()
	cs := spec.TaskTemplate.ContainerSpec
	if len(cs.Configs) != 1 {
		t.Fatalf("config references: %+v", cs.Configs)
	}
	r := cs.Configs[0]
	if r.ConfigID != "c1" || r.ConfigName != "p_web_nginx.conf_01234567" || r.File == nil || r.File.Name != "/etc/nginx/nginx.conf" || r.File.UID != "0" || r.File.Mode != 0o440 {
		t.Errorf("config reference: %+v %+v", r, r.File)
	}
	if cs.Healthcheck == nil || fmt.Sprint(cs.Healthcheck.Test) != "[NONE]" {
		t.Errorf("health check: %+v", cs.Healthcheck)
	}
	if len(cs.Mounts) != 1 || cs.Mounts[0].Type != mount.TypeVolume || cs.Mounts[0].Source != "" || cs.Mounts[0].Target != "/cache" {
		t.Errorf("anonymous volume: %+v", cs.Mounts)
	}
}

// ready_after is the swarm's update monitor, for updates and rollbacks; 0
// is no wait, which the Engine would take as its default of 5 s.
func TestServiceSpecUpdateMonitor(t *testing.T) {
	for _, tc := range []struct{ ready, want time.Duration }{{7 * time.Second, 7 * time.Second}, {0, time.Nanosecond}} {
		spec := ServiceSpec{Name: "p_web", Image: "sha256:x", UpdateMonitor: tc.ready}.swarm()
		if spec.UpdateConfig.Monitor != tc.want || spec.RollbackConfig.Monitor != tc.want {
			t.Errorf("ready_after %s: monitor %s, rollback monitor %s; want %s", tc.ready, spec.UpdateConfig.Monitor, spec.RollbackConfig.Monitor, tc.want)
		}
	}
}
