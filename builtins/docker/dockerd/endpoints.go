package dockerd

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Endpoints is what a health probe needs to know of a container: where it
// can be reached, whether it runs, and what the Engine's own health check
// last said.
type Endpoints struct {
	Name      string
	Running   bool
	ExitCode  int
	StartedAt time.Time
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
	cli, err := c.client(ctx)
	if err != nil {
		return Endpoints{}, err
	}
	res, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		return Endpoints{}, c.wrap("inspect container", err)
	}
	ep := Endpoints{Name: strings.TrimPrefix(res.Name, "/"), IPs: map[string]string{}, Published: map[int][]HostPort{}}
	if s := res.State; s != nil {
		ep.Running, ep.ExitCode = s.Running, s.ExitCode
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
		for port, bindings := range ns.Ports {
			if port.Proto() != "tcp" {
				continue
			}
			for _, b := range bindings {
				if hp, err := strconv.Atoi(b.HostPort); err == nil {
					ep.Published[port.Int()] = append(ep.Published[port.Int()], HostPort{IP: b.HostIP, Port: hp})
				}
			}
		}
	}
	return ep, nil
}
