package dockerapi

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
)

// Container is a container as listed by the Engine.
type Container struct {
	ID      string
	Name    string // without the leading slash
	Image   string
	ImageID string
	Labels  map[string]string
	State   string // created, running, restarting, exited, …
	Status  string // "Up 3 minutes (healthy)", "Exited (1) 2 seconds ago"
	Created time.Time
	Ports   []string // "0.0.0.0:8080->80/tcp"
}

// ContainerSpec says how to create a container.
type ContainerSpec struct {
	Name       string
	Image      string
	Cmd        []string
	Entrypoint []string
	Env        []string // KEY=VALUE
	Labels     map[string]string
	Ports      []PortBinding
	Mounts     []Mount
	Network    string   // network to join; "host" or "none": that network mode, with no aliases
	Aliases    []string // DNS names on that network
	Restart    string   // no, always, on-failure, unless-stopped
	Memory     int64
	NanoCPUs   int64
	WorkingDir string
	User       string
	Health     *HealthCheck // nil: the image's own
	Privileged bool
	Settings
}

// Settings are a container's settings that compose users expect, for a
// container and for a swarm service's tasks (which take some of them).
type Settings struct {
	CapAdd      []string
	CapDrop     []string
	ReadOnly    bool
	SecurityOpt []string
	Tmpfs       map[string]string // path: mount options
	Init        bool
	StopSignal  string
	StopGrace   time.Duration // after the stop signal, before the kill, in whole seconds; 0: 5 s
	ExtraHosts  []string      // "host:ip", ip may be host-gateway
	DNS         []string
	Hostname    string
	ShmSize     int64
	Ulimits     []Ulimit
	Sysctls     map[string]string
	Devices     []Device
	MaxRestarts int // with Restart on-failure; 0: no bound
}

// A Ulimit is a resource limit.
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// A Device is a host device in the container.
type Device struct {
	Host, Container, Perms string
}

// HealthCheck is a Docker health check: Test as Docker writes it
// (["CMD", argv...] or ["CMD-SHELL", command]).
type HealthCheck struct {
	Test        []string
	Interval    time.Duration
	Timeout     time.Duration
	Retries     int
	StartPeriod time.Duration
	// StartInterval needs API 1.44 (Engine 25); 0: Interval.
	StartInterval time.Duration
}

// config returns h for the Engine's API.
func (h *HealthCheck) config() *container.HealthConfig {
	return &container.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, Retries: h.Retries, StartPeriod: h.StartPeriod, StartInterval: h.StartInterval}
}

// checkStartInterval refuses a health check's start interval when the
// Engine's API predates it (1.44), saying what to do; the Docker client's
// own error names no setting of ferry's.
func (c *Client) checkStartInterval(ctx context.Context, h *HealthCheck) error {
	if h == nil || h.StartInterval == 0 {
		return nil
	}
	b, err := c.Builder(ctx)
	if err != nil || !versionBefore(b.APIVersion, "1.44") {
		return err
	}
	return fmt.Errorf("health.exec(start_interval = %s): the Docker Engine runs exec checks, and this one speaks API %s, while a start interval needs API 1.44 (Docker Engine 25 or later); drop start_interval (the check then runs every interval from the start), or upgrade the Engine", h.StartInterval, b.APIVersion)
}

// PortBinding publishes a container port; HostPort "" lets the Engine choose.
type PortBinding struct {
	HostIP        string
	HostPort      string
	ContainerPort int
	Protocol      string
}

// Mount is a bind mount or a named volume.
type Mount struct {
	Bind     bool
	Source   string
	Target   string
	ReadOnly bool
}

// ContainerState is what inspecting a container tells.
type ContainerState struct {
	Running    bool
	Restarting bool
	ExitCode   int
	StartedAt  time.Time
	Restarts   int
	Health     string // "", starting, healthy, unhealthy
	Error      string
}

// labelFilter builds a filter matching every key=value label.
func labelFilter(labels map[string]string) filters.Args {
	f := filters.NewArgs()
	for k, v := range labels {
		if v == "" {
			f.Add("label", k)
		} else {
			f.Add("label", k+"="+v)
		}
	}
	return f
}

// Containers lists the containers, running or not, that carry every label
// given (an empty value matches any value).
func (c *Client) Containers(ctx context.Context, labels map[string]string) ([]Container, error) {
	cli, k, err := c.begin(ctx, "ContainerList", quickCall)
	if err != nil {
		return nil, err
	}
	list, err := cli.ContainerList(k.ctx, container.ListOptions{All: true, Filters: labelFilter(labels)})
	if err = k.done(err); err != nil {
		return nil, c.wrap("list containers", err)
	}
	out := make([]Container, 0, len(list))
	for _, s := range list {
		ct := Container{ID: s.ID, Image: s.Image, ImageID: s.ImageID, Labels: s.Labels, State: s.State, Status: s.Status, Created: time.Unix(s.Created, 0)}
		if len(s.Names) > 0 {
			ct.Name = strings.TrimPrefix(s.Names[0], "/")
		}
		for _, p := range s.Ports {
			if p.PublicPort != 0 {
				ct.Ports = append(ct.Ports, fmt.Sprintf("%s:%d->%d/%s", p.IP, p.PublicPort, p.PrivatePort, p.Type))
			}
		}
		out = append(out, ct)
	}
	return out, nil
}

// ErrNameInUse is wrapped by CreateContainer when the name is taken.
var ErrNameInUse = fmt.Errorf("name already in use")

// CreateContainer creates a container and returns its ID.
func (c *Client) CreateContainer(ctx context.Context, s ContainerSpec) (string, error) {
	cli, k, err := c.begin(ctx, "ContainerCreate", slowCall)
	if err != nil {
		return "", err
	}
	cfg := &container.Config{
		Image: s.Image, Cmd: s.Cmd, Entrypoint: s.Entrypoint, Env: s.Env, Labels: s.Labels,
		WorkingDir: s.WorkingDir, User: s.User, ExposedPorts: nat.PortSet{},
		Hostname: s.Hostname, StopSignal: s.StopSignal,
	}
	grace := int(cmp.Or(s.StopGrace, defaultStopGrace) / time.Second)
	cfg.StopTimeout = &grace
	if h := s.Health; h != nil {
		if err := c.checkStartInterval(ctx, h); err != nil {
			return "", fmt.Errorf("create container %s: %w", s.Name, err)
		}
		cfg.Healthcheck = h.config()
	}
	host := &container.HostConfig{
		PortBindings:  nat.PortMap{},
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyMode(s.Restart), MaximumRetryCount: s.MaxRestarts},
		Resources:     container.Resources{Memory: s.Memory, NanoCPUs: s.NanoCPUs},
		Privileged:    s.Privileged,
		CapAdd:        s.CapAdd, CapDrop: s.CapDrop, ReadonlyRootfs: s.ReadOnly, SecurityOpt: s.SecurityOpt,
		Tmpfs: s.Tmpfs, ExtraHosts: s.ExtraHosts, DNS: s.DNS, ShmSize: s.ShmSize, Sysctls: s.Sysctls,
	}
	if s.Init {
		host.Init = &s.Init
	}
	for _, u := range s.Ulimits {
		host.Ulimits = append(host.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	for _, d := range s.Devices {
		host.Devices = append(host.Devices, container.DeviceMapping{PathOnHost: d.Host, PathInContainer: d.Container, CgroupPermissions: d.Perms})
	}
	for _, p := range s.Ports {
		port := nat.Port(strconv.Itoa(p.ContainerPort) + "/" + p.Protocol)
		cfg.ExposedPorts[port] = struct{}{}
		host.PortBindings[port] = append(host.PortBindings[port], nat.PortBinding{HostIP: p.HostIP, HostPort: p.HostPort})
	}
	for _, m := range s.Mounts {
		t := mount.TypeVolume
		if m.Bind {
			t = mount.TypeBind
		}
		host.Mounts = append(host.Mounts, mount.Mount{Type: t, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	var netCfg *network.NetworkingConfig
	if s.Network != "" {
		host.NetworkMode = container.NetworkMode(s.Network)
	}
	if s.Network != "" && !host.NetworkMode.IsHost() && !host.NetworkMode.IsNone() {
		netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{s.Network: {Aliases: s.Aliases}}}
	}
	res, err := cli.ContainerCreate(k.ctx, cfg, host, netCfg, nil, s.Name)
	if err = k.done(err); err != nil {
		if cerrdefs.IsConflict(err) {
			return "", fmt.Errorf("create container %s: %w", s.Name, ErrNameInUse)
		}
		return "", c.wrap("create container "+s.Name, err)
	}
	return res.ID, nil
}

// StartContainer starts a created container.
func (c *Client) StartContainer(ctx context.Context, id string) error {
	cli, k, err := c.begin(ctx, "ContainerStart", slowCall)
	if err != nil {
		return err
	}
	if err := k.done(cli.ContainerStart(k.ctx, id, container.StartOptions{})); err != nil {
		return c.wrap("start container", err)
	}
	return nil
}

// RemoveContainer stops (with its grace period, see stopGrace) and removes
// a container with its anonymous volumes; one already gone is not an
// error.
func (c *Client) RemoveContainer(ctx context.Context, id string) error {
	if err := c.StopContainer(ctx, id); err != nil {
		return err
	}
	cli, k, err := c.begin(ctx, "ContainerRemove", slowCall)
	if err != nil {
		return err
	}
	// RemoveVolumes removes the container's anonymous volumes, never a
	// named one.
	if err := k.done(cli.ContainerRemove(k.ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})); err != nil && !cerrdefs.IsNotFound(err) {
		return c.wrap("remove container", err)
	}
	return nil
}

// defaultStopGrace is how long a container made without a grace period
// of its own (ContainerSpec.StopGrace) is given after its stop signal
// before it is killed, when ferry stops, restarts or removes it.
const defaultStopGrace = 5 * time.Second

// stopGrace is the grace period of container id: its own StopTimeout,
// which ferry sets on every container it makes, or defaultStopGrace (for
// one made before, or with a negative one: wait for ever).
func (c *Client) stopGrace(ctx context.Context, id string) (time.Duration, error) {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return 0, err
	}
	if res.Config != nil && res.Config.StopTimeout != nil && *res.Config.StopTimeout >= 0 {
		return time.Duration(*res.Config.StopTimeout) * time.Second, nil
	}
	return defaultStopGrace, nil
}

// RestartContainer restarts a container, with its grace period (see
// stopGrace).
func (c *Client) RestartContainer(ctx context.Context, id string) error {
	grace, err := c.stopGrace(ctx, id)
	if err != nil {
		return err
	}
	cli, k, err := c.beginWithin(ctx, "ContainerRestart", func() time.Duration { return grace + c.slow() })
	if err != nil {
		return err
	}
	secs := int(grace / time.Second)
	if err := k.done(cli.ContainerRestart(k.ctx, id, container.StopOptions{Timeout: &secs})); err != nil {
		return c.wrap("restart container", err)
	}
	return nil
}

// InspectContainer returns a container's state.
func (c *Client) InspectContainer(ctx context.Context, id string) (ContainerState, error) {
	res, err := c.inspect(ctx, id)
	if err != nil {
		return ContainerState{}, err
	}
	st := ContainerState{Restarts: res.RestartCount}
	if s := res.State; s != nil {
		st.Running, st.Restarting, st.ExitCode, st.Error = s.Running, s.Restarting, s.ExitCode, s.Error
		st.StartedAt, _ = time.Parse(time.RFC3339Nano, s.StartedAt)
		if s.Health != nil {
			st.Health = string(s.Health.Status)
		}
	}
	return st, nil
}

// inspect returns the Engine's whole description of a container: the
// Inspect methods each keep the part they need.
func (c *Client) inspect(ctx context.Context, id string) (container.InspectResponse, error) {
	cli, k, err := c.begin(ctx, "ContainerInspect", quickCall)
	if err != nil {
		return container.InspectResponse{}, err
	}
	res, err := cli.ContainerInspect(k.ctx, id)
	if err = k.done(err); err != nil {
		return container.InspectResponse{}, c.wrap("inspect container", err)
	}
	return res, nil
}

// WaitContainer waits until the container stops and returns its exit
// code. It has no deadline: a job runs as long as it does (its output,
// streamed meanwhile, shows it is alive), and ctx ends the wait.
func (c *Client) WaitContainer(ctx context.Context, id string) (int, error) {
	cli, err := c.client(ctx)
	if err != nil {
		return 0, err
	}
	resC, errC := cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case res := <-resC:
		if res.Error != nil {
			return 0, fmt.Errorf("wait for container: %s", res.Error.Message)
		}
		return int(res.StatusCode), nil
	case err := <-errC:
		return 0, c.wrap("wait for container", err)
	}
}

// Logs writes a container's output, stdout and stderr as they come, to
// out; tail limits it to the last lines ("" for all). The caller cuts it
// into lines, after redacting it as one stream.
func (c *Client) Logs(ctx context.Context, id string, follow bool, tail string, out io.Writer) error {
	cli, k, err := c.begin(ctx, "ContainerLogs", quickCall)
	if err != nil {
		return err
	}
	defer k.done(nil)
	rc, err := cli.ContainerLogs(k.ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow, Tail: tail})
	if err = k.answered(err); err != nil {
		return c.wrap("container logs", err)
	}
	return copyLogs(ctx, rc, "container logs", out)
}

// copyLogs writes the multiplexed log stream rc (closed at the end),
// stdout and stderr as they come, to out; what names the stream in errors.
func copyLogs(ctx context.Context, rc io.ReadCloser, what string, out io.Writer) error {
	defer rc.Close()
	if _, err := stdcopy.StdCopy(out, out, rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	return nil
}

// EnsureNetwork creates a bridge network with labels unless it exists;
// an internal one has no route out of it.
func (c *Client) EnsureNetwork(ctx context.Context, name string, labels map[string]string, internal bool) error {
	return c.ensureNetwork(ctx, name, network.CreateOptions{Driver: "bridge", Labels: labels, Internal: internal}, "network")
}

// ensureNetwork creates the network name with opts unless one of that name
// exists; what names its kind in errors.
func (c *Client) ensureNetwork(ctx context.Context, name string, opts network.CreateOptions, what string) error {
	if ok, err := c.NetworkExists(ctx, name); err != nil || ok {
		return err
	}
	cli, k, err := c.begin(ctx, "NetworkCreate", slowCall)
	if err != nil {
		return err
	}
	_, err = cli.NetworkCreate(k.ctx, name, opts)
	if err = k.done(err); err != nil && !cerrdefs.IsConflict(err) {
		return c.wrap("create "+what+" "+name, err)
	}
	return nil
}

// RemoveNetworks removes the local networks carrying every label given,
// but those whose labels keep accepts (nil: none), and returns their
// names; swarm networks are left to RemoveSwarmNetworks.
func (c *Client) RemoveNetworks(ctx context.Context, labels map[string]string, keep func(map[string]string) bool) ([]string, error) {
	return c.removeNetworks(ctx, labels, keep, "local")
}

// removeNetworks removes the networks of scope (local or swarm) carrying
// every label given, but those keep accepts, and returns their names.
func (c *Client) removeNetworks(ctx context.Context, labels map[string]string, keep func(map[string]string) bool, scope string) ([]string, error) {
	cli, k, err := c.begin(ctx, "NetworkList", quickCall)
	if err != nil {
		return nil, err
	}
	f := labelFilter(labels)
	f.Add("scope", scope)
	list, err := cli.NetworkList(k.ctx, network.ListOptions{Filters: f})
	if err = k.done(err); err != nil {
		return nil, c.wrap("list networks", err)
	}
	var names []string
	for _, n := range list {
		if keep != nil && keep(n.Labels) {
			continue
		}
		_, k, err := c.begin(ctx, "NetworkRemove", slowCall)
		if err != nil {
			return names, err
		}
		if err := k.done(cli.NetworkRemove(k.ctx, n.ID)); err != nil && !cerrdefs.IsNotFound(err) {
			return names, c.wrap("remove network "+n.Name, err)
		}
		names = append(names, n.Name)
	}
	return names, nil
}

// EnsureVolume creates a named volume with labels unless it exists.
func (c *Client) EnsureVolume(ctx context.Context, name string, labels map[string]string) error {
	if ok, err := c.VolumeExists(ctx, name); err != nil || ok {
		return err
	}
	cli, k, err := c.begin(ctx, "VolumeCreate", slowCall)
	if err != nil {
		return err
	}
	_, err = cli.VolumeCreate(k.ctx, volume.CreateOptions{Name: name, Labels: labels})
	if err = k.done(err); err != nil {
		return c.wrap("create volume "+name, err)
	}
	return nil
}

// RemoveVolumes removes the volumes carrying every label given, but those
// whose labels keep accepts (nil: none), and returns their names.
func (c *Client) RemoveVolumes(ctx context.Context, labels map[string]string, keep func(map[string]string) bool) ([]string, error) {
	cli, k, err := c.begin(ctx, "VolumeList", quickCall)
	if err != nil {
		return nil, err
	}
	list, err := cli.VolumeList(k.ctx, volume.ListOptions{Filters: labelFilter(labels)})
	if err = k.done(err); err != nil {
		return nil, c.wrap("list volumes", err)
	}
	var names []string
	for _, v := range list.Volumes {
		if keep != nil && keep(v.Labels) {
			continue
		}
		_, k, err := c.begin(ctx, "VolumeRemove", slowCall)
		if err != nil {
			return names, err
		}
		if err := k.done(cli.VolumeRemove(k.ctx, v.Name, true)); err != nil && !cerrdefs.IsNotFound(err) {
			return names, c.wrap("remove volume "+v.Name, err)
		}
		names = append(names, v.Name)
	}
	return names, nil
}

// ConnectNetwork attaches a container to another network under aliases.
func (c *Client) ConnectNetwork(ctx context.Context, netName, id string, aliases []string) error {
	cli, k, err := c.begin(ctx, "NetworkConnect", slowCall)
	if err != nil {
		return err
	}
	if err := k.done(cli.NetworkConnect(k.ctx, netName, id, &network.EndpointSettings{Aliases: aliases})); err != nil {
		return c.wrap("connect to network "+netName, err)
	}
	return nil
}

// NetworkExists reports whether a network of that name exists.
func (c *Client) NetworkExists(ctx context.Context, name string) (bool, error) {
	_, ok, err := c.NetworkLabels(ctx, name)
	return ok, err
}

// NetworkLabels returns the labels of the network of that name, and
// whether there is one.
func (c *Client) NetworkLabels(ctx context.Context, name string) (map[string]string, bool, error) {
	n, ok, err := c.Network(ctx, name)
	return n.Labels, ok, err
}

// NetworkInfo is what ferry reads of a network.
type NetworkInfo struct {
	Labels   map[string]string
	Internal bool
}

// Network inspects the network of that name, and says whether there is one.
func (c *Client) Network(ctx context.Context, name string) (NetworkInfo, bool, error) {
	cli, k, err := c.begin(ctx, "NetworkInspect", quickCall)
	if err != nil {
		return NetworkInfo{}, false, err
	}
	res, err := cli.NetworkInspect(k.ctx, name, network.InspectOptions{})
	err = k.done(err)
	switch {
	case err == nil:
		return NetworkInfo{Labels: res.Labels, Internal: res.Internal}, true, nil
	case cerrdefs.IsNotFound(err):
		return NetworkInfo{}, false, nil
	}
	return NetworkInfo{}, false, c.wrap("inspect network "+name, err)
}

// VolumeExists reports whether a volume of that name exists.
func (c *Client) VolumeExists(ctx context.Context, name string) (bool, error) {
	_, ok, err := c.VolumeLabels(ctx, name)
	return ok, err
}

// VolumeLabels returns the labels of the volume of that name, and whether
// there is one.
func (c *Client) VolumeLabels(ctx context.Context, name string) (map[string]string, bool, error) {
	cli, k, err := c.begin(ctx, "VolumeInspect", quickCall)
	if err != nil {
		return nil, false, err
	}
	res, err := cli.VolumeInspect(k.ctx, name)
	err = k.done(err)
	switch {
	case err == nil:
		return res.Labels, true, nil
	case cerrdefs.IsNotFound(err):
		return nil, false, nil
	}
	return nil, false, c.wrap("inspect volume "+name, err)
}
