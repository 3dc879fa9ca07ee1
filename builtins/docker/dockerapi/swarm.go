package dockerapi

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
)

// SwarmInfo is what the Engine says of its place in a swarm.
type SwarmInfo struct {
	State   string // inactive, pending, active, error, locked
	Manager bool   // the node can manage services
	Nodes   int
	Error   string
}

// SwarmInfo reports whether the Engine is in swarm mode, and as what.
func (c *Client) SwarmInfo(ctx context.Context) (SwarmInfo, error) {
	cli, k, err := c.begin(ctx, "Info", quickCall)
	if err != nil {
		return SwarmInfo{}, err
	}
	info, err := cli.Info(k.ctx)
	err = k.done(err)
	if err != nil {
		return SwarmInfo{}, c.wrap("engine info", err)
	}
	s := info.Swarm
	return SwarmInfo{State: string(s.LocalNodeState), Manager: s.ControlAvailable, Nodes: s.Nodes, Error: s.Error}, nil
}

// ServiceSpec says how to create or update a Swarm service. Its ports are
// published in host mode and it resolves by DNS round-robin (dnsrr), which
// work without IPVS.
type ServiceSpec struct {
	Name            string
	Labels          map[string]string // on the service
	ContainerLabels map[string]string // on its task containers
	Image           string            // an image ID, so no node tries a pull
	Entrypoint      []string
	Cmd             []string
	Env             []string
	Ports           []ServicePort
	Mounts          []ServiceMount
	Networks        []ServiceNetwork
	Replicas        uint64
	Job             bool   // a replicated job run to completion once
	Restart         string // none, on-failure, any
	Memory          int64
	NanoCPUs        int64
	WorkingDir      string
	User            string
	Health          *HealthCheck
	Secrets         []ServiceSecret
	Configs         []ServiceConfig
	// UpdateOrder is start-first or stop-first; updates replace one task
	// at a time, and roll back when a new task fails.
	UpdateOrder string
	// UpdateMonitor is how long a new task must run before the swarm
	// counts it updated and goes on (ferry's ready_after); 0: as soon as
	// it runs, not the swarm's default of 5 s.
	UpdateMonitor time.Duration
	// Settings of the task containers: a swarm takes neither SecurityOpt,
	// ShmSize nor Devices; tmpfs mounts are Mounts; StopGrace 0 is the
	// swarm's default.
	Settings
}

// A ServicePort publishes a target port on the host of each task (host
// mode); Published 0 lets the Engine choose a free one.
type ServicePort struct {
	Target    int
	Published int
	Protocol  string
}

// A ServiceMount is a named volume (created on each node with Labels) or a
// bind mount of a host path.
type ServiceMount struct {
	Mount
	Labels map[string]string
	Tmpfs  *TmpfsOptions // a tmpfs at Target (Source unused)
}

// TmpfsOptions are a tmpfs mount's size and mode (0: the defaults).
type TmpfsOptions struct {
	Size int64
	Mode os.FileMode
}

// A ServiceSecret mounts a Swarm secret in the task containers as the
// file Target (an absolute path, or one relative to /run/secrets),
// owned by root and readable by every user (0444).
type ServiceSecret struct {
	ID     string
	Name   string
	Target string
}

// A ServiceConfig mounts a Swarm config in the task containers as the
// file Target (an absolute path), owned by root, with mode Mode.
type ServiceConfig struct {
	ID     string
	Name   string
	Target string
	Mode   os.FileMode
}

// A ServiceNetwork is a network a service joins, and the names it answers
// to there.
type ServiceNetwork struct {
	Name    string
	Aliases []string
}

// A Service is a Swarm service as listed.
type Service struct {
	ID          string
	Name        string
	Version     uint64
	Labels      map[string]string
	Replicas    uint64 // desired, for a replicated service
	Job         bool
	UpdateState string
	UpdateMsg   string
	SecretNames []string          // the Swarm secrets its spec references
	ConfigNames []string          // the Swarm configs its spec references
	Spec        swarm.ServiceSpec // kept to update the service from
}

// A Task is one of a service's tasks.
type Task struct {
	ID           string
	Slot         int
	State        string // running, complete, failed, rejected, …
	DesiredState string
	Err          string
	Message      string
	ContainerID  string
	ExitCode     int
	Timestamp    time.Time
	Labels       map[string]string // its container labels, from the spec
	Ports        []string          // "0.0.0.0:32768->8080/tcp"
}

// swarmCapability writes a capability as the swarm's API takes it, with
// its CAP_ prefix ("ALL" stays as it is).
func swarmCapability(c string) string {
	if c == "ALL" || strings.HasPrefix(c, "CAP_") {
		return c
	}
	return "CAP_" + c
}

func (s ServiceSpec) swarm() swarm.ServiceSpec {
	cs := &swarm.ContainerSpec{
		Image: s.Image, Labels: s.ContainerLabels, Command: s.Entrypoint, Args: s.Cmd, Env: s.Env,
		Dir: s.WorkingDir, User: s.User,
		ReadOnly: s.ReadOnly, StopSignal: s.StopSignal, Hostname: s.Hostname, Sysctls: s.Sysctls,
	}
	for _, c := range s.CapAdd {
		cs.CapabilityAdd = append(cs.CapabilityAdd, swarmCapability(c))
	}
	for _, c := range s.CapDrop {
		cs.CapabilityDrop = append(cs.CapabilityDrop, swarmCapability(c))
	}
	if s.Init {
		cs.Init = &s.Init
	}
	if s.StopGrace > 0 {
		cs.StopGracePeriod = &s.StopGrace
	}
	for _, h := range s.ExtraHosts {
		// A swarm takes them as /etc/hosts lines: "IP NAME".
		name, ip, _ := strings.Cut(h, ":")
		cs.Hosts = append(cs.Hosts, ip+" "+name)
	}
	if len(s.DNS) > 0 {
		cs.DNSConfig = &swarm.DNSConfig{Nameservers: s.DNS}
	}
	for _, u := range s.Ulimits {
		cs.Ulimits = append(cs.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	if h := s.Health; h != nil {
		cs.Healthcheck = h.config()
	}
	for _, sec := range s.Secrets {
		cs.Secrets = append(cs.Secrets, &swarm.SecretReference{
			SecretID: sec.ID, SecretName: sec.Name,
			File: &swarm.SecretReferenceFileTarget{Name: sec.Target, UID: "0", GID: "0", Mode: 0o444},
		})
	}
	for _, cf := range s.Configs {
		cs.Configs = append(cs.Configs, &swarm.ConfigReference{
			ConfigID: cf.ID, ConfigName: cf.Name,
			File: &swarm.ConfigReferenceFileTarget{Name: cf.Target, UID: "0", GID: "0", Mode: cf.Mode},
		})
	}
	for _, m := range s.Mounts {
		mt := mount.Mount{Type: mount.TypeVolume, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
		switch {
		case m.Tmpfs != nil:
			mt = mount.Mount{Type: mount.TypeTmpfs, Target: m.Target, ReadOnly: m.ReadOnly, TmpfsOptions: &mount.TmpfsOptions{SizeBytes: m.Tmpfs.Size, Mode: m.Tmpfs.Mode}}
		case m.Bind:
			mt.Type = mount.TypeBind
		default:
			mt.VolumeOptions = &mount.VolumeOptions{Labels: m.Labels}
		}
		cs.Mounts = append(cs.Mounts, mt)
	}
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: s.Name, Labels: s.Labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: cs,
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyCondition(s.Restart)},
		},
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeDNSRR},
	}
	if s.MaxRestarts > 0 {
		n := uint64(s.MaxRestarts)
		spec.TaskTemplate.RestartPolicy.MaxAttempts = &n
	}
	if s.Memory > 0 || s.NanoCPUs > 0 {
		spec.TaskTemplate.Resources = &swarm.ResourceRequirements{Limits: &swarm.Limit{MemoryBytes: s.Memory, NanoCPUs: s.NanoCPUs}}
	}
	for _, n := range s.Networks {
		spec.TaskTemplate.Networks = append(spec.TaskTemplate.Networks, swarm.NetworkAttachmentConfig{Target: n.Name, Aliases: n.Aliases})
	}
	for _, p := range s.Ports {
		spec.EndpointSpec.Ports = append(spec.EndpointSpec.Ports, swarm.PortConfig{
			Protocol: swarm.PortConfigProtocol(p.Protocol), TargetPort: uint32(p.Target),
			PublishedPort: uint32(p.Published), PublishMode: swarm.PortConfigPublishModeHost,
		})
	}
	if s.Job {
		one := uint64(1)
		spec.Mode.ReplicatedJob = &swarm.ReplicatedJob{MaxConcurrent: &one, TotalCompletions: &one}
		return spec
	}
	replicas := s.Replicas
	spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &replicas}
	// The Engine takes a Monitor of 0 as "the default", 5 s: the shortest
	// duration it keeps stands for none.
	monitor := max(s.UpdateMonitor, time.Nanosecond)
	spec.UpdateConfig = &swarm.UpdateConfig{Parallelism: 1, Order: s.UpdateOrder, Monitor: monitor, FailureAction: swarm.UpdateFailureActionRollback}
	spec.RollbackConfig = &swarm.UpdateConfig{Parallelism: 1, Order: s.UpdateOrder, Monitor: monitor, FailureAction: swarm.UpdateFailureActionPause}
	return spec
}

// Services lists the services that carry every label given.
func (c *Client) Services(ctx context.Context, labels map[string]string) ([]Service, error) {
	cli, k, err := c.begin(ctx, "ServiceList", quickCall)
	if err != nil {
		return nil, err
	}
	list, err := cli.ServiceList(k.ctx, swarm.ServiceListOptions{Filters: labelFilter(labels)})
	err = k.done(err)
	if err != nil {
		return nil, c.wrap("list services", err)
	}
	out := make([]Service, 0, len(list))
	for _, s := range list {
		sv := Service{ID: s.ID, Name: s.Spec.Name, Version: s.Version.Index, Labels: s.Spec.Labels, Job: s.Spec.Mode.ReplicatedJob != nil, Spec: s.Spec}
		if r := s.Spec.Mode.Replicated; r != nil && r.Replicas != nil {
			sv.Replicas = *r.Replicas
		}
		if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil {
			for _, ref := range cs.Secrets {
				sv.SecretNames = append(sv.SecretNames, ref.SecretName)
			}
			for _, ref := range cs.Configs {
				sv.ConfigNames = append(sv.ConfigNames, ref.ConfigName)
			}
		}
		if u := s.UpdateStatus; u != nil {
			sv.UpdateState, sv.UpdateMsg = string(u.State), u.Message
		}
		out = append(out, sv)
	}
	return out, nil
}

// ErrServiceExists is wrapped by CreateService when the name is taken.
var ErrServiceExists = fmt.Errorf("service name already in use")

// CreateService creates a service and returns its ID.
func (c *Client) CreateService(ctx context.Context, s ServiceSpec) (string, error) {
	if err := c.checkStartInterval(ctx, s.Health); err != nil {
		return "", fmt.Errorf("create service %s: %w", s.Name, err)
	}
	cli, k, err := c.begin(ctx, "ServiceCreate", slowCall)
	if err != nil {
		return "", err
	}
	res, err := cli.ServiceCreate(k.ctx, s.swarm(), swarm.ServiceCreateOptions{})
	err = k.done(err)
	if err != nil {
		if cerrdefs.IsConflict(err) {
			return "", fmt.Errorf("create service %s: %w", s.Name, ErrServiceExists)
		}
		return "", c.wrap("create service "+s.Name, err)
	}
	return res.ID, nil
}

// UpdateService replaces the spec of the service at version; the Swarm
// rolls its tasks over as the spec's update settings say.
func (c *Client) UpdateService(ctx context.Context, id string, version uint64, s ServiceSpec) error {
	if err := c.checkStartInterval(ctx, s.Health); err != nil {
		return fmt.Errorf("update service %s: %w", s.Name, err)
	}
	return c.updateService(ctx, id, version, s.Name, s.swarm())
}

// ScaleService changes only the replica count of a replicated service.
func (c *Client) ScaleService(ctx context.Context, sv Service, replicas uint64) error {
	spec := sv.Spec
	spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &replicas}
	return c.updateService(ctx, sv.ID, sv.Version, sv.Name, spec)
}

func (c *Client) updateService(ctx context.Context, id string, version uint64, name string, spec swarm.ServiceSpec) error {
	cli, k, err := c.begin(ctx, "ServiceUpdate", slowCall)
	if err != nil {
		return err
	}
	_, err = cli.ServiceUpdate(k.ctx, id, swarm.Version{Index: version}, spec, swarm.ServiceUpdateOptions{})
	if err = k.done(err); err != nil {
		return c.wrap("update service "+name, err)
	}
	return nil
}

// RemoveService removes a service; its tasks' containers go shortly after.
// One already gone is not an error.
func (c *Client) RemoveService(ctx context.Context, id string) error {
	cli, k, err := c.begin(ctx, "ServiceRemove", slowCall)
	if err != nil {
		return err
	}
	if err := k.done(cli.ServiceRemove(k.ctx, id)); err != nil && !cerrdefs.IsNotFound(err) {
		return c.wrap("remove service", err)
	}
	return nil
}

// Tasks lists the tasks of a service, the current and the recent past ones.
func (c *Client) Tasks(ctx context.Context, serviceID string) ([]Task, error) {
	cli, k, err := c.begin(ctx, "TaskList", quickCall)
	if err != nil {
		return nil, err
	}
	list, err := cli.TaskList(k.ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", serviceID))})
	err = k.done(err)
	if err != nil {
		return nil, c.wrap("list tasks", err)
	}
	out := make([]Task, 0, len(list))
	for _, t := range list {
		task := Task{
			ID: t.ID, Slot: t.Slot, State: string(t.Status.State), DesiredState: string(t.DesiredState),
			Err: t.Status.Err, Message: t.Status.Message, Timestamp: t.Status.Timestamp,
		}
		if cs := t.Status.ContainerStatus; cs != nil {
			task.ContainerID, task.ExitCode = cs.ContainerID, cs.ExitCode
		}
		if cs := t.Spec.ContainerSpec; cs != nil {
			task.Labels = cs.Labels
		}
		// The Engine reports a host-mode port once per address family, and
		// a dynamic one may get a different number in each: keep the first
		// of each container port, so a task shows one per declared port.
		seen := map[string]bool{}
		for _, p := range t.Status.PortStatus.Ports {
			if target := fmt.Sprintf("%d/%s", p.TargetPort, p.Protocol); !seen[target] {
				seen[target] = true
				task.Ports = append(task.Ports, fmt.Sprintf("0.0.0.0:%d->%s", p.PublishedPort, target))
			}
		}
		out = append(out, task)
	}
	return out, nil
}

// TaskLogs writes a task's output, stdout and stderr as they come, to out
// (see Logs).
func (c *Client) TaskLogs(ctx context.Context, taskID string, follow bool, tail string, out io.Writer) error {
	cli, k, err := c.begin(ctx, "TaskLogs", quickCall)
	if err != nil {
		return err
	}
	defer k.done(nil)
	rc, err := cli.TaskLogs(k.ctx, taskID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow, Tail: tail})
	if err = k.answered(err); err != nil {
		return c.wrap("task logs", err)
	}
	return copyLogs(ctx, rc, "task logs", out)
}

// EnsureOverlayNetwork creates an attachable overlay network with labels
// unless one of that name exists; an internal one has no route out of it.
func (c *Client) EnsureOverlayNetwork(ctx context.Context, name string, labels map[string]string, internal bool) error {
	return c.ensureNetwork(ctx, name, network.CreateOptions{Driver: "overlay", Attachable: true, Labels: labels, Internal: internal}, "overlay network")
}

// RemoveSwarmNetworks removes the swarm-scoped networks carrying every label
// given, but those whose labels keep accepts (nil: none), and returns their
// names.
func (c *Client) RemoveSwarmNetworks(ctx context.Context, labels map[string]string, keep func(map[string]string) bool) ([]string, error) {
	return c.removeNetworks(ctx, labels, keep, "swarm")
}

// ServiceContainers lists the containers on this node that run, or ran,
// tasks of the service.
func (c *Client) ServiceContainers(ctx context.Context, serviceID string) ([]Container, error) {
	return c.Containers(ctx, map[string]string{"com.docker.swarm.service.id": serviceID})
}

// A Secret is a Swarm secret as listed (its value cannot be read back).
type Secret struct {
	ID     string
	Name   string
	Labels map[string]string
}

// EnsureSecret returns the ID of the Swarm secret name, creating it with
// data and labels unless it exists. A secret is immutable, so a name must
// stand for one value: callers name secrets by an HMAC of it. The value
// never appears in the errors returned.
func (c *Client) EnsureSecret(ctx context.Context, name string, data []byte, labels map[string]string) (string, error) {
	cli, k, err := c.begin(ctx, "SecretCreate", slowCall)
	if err != nil {
		return "", err
	}
	res, err := cli.SecretCreate(k.ctx, swarm.SecretSpec{Annotations: swarm.Annotations{Name: name, Labels: labels}, Data: data})
	err = k.done(err)
	if err == nil {
		return res.ID, nil
	}
	if !cerrdefs.IsConflict(err) && !cerrdefs.IsAlreadyExists(err) {
		return "", c.wrap("create swarm secret "+name, err)
	}
	list, lerr := c.Secrets(ctx, nil)
	if lerr != nil {
		return "", lerr
	}
	for _, s := range list {
		if s.Name == name {
			return s.ID, nil
		}
	}
	return "", c.wrap("create swarm secret "+name, err)
}

// Secrets lists the Swarm secrets that carry every label given.
func (c *Client) Secrets(ctx context.Context, labels map[string]string) ([]Secret, error) {
	cli, k, err := c.begin(ctx, "SecretList", quickCall)
	if err != nil {
		return nil, err
	}
	list, err := cli.SecretList(k.ctx, swarm.SecretListOptions{Filters: labelFilter(labels)})
	err = k.done(err)
	if err != nil {
		return nil, c.wrap("list swarm secrets", err)
	}
	out := make([]Secret, 0, len(list))
	for _, s := range list {
		out = append(out, Secret{ID: s.ID, Name: s.Spec.Name, Labels: s.Spec.Labels})
	}
	return out, nil
}

// ErrSecretInUse is wrapped by RemoveSecret when a service references the
// secret.
var ErrSecretInUse = fmt.Errorf("swarm secret in use")

// RemoveSecret removes a Swarm secret; one already gone is not an error.
func (c *Client) RemoveSecret(ctx context.Context, id, name string) error {
	cli, k, err := c.begin(ctx, "SecretRemove", slowCall)
	if err != nil {
		return err
	}
	err = cli.SecretRemove(k.ctx, id)
	err = k.done(err)
	switch {
	case err == nil || cerrdefs.IsNotFound(err):
		return nil
	case cerrdefs.IsInvalidArgument(err) && strings.Contains(err.Error(), "in use"):
		return fmt.Errorf("remove swarm secret %s: %w", name, ErrSecretInUse)
	}
	return c.wrap("remove swarm secret "+name, err)
}

// A Config is a Swarm config as listed.
type Config struct {
	ID     string
	Name   string
	Labels map[string]string
}

// EnsureConfig returns the ID of the Swarm config name, creating it with
// data and labels unless it exists (a config is immutable: ferry names
// each by its content).
func (c *Client) EnsureConfig(ctx context.Context, name string, data []byte, labels map[string]string) (string, error) {
	cli, k, err := c.begin(ctx, "ConfigCreate", slowCall)
	if err != nil {
		return "", err
	}
	res, err := cli.ConfigCreate(k.ctx, swarm.ConfigSpec{Annotations: swarm.Annotations{Name: name, Labels: labels}, Data: data})
	err = k.done(err)
	if err == nil {
		return res.ID, nil
	}
	if !cerrdefs.IsConflict(err) && !cerrdefs.IsAlreadyExists(err) {
		return "", c.wrap("create swarm config "+name, err)
	}
	list, lerr := c.Configs(ctx, nil)
	if lerr != nil {
		return "", lerr
	}
	for _, cf := range list {
		if cf.Name == name {
			return cf.ID, nil
		}
	}
	return "", c.wrap("create swarm config "+name, err)
}

// Configs lists the Swarm configs that carry every label given.
func (c *Client) Configs(ctx context.Context, labels map[string]string) ([]Config, error) {
	cli, k, err := c.begin(ctx, "ConfigList", quickCall)
	if err != nil {
		return nil, err
	}
	list, err := cli.ConfigList(k.ctx, swarm.ConfigListOptions{Filters: labelFilter(labels)})
	if err = k.done(err); err != nil {
		return nil, c.wrap("list swarm configs", err)
	}
	out := make([]Config, 0, len(list))
	for _, cf := range list {
		out = append(out, Config{ID: cf.ID, Name: cf.Spec.Name, Labels: cf.Spec.Labels})
	}
	return out, nil
}

// ErrConfigInUse is wrapped by RemoveConfig when a service references the
// config.
var ErrConfigInUse = fmt.Errorf("swarm config in use")

// RemoveConfig removes a Swarm config; one already gone is not an error.
func (c *Client) RemoveConfig(ctx context.Context, id, name string) error {
	cli, k, err := c.begin(ctx, "ConfigRemove", slowCall)
	if err != nil {
		return err
	}
	err = k.done(cli.ConfigRemove(k.ctx, id))
	switch {
	case err == nil || cerrdefs.IsNotFound(err):
		return nil
	case cerrdefs.IsInvalidArgument(err) && strings.Contains(err.Error(), "in use"):
		return fmt.Errorf("remove swarm config %s: %w", name, ErrConfigInUse)
	}
	return c.wrap("remove swarm config "+name, err)
}
