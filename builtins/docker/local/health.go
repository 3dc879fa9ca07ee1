package local

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/objects"
)

// Replicas lists the service's containers (not those a stopped rollout left
// unadopted) with where its http or tcp check
// reaches each: the container's address on the project's network when the
// Engine runs on this machine and that network is reachable, else the
// port's published host port.
func (t *Target) Replicas(ctx context.Context, d *deploy.Deployment) ([]deploy.Replica, error) {
	list, err := t.c.Containers(ctx, map[string]string{objects.LabelProject: d.Project, objects.LabelRule: d.Spec.Name, objects.LabelKind: "service"})
	if err != nil {
		return nil, err
	}
	list = slices.DeleteFunc(list, func(c dockerapi.Container) bool { return objects.IsForeign(t.owner, c.Labels) })
	var host string
	var nets []*net.IPNet
	if h := d.Spec.Health; h != nil && h.Probed() {
		if host, err = t.c.DaemonHost(ctx); err != nil {
			return nil, err
		}
		nets = LocalNets()
	}
	out := make([]deploy.Replica, 0, len(list))
	for _, c := range list {
		if unadopted(c, list) {
			continue
		}
		r, err := t.probeTarget(ctx, d, c.ID, host, nets)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// probeTarget inspects one container of the service d for its health check,
// given the Engine's address and the local networks (see Replicas).
func (t *Target) probeTarget(ctx context.Context, d *deploy.Deployment, id, host string, nets []*net.IPNet) (deploy.Replica, error) {
	ep, err := t.c.InspectEndpoints(ctx, id)
	if err != nil {
		return deploy.Replica{}, err
	}
	r := ReplicaAt(ep, t.CheckOutput(ep))
	if h := d.Spec.Health; h != nil && h.Probed() {
		r.Addr, r.AddrErr = Reach(host, nets, ep, NetworkName(d.Project), h.Port)
		if d.Spec.NetworkMode == "host" {
			// The container's ports are the Engine host's own.
			addr := "127.0.0.1"
			if !strings.HasPrefix(host, "unix://") {
				addr = daemonHostname(host)
			}
			r.Addr, r.AddrErr = net.JoinHostPort(addr, strconv.Itoa(h.Port)), nil
		}
	}
	return r, nil
}

// ReplicaAt is the container ep as deploy.WaitHealthy sees it, given what its
// last failed exec check printed.
func ReplicaAt(ep dockerapi.Endpoints, checkOutput string) deploy.Replica {
	return deploy.Replica{Name: ep.Name, Running: ep.Running, Restarting: ep.Restarting, Restarts: ep.Restarts, ExitCode: ep.ExitCode, Started: ep.StartedAt, Health: ep.Health, HealthOutput: checkOutput}
}

var _ deploy.ExitReader = (*Target)(nil)

// LastExit returns the exit code of the container's last death since since
// (see deploy.ExitReader).
func (t *Target) LastExit(ctx context.Context, container string, since time.Time) (int, bool) {
	code, ok, err := t.c.LastExit(ctx, container, since)
	return code, ok && err == nil
}

// LastLines returns the container's last log lines, formatted to follow an
// error message.
func (t *Target) LastLines(ctx context.Context, container string) string {
	return t.lastLines(ctx, container)
}

// CheckOutput returns what the last failed run of the container's exec
// health check printed, with t's redactor's values removed while it is
// whole: a health wait's error shows it indented, where a value wrapped
// over its lines (such as base64 at 76 columns) is no longer found.
func (t *Target) CheckOutput(ep dockerapi.Endpoints) string {
	if t.red == nil {
		return ep.HealthOutput
	}
	return t.red.String(ep.HealthOutput)
}

// LocalNets lists the networks of this machine's interfaces: a container
// address in one of them is reachable (a bridge of a local Engine).
func LocalNets() []*net.IPNet {
	addrs, _ := net.InterfaceAddrs()
	var nets []*net.IPNet
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			nets = append(nets, n)
		}
	}
	return nets
}

// IPNetwork is the network whose address of a container's (ips, by
// network) ferry uses: network, or, for a container not on it
// (default_network = False), the first of its networks by name.
func IPNetwork(ips map[string]string, network string) string {
	if _, ok := ips[network]; !ok && len(ips) > 0 {
		return slices.Sorted(maps.Keys(ips))[0]
	}
	return network
}

// Reach returns the host:port where the container's port answers from this
// machine, given the Engine's address and the local networks: its address
// on network, or, when it is not on that one (default_network = False), on
// the first of its networks by name.
func Reach(daemonHost string, nets []*net.IPNet, ep dockerapi.Endpoints, network string, port int) (string, error) {
	local := strings.HasPrefix(daemonHost, "unix://")
	network = IPNetwork(ep.IPs, network)
	ip := net.ParseIP(ep.IPs[network])
	if local && ip != nil {
		for _, n := range nets {
			if n.Contains(ip) {
				return net.JoinHostPort(ip.String(), strconv.Itoa(port)), nil
			}
		}
	}
	var loopback string
	for _, b := range ep.Published[port] {
		host := b.IP
		ip := net.ParseIP(host)
		switch {
		case host == "" || ip != nil && ip.IsUnspecified():
			host = "127.0.0.1"
			if !local {
				host = daemonHostname(daemonHost)
			}
		case !local && ip != nil && ip.IsLoopback() && !onLoopback(daemonHost):
			// The loopback of the Engine's host, not of this one.
			loopback = net.JoinHostPort(host, strconv.Itoa(b.Port))
			continue
		}
		return net.JoinHostPort(host, strconv.Itoa(b.Port)), nil
	}
	if local {
		why := fmt.Sprintf("its address on %s (%s) is not reachable from this machine (the Engine runs its containers elsewhere, as Docker Desktop does in a VM)", network, ep.IPs[network])
		return "", fmt.Errorf("ferry cannot reach port %d of %s: %s, and port %d is not published; publish it (ports = [\"%d\"]) so ferry probes it through the host, or use health.exec, which the Engine runs inside the container",
			port, ep.Name, why, port, port)
	}
	published := "published on an address of its host"
	if loopback != "" {
		published += fmt.Sprintf(" (only on its loopback, %s, the default for a port written without an address)", loopback)
	}
	return "", fmt.Errorf("ferry cannot reach port %d of %s: the Docker Engine at %s is not on this machine, so container addresses cannot be reached from here, and port %d is not %s; publish it (ports = [\"0.0.0.0::%d\"]) so ferry probes it through the host, or use health.exec, which the Engine runs inside the container",
		port, ep.Name, daemonHost, port, published, port)
}

// onLoopback reports whether the Engine at daemonHost listens on this
// machine's loopback (tcp://127.0.0.1:2376, tcp://localhost:2375), whose
// loopback is then this machine's.
func onLoopback(daemonHost string) bool {
	h := daemonHostname(daemonHost)
	ip := net.ParseIP(h)
	return h == "localhost" || ip != nil && ip.IsLoopback()
}

// daemonHostname is the host part of an Engine address such as
// tcp://10.0.0.5:2376 or ssh://me@build-box.
func daemonHostname(daemonHost string) string {
	u, err := url.Parse(daemonHost)
	if err != nil || u.Hostname() == "" {
		return "127.0.0.1"
	}
	return u.Hostname()
}

// ContainerHealth is a container's health for `ferry status`: for a check
// ferry probes, one probe now (ProbeOnce); for an exec check, the Engine's
// status and what its last failed run printed.
func (t *Target) ContainerHealth(ctx context.Context, project string, c dockerapi.Container, st dockerapi.ContainerState) (health, problem string, err error) {
	label := c.Labels[objects.LabelHealth]
	if label == "" && (st.Health == "" || st.Health == deploy.Healthy) {
		return st.Health, "", nil
	}
	ep, err := t.c.InspectEndpoints(ctx, c.ID)
	if err != nil || label == "" {
		return st.Health, ep.HealthOutput, err
	}
	var h deploy.HealthCheck
	if err := json.Unmarshal([]byte(label), &h); err != nil {
		return "", "", fmt.Errorf("container %s: label %s: %v", c.Name, objects.LabelHealth, err)
	}
	if !ep.Running {
		return "", "", nil
	}
	host, err := t.c.DaemonHost(ctx)
	if err != nil {
		return "", "", err
	}
	r := deploy.Replica{Name: ep.Name, Started: ep.StartedAt}
	r.Addr, r.AddrErr = Reach(host, LocalNets(), ep, NetworkName(project), h.Port)
	health, perr := h.ProbeOnce(ctx, r, time.Now())
	if perr != nil {
		problem = perr.Error()
	}
	return health, problem, nil
}
