package objects

// How a service's spec becomes the settings of the Engine's containers,
// which the local target's containers and the Swarm target's tasks share.

import (
	"encoding/json"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
)

// HealthLabel encodes the check ferry probes itself, for LabelHealth;
// exec checks are the container's HEALTHCHECK and need no label.
func HealthLabel(h *deploy.HealthCheck) (string, bool) {
	if h == nil || !h.Probed() {
		return "", false
	}
	b, err := json.Marshal(h)
	return string(b), err == nil
}

// EngineHealth is the health check the Engine runs in the containers of
// s: its exec check, ["NONE"] when health.disable() turns the image's off,
// or nil (the image's own; ferry probes http and tcp checks itself).
func EngineHealth(s *deploy.ServiceSpec) *dockerapi.HealthCheck {
	h := s.Health
	switch {
	case s.HealthDisabled:
		return &dockerapi.HealthCheck{Test: []string{"NONE"}}
	case h == nil || !h.RunsInside():
		return nil
	}
	test := append([]string{"CMD"}, h.Argv...)
	if h.Argv == nil {
		test = []string{"CMD-SHELL", h.Shell}
	}
	return &dockerapi.HealthCheck{Test: test, Interval: h.Interval, Timeout: h.Timeout, Retries: h.Retries, StartPeriod: h.StartPeriod, StartInterval: h.StartInterval}
}

// ContainerSettings converts the settings of s for a container or a
// swarm service's tasks.
func ContainerSettings(s *deploy.ServiceSpec) dockerapi.Settings {
	cs := dockerapi.Settings{
		CapAdd: s.CapAdd, CapDrop: s.CapDrop, ReadOnly: s.ReadOnly, SecurityOpt: s.SecurityOpt,
		Init: s.Init, StopSignal: s.StopSignal, StopGrace: s.StopGrace(), ExtraHosts: s.ExtraHosts,
		DNS: s.DNS, Hostname: s.Hostname, ShmSize: s.ShmSize, Sysctls: s.Sysctls, MaxRestarts: s.MaxRestarts,
	}
	if len(s.Tmpfs) > 0 {
		cs.Tmpfs = map[string]string{}
		for _, t := range s.Tmpfs {
			cs.Tmpfs[t.Path] = t.Options
		}
	}
	for _, u := range s.Ulimits {
		cs.Ulimits = append(cs.Ulimits, dockerapi.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	for _, d := range s.Devices {
		cs.Devices = append(cs.Devices, dockerapi.Device{Host: d.Host, Container: d.Container, Perms: d.Perms})
	}
	return cs
}
