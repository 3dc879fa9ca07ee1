package dockerapi

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"
)

// Endpoints is what a health probe needs to know of a container: where it
// can be reached, whether it runs, and what the Engine's own health check
// last said.
type Endpoints struct {
	Name      string
	Running   bool
	ExitCode  int
	StartedAt time.Time
	// Restarting says the Engine is about to start it again (its restart
	// policy, after it exited); Restarts counts the times it did.
	Restarting bool
	Restarts   int
	// IPs maps each network the container joined to its address there.
	IPs map[string]string
	// Published maps a container TCP port to its bindings on the host.
	Published map[int][]HostPort
	// Health is the Engine's health status ("" without a HEALTHCHECK),
	// and HealthOutput the output of its last failed probe.
	Health       string
	HealthOutput string
}

// A HostPort is a published port on the daemon's host.
type HostPort struct {
	IP   string // "0.0.0.0", "::" or a specific address
	Port int
}

// DaemonHost returns the address of the Engine ferry talks to, as the
// client sees it ("unix:///var/run/docker.sock", "tcp://10.0.0.5:2376").
func (c *Client) DaemonHost(ctx context.Context) (string, error) {
	cli, err := c.client(ctx)
	if err != nil {
		return "", err
	}
	return cli.DaemonHost(), nil
}

// InspectEndpoints inspects a container for probing it.
func (c *Client) InspectEndpoints(ctx context.Context, id string) (Endpoints, error) {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return Endpoints{}, err
	}
	return endpoints(res), nil
}

func endpoints(res container.InspectResponse) Endpoints {
	ep := Endpoints{Name: strings.TrimPrefix(res.Name, "/"), Restarts: res.RestartCount, IPs: map[string]string{}, Published: map[int][]HostPort{}}
	if s := res.State; s != nil {
		ep.Running, ep.Restarting, ep.ExitCode = s.Running, s.Restarting, s.ExitCode
		ep.StartedAt, _ = time.Parse(time.RFC3339Nano, s.StartedAt)
		if h := s.Health; h != nil {
			ep.Health = string(h.Status)
			for _, r := range h.Log {
				if r.ExitCode != 0 {
					ep.HealthOutput = strings.TrimSpace(r.Output)
				}
			}
		}
	}
	if ns := res.NetworkSettings; ns != nil {
		for name, n := range ns.Networks {
			if n != nil && n.IPAddress != "" {
				ep.IPs[name] = n.IPAddress
			}
		}
		for port, bindings := range published(ns.Ports) {
			if port.Proto() == "tcp" {
				ep.Published[port.Int()] = bindings
			}
		}
	}
	return ep
}

// published returns the host ports each container port is published on.
func published(ports nat.PortMap) map[nat.Port][]HostPort {
	out := map[nat.Port][]HostPort{}
	for port, bindings := range ports {
		for _, b := range bindings {
			if hp, err := strconv.Atoi(b.HostPort); err == nil {
				out[port] = append(out[port], HostPort{IP: b.HostIP, Port: hp})
			}
		}
	}
	return out
}

// Details is everything docker.inspect tells of a container: its
// endpoints and state, its definition, and what the Engine adds.
type Details struct {
	Endpoints
	ContainerInfo
	ID       string
	State    string // created, running, restarting, exited, …
	Restarts int
	Env      []string // KEY=VALUE, the image's and the container's
	Labels   map[string]string
	// Ports maps each published container port, as "80/tcp", to its
	// bindings on the host.
	Ports map[string][]HostPort
	// Binds maps the path in the container of each bind mount to the
	// host path mounted there.
	Binds map[string]string
}

// Inspect describes a container, running or not.
func (c *Client) Inspect(ctx context.Context, id string) (Details, error) {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return Details{}, err
	}
	d := Details{Endpoints: endpoints(res), ContainerInfo: containerInfo(res), ID: res.ID, Restarts: res.RestartCount, Ports: map[string][]HostPort{}, Binds: map[string]string{}}
	if res.State != nil {
		d.State = string(res.State.Status)
	}
	if res.Config != nil {
		d.Env, d.Labels = res.Config.Env, res.Config.Labels
	}
	for _, m := range res.Mounts {
		if m.Type == mount.TypeBind {
			d.Binds[m.Destination] = m.Source
		}
	}
	if ns := res.NetworkSettings; ns != nil {
		for port, bindings := range published(ns.Ports) {
			d.Ports[string(port)] = bindings
		}
	}
	return d, nil
}
