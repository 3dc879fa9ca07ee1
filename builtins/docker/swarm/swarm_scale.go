package swarm

import (
	"context"
	"fmt"
	"io"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/local"
	"github.com/ferryhq/ferry/builtins/scale"
)

// swarmReplicas is how many replicas Deploy and Current want of the swarm
// service d, running as cur (nil: not yet): the declared count, or for an
// autoscaled service the count cur has, kept within min and max.
func swarmReplicas(d *deploy.Deployment, cur *dockerapi.Service) uint64 {
	a := d.Spec.Autoscale
	if a == nil || cur == nil {
		return uint64(d.Spec.Replicas)
	}
	return uint64(min(max(int(cur.Replicas), a.Min), a.Max))
}

// checkSwarmAutoscale refuses an autoscaled service whose metrics port is
// not published: on a swarm the autoscaler reads each task's metrics
// through its published host port, as health checks are probed.
func checkSwarmAutoscale(s *deploy.ServiceSpec) error {
	a := s.Autoscale
	if a == nil || a.Metric == scale.CPU {
		return nil
	}
	for _, p := range s.Ports {
		if p.Container == a.Port && p.Protocol == "tcp" {
			return nil
		}
	}
	return fmt.Errorf("autoscale: on a swarm ferry reads %s through each task's published host port, since overlay addresses cannot be reached from the host, and port %d is not published; publish it (ports = [\"%d\"]), or scale on metric = \"cpu\"", a.Metric, a.Port, a.Port)
}

// A Scaler scales the services of one project on a swarm for the
// autoscaler: it sets the swarm service's replica count, which the swarm
// then converges to.
type Scaler struct {
	t       *Target
	project string
	cpu     *local.CPUStreams
}

var _ deploy.Scaling = (*Target)(nil)

// NewScaler returns a Scaler for project. The swarm keeps the
// services' specs, and says nothing as it converges, so specs, root and
// log are not used. Close it when done.
func (t *Target) NewScaler(project, _ string, _ map[string]*deploy.ServiceSpec, _ io.Writer) deploy.Scaler {
	return &Scaler{t: t, project: project, cpu: local.NewCPUStreams(t.c)}
}

// tasks lists the running tasks of the service whose containers are on
// this node, by container name.
func (s *Scaler) tasks(ctx context.Context, service string) (map[string]string, error) {
	sv, err := s.t.service(ctx, s.project, service)
	if err != nil || sv == nil {
		return nil, err
	}
	tasks, err := s.t.c.Tasks(ctx, sv.ID)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, task := range tasks {
		if task.DesiredState != "running" || task.State != "running" || task.ContainerID == "" {
			continue
		}
		ep, err := s.t.c.InspectEndpoints(ctx, task.ContainerID)
		if err != nil {
			return nil, fmt.Errorf("swarm service %s: task %d runs on another node, whose containers ferry cannot read from here: %w", sv.Name, task.Slot, err)
		}
		out[ep.Name] = task.ContainerID
	}
	return out, nil
}

// Replicas lists the service's running tasks, with where port answers:
// its published host port, since overlay addresses are not reachable from
// the host.
func (s *Scaler) Replicas(ctx context.Context, service string, port int) ([]scale.Replica, error) {
	tasks, err := s.tasks(ctx, service)
	if err != nil {
		return nil, err
	}
	host, err := s.t.c.DaemonHost(ctx)
	if err != nil {
		return nil, err
	}
	var out []scale.Replica
	for name, id := range tasks {
		ep, err := s.t.c.InspectEndpoints(ctx, id)
		if err != nil {
			return nil, err
		}
		r := scale.Replica{Name: name}
		r.Addr, r.AddrErr = local.Reach(host, nil, ep, NetworkName(s.project), port)
		out = append(out, r)
	}
	return out, nil
}

// CPU returns how many tasks run, and the CPU use of each one's container,
// in percent of one core, from the Engine's streaming stats.
func (s *Scaler) CPU(ctx context.Context, service string) (int, map[string]float64, error) {
	tasks, err := s.tasks(ctx, service)
	if err != nil {
		return 0, nil, err
	}
	out := map[string]float64{}
	for name, id := range tasks {
		if pct, ok := s.cpu.Latest(id); ok {
			out[name] = pct
		}
	}
	return len(tasks), out, nil
}

// Scale sets the swarm service's replica count to n.
func (s *Scaler) Scale(ctx context.Context, service string, n int) error {
	sv, err := s.t.service(ctx, s.project, service)
	if err != nil {
		return err
	}
	if sv == nil {
		return fmt.Errorf("no swarm service runs %s; `ferry --env %s up` starts it", service, s.t.env.Name)
	}
	return s.t.c.ScaleService(ctx, *sv, uint64(n))
}

// Close ends the stats streams.
func (s *Scaler) Close() { s.cpu.Close() }
