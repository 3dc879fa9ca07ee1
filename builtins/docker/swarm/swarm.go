package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/image"
	"github.com/ferryhq/ferry/builtins/docker/local"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// labelImage carries, on a swarm service, the image reference it was
// deployed from (the service itself runs the image by ID).
const labelImage = "ferry.image"

// convergeTimeout bounds how long Deploy waits for a service's tasks to run.
const convergeTimeout = 2 * time.Minute

// Target runs services and jobs as Docker Swarm services, on the swarm
// the Engine is a manager of: one attachable overlay network per project,
// on which each service answers to its rule's name by DNS round-robin
// (dnsrr), and ports published in host mode. Neither needs IPVS, which the
// ingress routing mesh and virtual IPs do. Images are referenced by ID, so
// no node tries a pull: on a swarm of several nodes, every node must have
// the image (push it to a registry they pull from).
type Target struct {
	c     *dockerapi.Client
	local *local.Target // task containers on this node (health, last log lines); redacts the tasks' output
	env   *deploy.Environment
	warn  func(string)
	owner deploy.Owner // the workspace: see Own

	readyOnce  sync.Once
	readyErr   error
	nodes      int // in the swarm
	warnedOnce sync.Once
	prepMu     sync.Mutex // serialises creating networks
}

// The capabilities of the Swarm target, beyond deploy.Target (see also
// Follower in swarm_follow.go and Scaling in swarm_scale.go).
var (
	_ deploy.Target      = (*Target)(nil)
	_ deploy.Logger      = (*Target)(nil)
	_ deploy.Owned       = (*Target)(nil)
	_ deploy.SpecChecker = (*Target)(nil)
)

// NewTarget returns a Target for the environment env, using c,
// which removes red's values from the tasks' output that it shows
// (nothing when red is nil); warn receives what the user should know but
// that does not stop a deployment (no IPVS in the kernel, a swarm of
// several nodes).
func NewTarget(c *dockerapi.Client, red *redact.Redactor, env *deploy.Environment, warn func(string)) *Target {
	return &Target{c: c, local: local.NewTarget(c, red), env: env, warn: warn}
}

// Own makes t label what it creates (services, secrets, networks,
// volumes) as the workspace o's, and refuse to touch the services of its
// project that another workspace's labels claim, as Target.Own does.
func (t *Target) Own(o deploy.Owner) {
	t.owner = o
	t.local.Own(o)
}

// ServiceName is the swarm service that runs a rule of a project.
func ServiceName(project, rule string) string { return project + "_" + rule }

// SecretName is the Swarm secret that holds a secret file of a
// project's rule: <project>_<rule>_<basename>_<hmac8>, where hmac8 is the
// first 8 hex digits of the HMAC of the value under the workspace's
// secret key (never a plain hash, which could be checked against
// guesses). A Swarm secret is immutable, so a new value gets a new name.
// Characters a secret name cannot hold become '-', and a name longer than
// Swarm's 64 characters is shortened before its HMAC.
func SecretName(project, rule, containerPath, hmac string) string {
	base := path.Base(containerPath)
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
				return r
			}
			return '-'
		}, s)
	}
	head := clean(project + "_" + rule + "_" + base)
	if len(head) > 64-9 {
		head = head[:64-9]
	}
	return head + "_" + hmac[:8]
}

// StoresSecretFiles says that the target passes secret_files as Swarm
// secrets, which it makes from their values.
func (t *Target) StoresSecretFiles() {}

// swarmSecrets makes sure the deployment's secret files exist as Swarm
// secrets, labelled with the project and rule, and returns the references
// to give the service.
func (t *Target) swarmSecrets(ctx context.Context, d *deploy.Deployment) ([]dockerapi.ServiceSecret, error) {
	var out []dockerapi.ServiceSecret
	labels := objects.OwnLabels(t.owner, map[string]string{objects.LabelProject: d.Project, objects.LabelRule: d.Spec.Name})
	for _, p := range slices.Sorted(maps.Keys(d.SecretFileValues)) {
		v := d.SecretFileValues[p]
		name := SecretName(d.Project, d.Spec.Name, p, v.HMAC)
		id, err := t.c.EnsureSecret(ctx, name, []byte(v.Value), labels)
		if err != nil {
			return nil, fmt.Errorf("secret_files %s: %w", p, err)
		}
		out = append(out, dockerapi.ServiceSecret{ID: id, Name: name, Target: p})
	}
	return out, nil
}

// ConfigName is the Swarm config that holds a config of a project's
// rule: <project>_<rule>_<basename>_<sha8>, sha8 the first 8 hex digits of
// the SHA-256 of its content (a config is no secret). A Swarm config is
// immutable, so a new content gets a new name.
func ConfigName(project, rule string, cf deploy.Config) string {
	return SecretName(project, rule, cf.Target, cf.Digest())
}

// maxSwarmConfig is the largest config a swarm stores (swarmkit's limit).
const maxSwarmConfig = 1000 * 1024

// swarmConfigs makes sure the deployment's configs exist as Swarm configs,
// labelled with the project and rule, and returns the references to give
// the service.
func (t *Target) swarmConfigs(ctx context.Context, d *deploy.Deployment) ([]dockerapi.ServiceConfig, error) {
	var out []dockerapi.ServiceConfig
	labels := objects.OwnLabels(t.owner, map[string]string{objects.LabelProject: d.Project, objects.LabelRule: d.Spec.Name})
	for _, cf := range d.Spec.Configs {
		name := ConfigName(d.Project, d.Spec.Name, cf)
		id, err := t.c.EnsureConfig(ctx, name, []byte(cf.Content), labels)
		if err != nil {
			return nil, fmt.Errorf("configs %s: %w", cf.Target, err)
		}
		out = append(out, dockerapi.ServiceConfig{ID: id, Name: name, Target: cf.Target, Mode: cf.Mode})
	}
	return out, nil
}

// pruneStored removes the Swarm secrets and configs of a project's rule
// that its service no longer references (all of them when it has no
// service). One the swarm counts as in use is left for a later up, and so
// are all of them while the service's update has not settled: until it
// has, the swarm may roll the service back to those of its previous spec.
func (t *Target) pruneStored(ctx context.Context, project, rule string) ([]string, error) {
	keep := map[string]bool{}
	if s, err := t.service(ctx, project, rule); err != nil {
		return nil, err
	} else if s != nil {
		if s.UpdateState != "" && s.UpdateState != "completed" && s.UpdateState != "rollback_completed" {
			return nil, nil
		}
		for _, n := range s.SecretNames {
			keep[n] = true
		}
		for _, n := range s.ConfigNames {
			keep["config "+n] = true
		}
	}
	labels := map[string]string{objects.LabelProject: project}
	if rule != "" {
		labels[objects.LabelRule] = rule
	}
	list, err := t.c.Secrets(ctx, labels)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, sec := range list {
		if keep[sec.Name] || objects.IsForeign(t.owner, sec.Labels) {
			continue
		}
		if err := t.c.RemoveSecret(ctx, sec.ID, sec.Name); errors.Is(err, dockerapi.ErrSecretInUse) {
			continue
		} else if err != nil {
			return removed, err
		}
		removed = append(removed, "swarm secret "+sec.Name)
	}
	configs, err := t.c.Configs(ctx, labels)
	if err != nil {
		return removed, err
	}
	for _, cf := range configs {
		if keep["config "+cf.Name] || objects.IsForeign(t.owner, cf.Labels) {
			continue
		}
		if err := t.c.RemoveConfig(ctx, cf.ID, cf.Name); errors.Is(err, dockerapi.ErrConfigInUse) {
			continue
		} else if err != nil {
			return removed, err
		}
		removed = append(removed, "swarm config "+cf.Name)
	}
	return removed, nil
}

// NetworkName is the project's overlay network; its name differs from
// the Docker target's bridge network so both can exist on one Engine.
func NetworkName(project string) string { return project + "_swarm" }

func swarmNetwork(d *deploy.Deployment, n string) string {
	if d.Spec.External[n] {
		return n
	}
	return NetworkName(d.Project) + "_" + n
}

// ready checks, once, that the Engine is a manager of an active swarm, and
// warns about what this machine and swarm cannot do.
func (t *Target) ready(ctx context.Context) error {
	t.readyOnce.Do(func() { t.readyErr = t.check(ctx) })
	return t.readyErr
}

func (t *Target) check(ctx context.Context) error {
	info, err := t.c.SwarmInfo(ctx)
	if err != nil {
		return err
	}
	where := fmt.Sprintf("environment %s (declared at %s) deploys to Docker Swarm", t.env.Name, t.env.Pos)
	switch {
	case info.State == "inactive" || info.State == "":
		return fmt.Errorf("%s, but the Docker Engine is not in swarm mode; initialise a swarm with `docker swarm init --advertise-addr ADDR` (ADDR: this machine's address, 127.0.0.1 for a swarm of this machine alone), or select another environment with --env", where)
	case info.State == "locked":
		return fmt.Errorf("%s, but the swarm is locked; unlock it with `docker swarm unlock`", where)
	case info.State != "active":
		return fmt.Errorf("%s, but this node's swarm state is %s (%s); see `docker info`", where, info.State, info.Error)
	case !info.Manager:
		return fmt.Errorf("%s, but this Docker Engine is a swarm worker, and only managers deploy services; point DOCKER_HOST at a manager", where)
	}
	t.nodes = info.Nodes
	return nil
}

// warnOnce tells, the first time something is deployed, what this machine
// and swarm cannot do.
func (t *Target) warnOnce(ctx context.Context) {
	t.warnedOnce.Do(func() {
		if host, err := t.c.DaemonHost(ctx); err == nil && strings.HasPrefix(host, "unix://") {
			if why := ipvsMissing(); why != "" {
				t.warn(fmt.Sprintf("this machine's kernel has no IPVS (%s), so Swarm's ingress routing mesh and virtual-IP service addresses do not answer here; ferry publishes ports in host mode and gives services dnsrr endpoints, which work without it (`docker service create -p` with ingress ports would not)", why))
			}
		}
		if t.nodes > 1 {
			t.warn(fmt.Sprintf("the swarm has %d nodes and ferry references images by ID, which only nodes that have the image can run; push the images to a registry every node pulls from, or tasks placed on other nodes fail", t.nodes))
		}
	})
}

// CheckSpec refuses, before anything runs, what a swarm cannot deploy as
// declared: privileged and network_mode, the container settings a swarm
// lacks (checkSwarmSettings), a host address or a range of host ports, and an http or tcp
// check on a port that is not published (ferry probes tasks through their
// published host port: overlay addresses cannot be reached from the host).
func (t *Target) CheckSpec(s *deploy.ServiceSpec) error {
	if s.Privileged {
		return fmt.Errorf("privileged: a swarm service cannot run privileged (the Engine's service API has no such setting); drop privileged = True, or deploy it with the docker target")
	}
	if s.NetworkMode != "" {
		return fmt.Errorf("network_mode = %q: ferry's swarm services join the project's overlay network only; drop network_mode, or deploy it with the docker target", s.NetworkMode)
	}
	if err := checkSwarmSettings(s); err != nil {
		return err
	}
	for _, cf := range s.Configs {
		if len(cf.Content) > maxSwarmConfig {
			return fmt.Errorf("configs: %s is %d bytes, and a swarm stores configs of up to %d bytes (1000 KiB); mount a larger file from a volume, or deploy it with the docker target", cf.Target, len(cf.Content), maxSwarmConfig)
		}
	}
	published := false
	for _, p := range s.Ports {
		switch {
		case p.HostIP != "" && !p.Everywhere():
			return fmt.Errorf("ports: %q: a swarm publishes a port on every address of the node running the task (its port settings take no host address); drop %s, or deploy it with the docker target", p.String(), p.HostIP)
		case p.HostEnd != p.HostStart:
			return fmt.Errorf("ports: %q: a swarm service publishes one host port for all its replicas, and in host mode a node runs one replica that holds it; publish \"%d\" so each replica gets a free host port, or fix one port with replicas = 1", p.String(), p.Container)
		}
		published = published || s.Health != nil && p.Container == s.Health.Port && p.Protocol == "tcp"
	}
	if h := s.Health; h != nil && h.Probed() && !published {
		return fmt.Errorf("health: on a swarm ferry probes health.%s through each task's published host port, since overlay addresses cannot be reached from the host, and port %d is not published; publish it (ports = [\"%d\"]), or use health.exec, which the Engine runs inside the container", h.Kind, h.Port, h.Port)
	}
	return checkSwarmAutoscale(s)
}

func (t *Target) services(ctx context.Context, project string) ([]dockerapi.Service, error) {
	if err := t.ready(ctx); err != nil {
		return nil, err
	}
	list, err := t.c.Services(ctx, map[string]string{objects.LabelProject: project, objects.LabelKind: ""})
	if err != nil {
		return nil, err
	}
	for _, s := range list {
		if err := objects.Foreign(t.owner, project, "swarm service", s.Name, s.Labels); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// service returns the project's service for rule, or nil.
func (t *Target) service(ctx context.Context, project, rule string) (*dockerapi.Service, error) {
	list, err := t.services(ctx, project)
	if err != nil {
		return nil, err
	}
	for _, s := range list {
		if s.Labels[objects.LabelRule] == rule {
			return &s, nil
		}
	}
	return nil, nil
}

// Current reports whether the service runs, or the job has completed, as
// declared with config hash d.Key and d.Spec.Replicas.
func (t *Target) Current(ctx context.Context, d *deploy.Deployment) (bool, string, error) {
	d, why, err := image.ResolveLocal(ctx, t.c, d)
	if err != nil || why != "" {
		return false, why, err
	}
	s, err := t.service(ctx, d.Project, d.Spec.Name)
	switch {
	case err != nil:
		return false, "", err
	case s == nil:
		return false, "no swarm service runs it", nil
	case s.Labels[objects.LabelConfig] != d.Key.String():
		return false, "its swarm service runs an older definition", nil
	case d.Job:
		tasks, err := t.c.Tasks(ctx, s.ID)
		if err != nil {
			return false, "", err
		}
		for _, task := range tasks {
			if task.State == "complete" {
				return true, "", nil
			}
		}
		return false, "it has not completed with this definition", nil
	case s.Replicas != swarmReplicas(d, s):
		return false, fmt.Sprintf("its swarm service has %d replicas, %d wanted", s.Replicas, swarmReplicas(d, s)), nil
	}
	return true, "", nil
}

// prepare makes sure the image is in the Engine and the networks exist,
// and returns the image's ID.
func (t *Target) prepare(ctx context.Context, d *deploy.Deployment) (string, error) {
	if err := t.ready(ctx); err != nil {
		return "", err
	}
	if err := t.CheckSpec(d.Spec); err != nil {
		return "", err
	}
	t.warnOnce(ctx)
	id, err := t.c.ImageID(ctx, image.LocalRef(d.Image))
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", image.Absent(d)
	}
	if _, err := t.services(ctx, d.Project); err != nil {
		return "", err
	}
	own := objects.OwnLabels(t.owner, map[string]string{objects.LabelProject: d.Project})
	t.prepMu.Lock()
	defer t.prepMu.Unlock()
	if l, ok, err := t.c.NetworkLabels(ctx, NetworkName(d.Project)); err != nil {
		return "", err
	} else if ok {
		if err := objects.Foreign(t.owner, d.Project, "network", NetworkName(d.Project), l); err != nil {
			return "", err
		}
	}
	if err := t.c.EnsureOverlayNetwork(ctx, NetworkName(d.Project), own, false); err != nil {
		return "", err
	}
	for _, n := range d.Spec.Networks {
		if d.Spec.External[n] {
			if ok, err := t.c.NetworkExists(ctx, n); err != nil || !ok {
				return "", local.MissingExternal("network", n, err)
			}
			continue
		}
		if info, ok, err := t.c.Network(ctx, swarmNetwork(d, n)); err != nil {
			return "", err
		} else if ok {
			if err := local.InternalMismatch(swarmNetwork(d, n), info.Internal, d.Spec.Internal[n]); err != nil {
				return "", err
			}
		}
		if err := t.c.EnsureOverlayNetwork(ctx, swarmNetwork(d, n), own, d.Spec.Internal[n]); err != nil {
			return "", err
		}
	}
	return id, nil
}

// checkSwarmSettings refuses the container settings that the Engine's
// service API lacks.
func checkSwarmSettings(s *deploy.ServiceSpec) error {
	const elsewhere = "or deploy it with the docker target"
	switch {
	case len(s.SecurityOpt) > 0:
		return fmt.Errorf("security_opt: a swarm service takes no security options (the Engine's service API has none); drop security_opt, %s", elsewhere)
	case s.ShmSize != 0:
		return fmt.Errorf("shm_size: a swarm service cannot size /dev/shm (the Engine's service API has no such setting); drop shm_size, or mount a tmpfs of the size wanted at /dev/shm (tmpfs = [\"/dev/shm:size=...\"]), %s", elsewhere)
	case len(s.Devices) > 0:
		return fmt.Errorf("devices: a swarm service cannot be given host devices (the Engine's service API has no such setting); drop devices, %s", elsewhere)
	}
	for _, h := range s.ExtraHosts {
		if strings.HasSuffix(h, ":host-gateway") {
			return fmt.Errorf("extra_hosts: %q: a swarm does not resolve host-gateway (each task runs on some node); give the address (\"NAME:IP\"), %s", h, elsewhere)
		}
	}
	for _, t := range s.Tmpfs {
		for _, o := range strings.Split(t.Options, ",") {
			if k, _, _ := strings.Cut(o, "="); k != "" && k != "size" && k != "mode" {
				return fmt.Errorf("tmpfs: %q: a swarm's tmpfs mounts take only size and mode, not %s; drop it, %s", t.Path+":"+t.Options, k, elsewhere)
			}
		}
	}
	return nil
}

// serviceSpec is the swarm service for the deployment, running image id.
func (t *Target) serviceSpec(d *deploy.Deployment, id string) dockerapi.ServiceSpec {
	s := d.Spec
	kind := "service"
	if d.Job {
		kind = "job"
	}
	labels := maps.Clone(s.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	own := objects.OwnLabels(t.owner, map[string]string{objects.LabelProject: d.Project, objects.LabelRule: s.Name, objects.LabelConfig: d.Key.String()})
	if d.SecretsHash != "" {
		own[objects.LabelSecrets] = d.SecretsHash
	}
	maps.Copy(labels, own)
	labels[objects.LabelKind], labels[labelImage] = kind, d.Image
	// Task containers carry no ferry.kind: the Docker target counts a
	// container with it as one of its own. They carry the secrets' hash,
	// so a task of an older value counts as one of an older definition.
	clabels := maps.Clone(s.Labels)
	if clabels == nil {
		clabels = map[string]string{}
	}
	maps.Copy(clabels, own)
	if l, ok := objects.HealthLabel(s.Health); ok {
		clabels[objects.LabelHealth] = l
	}
	ss := dockerapi.ServiceSpec{
		Name: ServiceName(d.Project, s.Name), Labels: labels, ContainerLabels: clabels, Image: id,
		Entrypoint: s.Entrypoint, Cmd: s.Command, Replicas: uint64(s.Replicas), Job: d.Job,
		Memory: s.Memory, NanoCPUs: int64(s.CPUs * 1e9), WorkingDir: s.Workdir, User: s.User,
		Networks:    []dockerapi.ServiceNetwork{{Name: NetworkName(d.Project), Aliases: s.NetworkAliases(deploy.DefaultNetwork)}},
		UpdateOrder: "start-first", UpdateMonitor: s.ReadyAfter,
	}
	switch s.Restart {
	case "no":
		ss.Restart = "none"
	case "on-failure":
		ss.Restart = "on-failure"
	default:
		ss.Restart = "any"
	}
	if d.Job {
		ss.Restart = "none"
	}
	ss.Health = objects.EngineHealth(s)
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		ss.Env = append(ss.Env, k+"="+s.Env[k])
	}
	for _, k := range slices.Sorted(maps.Keys(d.SecretEnv)) {
		ss.Env = append(ss.Env, k+"="+d.SecretEnv[k])
	}
	for _, p := range s.Ports {
		ss.Ports = append(ss.Ports, dockerapi.ServicePort{Target: p.Container, Published: p.HostStart, Protocol: p.Protocol})
		if p.HostStart != 0 {
			// A new task cannot bind the fixed port while the old one
			// holds it.
			ss.UpdateOrder = "stop-first"
		}
	}
	for _, v := range s.Volumes {
		m := dockerapi.ServiceMount{Mount: dockerapi.Mount{Bind: v.Bind, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}}
		switch {
		case v.External, v.Anonymous: // an anonymous volume: the swarm makes one per task, removed with it
		case !v.Bind:
			m.Source = d.Project + "_" + v.Source
			m.Labels = objects.OwnLabels(t.owner, map[string]string{objects.LabelProject: d.Project})
		default:
			m.Source = v.HostPath(d.Root)
		}
		ss.Mounts = append(ss.Mounts, m)
	}
	if s.NoDefaultNetwork {
		ss.Networks = nil
	}
	for _, n := range s.Networks {
		ss.Networks = append(ss.Networks, dockerapi.ServiceNetwork{Name: swarmNetwork(d, n), Aliases: s.NetworkAliases(n)})
	}
	ss.Settings = objects.ContainerSettings(s)
	// The swarm's own default grace period, unless one is declared.
	ss.StopGrace, ss.Tmpfs = s.StopGracePeriod, nil
	for _, tm := range s.Tmpfs {
		ss.Mounts = append(ss.Mounts, dockerapi.ServiceMount{Mount: dockerapi.Mount{Target: tm.Path}, Tmpfs: swarmTmpfs(tm.Options)})
	}
	return ss
}

// swarmTmpfs converts a tmpfs mount's options, which CheckSpec has
// limited to size and mode (validated by deploy.ParseTmpfs).
func swarmTmpfs(options string) *dockerapi.TmpfsOptions {
	o := &dockerapi.TmpfsOptions{}
	for _, opt := range strings.Split(options, ",") {
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "size":
			o.Size, _ = deploy.ParseMemory(v)
		case "mode":
			m, _ := strconv.ParseUint(v, 8, 32)
			o.Mode = os.FileMode(m)
		}
	}
	return o
}

// Deploy creates the service, scales it, or rolls it over to a changed
// definition one task at a time (rolled back by the swarm when a new task
// fails), and waits until its tasks run.
func (t *Target) Deploy(ctx context.Context, d *deploy.Deployment, log io.Writer) error {
	id, err := t.prepare(ctx, d)
	if err != nil {
		return err
	}
	cur, err := t.service(ctx, d.Project, d.Spec.Name)
	if err != nil {
		return err
	}
	if d.Spec.Autoscale != nil {
		d = local.WithReplicas(d, int(swarmReplicas(d, cur)))
	}
	for _, p := range d.Spec.Ports {
		if p.HostIP == "" {
			t.warn(fmt.Sprintf("service %s: port %q is published on every address of the node: a swarm takes no host address (the docker target would publish it on loopback only); write %q to say so, or leave it unpublished and reach it over the project's network", d.Spec.Name, p.String(), p.On("0.0.0.0")))
		}
	}
	spec := t.serviceSpec(d, id)
	if spec.Secrets, err = t.swarmSecrets(ctx, d); err != nil {
		return err
	}
	if spec.Configs, err = t.swarmConfigs(ctx, d); err != nil {
		return err
	}
	same := cur != nil && cur.Labels[objects.LabelConfig] == d.Key.String() && cur.Labels[objects.LabelSecrets] == d.SecretsHash
	since := time.Now()
	switch {
	case cur == nil:
		fmt.Fprintf(log, "creating swarm service %s (%d replicas, %s)\n", spec.Name, spec.Replicas, d.Image)
		if _, err := t.create(ctx, d, spec); err != nil {
			return err
		}
	case same && cur.Replicas == spec.Replicas:
		fmt.Fprintf(log, "swarm service %s runs this definition\n", spec.Name)
	case same:
		fmt.Fprintf(log, "scaling swarm service %s from %d to %d replicas\n", spec.Name, cur.Replicas, spec.Replicas)
		if err := t.c.ScaleService(ctx, *cur, spec.Replicas); err != nil {
			return err
		}
	default:
		fmt.Fprintf(log, "updating swarm service %s (%s): one task at a time, %s, rolled back if a new task fails\n", spec.Name, d.Image, spec.UpdateOrder)
		if err := t.c.UpdateService(ctx, cur.ID, cur.Version, spec); err != nil {
			return err
		}
	}
	err = t.converge(ctx, d, since, cur != nil)
	// Secrets of an older value go once no spec references them; after a
	// rollback, those of the failed definition go.
	removed, perr := t.pruneStored(ctx, d.Project, d.Spec.Name)
	for _, r := range removed {
		fmt.Fprintf(log, "removed %s, which the service no longer uses\n", r)
	}
	if err == nil {
		err = perr
	}
	return err
}

// create creates the service, refusing to take over one of that name that
// ferry does not own.
func (t *Target) create(ctx context.Context, d *deploy.Deployment, spec dockerapi.ServiceSpec) (string, error) {
	id, err := t.c.CreateService(ctx, spec)
	if errors.Is(err, dockerapi.ErrServiceExists) {
		return "", fmt.Errorf("a swarm service named %s already exists and ferry does not own it (it lacks the label %s=%s); remove it (`docker service rm %s`), or pick another project with --project", spec.Name, objects.LabelProject, d.Project, spec.Name)
	}
	return id, err
}

// converge waits until the service's update is done and every replica runs
// the definition d.Key. It fails when a task of a new service fails or
// cannot be placed; when a task of an update fails, it waits for the swarm
// to roll the service back and for the previous definition's tasks to run
// again, so nothing is left half-updated, and says so.
func (t *Target) converge(ctx context.Context, d *deploy.Deployment, since time.Time, update bool) error {
	name := ServiceName(d.Project, d.Spec.Name)
	// ours says whether a task runs this definition with these secret
	// values; one without the secrets' label (started by an older ferry)
	// is judged by its definition alone.
	ours := func(task dockerapi.Task) bool {
		h, ok := task.Labels[objects.LabelSecrets]
		return task.Labels[objects.LabelConfig] == d.Key.String() && (h == d.SecretsHash || !ok)
	}
	deadline := time.Now().Add(convergeTimeout)
	var failure string // the first failed task of this definition
	for {
		s, err := t.service(ctx, d.Project, d.Spec.Name)
		if err != nil {
			return err
		}
		if s == nil {
			return fmt.Errorf("swarm service %s vanished while ferry deployed it", name)
		}
		tasks, err := t.c.Tasks(ctx, s.ID)
		if err != nil {
			return err
		}
		running, others, live := 0, 0, 0 // live: running tasks of any definition
		var states []string
		for _, task := range tasks {
			if ours(task) && (task.State == "failed" || task.State == "rejected") && task.Timestamp.After(since) && failure == "" {
				failure = fmt.Sprintf("task %s.%d %s%s", name, task.Slot, taskFailure(task), t.taskLines(ctx, task))
			}
			if task.DesiredState != "running" {
				continue
			}
			if task.State == "running" {
				live++
			}
			switch {
			case !ours(task):
				others++
			case task.State == "running":
				running++
			case task.State == "pending" && task.Err != "":
				return fmt.Errorf("swarm service %s: the swarm cannot place task %s.%d: %s (in host mode a fixed host port is held by one task per node; publish a free port, or free that one)", name, name, task.Slot, task.Err)
			}
			states = append(states, fmt.Sprintf("%s.%d %s", name, task.Slot, task.State))
		}
		switch {
		case failure != "" && !update:
			return fmt.Errorf("swarm service %s: %s", name, failure)
		case s.UpdateState == "rollback_completed" && (live != len(states) || uint64(live) != s.Replicas) && time.Now().Before(deadline):
			// The swarm says the rollback completed before the previous
			// definition's tasks run again (a failed one restarts after
			// a delay): wait for them, so the service serves when up
			// returns.
		case s.UpdateState == "rollback_completed" || s.UpdateState == "rollback_paused" || s.UpdateState == "paused":
			if failure == "" {
				failure = s.UpdateMsg
			}
			err := fmt.Errorf("swarm service %s: the new definition failed, so the swarm rolled the service back to the previous one (%s): %s", name, strings.ReplaceAll(s.UpdateState, "_", " "), failure)
			if uint64(live) != s.Replicas {
				err = fmt.Errorf("%w\n%d of the previous definition's %d replicas run (%s)", err, live, s.Replicas, strings.Join(states, ", "))
			}
			return err
		case s.UpdateState != "updating" && s.UpdateState != "rollback_started" && others == 0 && running == d.Spec.Replicas:
			return nil
		case !time.Now().Before(deadline):
			return fmt.Errorf("swarm service %s: %d of %d replicas run this definition after %s (%s)", name, running, d.Spec.Replicas, convergeTimeout, strings.Join(states, ", "))
		}
		select {
		case <-time.After(pollEvery):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pollEvery is how often ferry looks at a swarm service it waits for.
const pollEvery = 250 * time.Millisecond

func taskFailure(task dockerapi.Task) string {
	switch {
	case task.State == "failed" && task.ExitCode != 0:
		return fmt.Sprintf("exited with code %d", task.ExitCode)
	case task.Err != "":
		return task.State + ": " + task.Err
	}
	return task.State
}

// taskLines returns a task's last log lines, formatted to follow an error
// message.
func (t *Target) taskLines(ctx context.Context, task dockerapi.Task) string {
	return t.local.Tail(func(out io.Writer) error { return t.c.TaskLogs(ctx, task.ID, false, "10", out) })
}

// RunJob runs the job as a replicated-job service with one task, replacing
// the one of an earlier run, and writes its output once it ends.
func (t *Target) RunJob(ctx context.Context, d *deploy.Deployment, log io.Writer) error {
	id, err := t.prepare(ctx, d)
	if err != nil {
		return err
	}
	spec := t.serviceSpec(d, id)
	cur, err := t.service(ctx, d.Project, d.Spec.Name)
	if err != nil {
		return err
	}
	if cur != nil {
		if err := t.removeAndWait(ctx, *cur); err != nil {
			return err
		}
	}
	// The job's earlier service is gone, and its secrets with it.
	if _, err := t.pruneStored(ctx, d.Project, d.Spec.Name); err != nil {
		return err
	}
	if spec.Secrets, err = t.swarmSecrets(ctx, d); err != nil {
		return err
	}
	if spec.Configs, err = t.swarmConfigs(ctx, d); err != nil {
		return err
	}
	fmt.Fprintf(log, "running swarm job %s (%s)\n", spec.Name, d.Image)
	sid, err := t.create(ctx, d, spec)
	if err != nil {
		return err
	}
	for {
		tasks, err := t.c.Tasks(ctx, sid)
		if err != nil {
			return err
		}
		for _, task := range tasks {
			switch task.State {
			case "complete":
				return t.c.TaskLogs(ctx, task.ID, false, "", log)
			case "failed", "rejected":
				t.c.TaskLogs(ctx, task.ID, false, "", log)
				return fmt.Errorf("job %s %s", d.Spec.Name, taskFailure(task))
			case "pending":
				if task.Err != "" {
					t.c.RemoveService(context.WithoutCancel(ctx), sid)
					return fmt.Errorf("job %s: the swarm cannot place its task: %s", d.Spec.Name, task.Err)
				}
			}
		}
		select {
		case <-time.After(pollEvery):
		case <-ctx.Done():
			defer engine.Cleaning(ctx)()
			t.c.RemoveService(context.WithoutCancel(ctx), sid)
			return ctx.Err()
		}
	}
}

// removeAndWait removes a service and waits (a while) until its task
// containers on this node are gone, so its networks and volumes are free.
// The swarm stops the running ones; ferry removes those that have exited
// (a job's, which the swarm leaves behind).
func (t *Target) removeAndWait(ctx context.Context, s dockerapi.Service) error {
	if err := t.c.RemoveService(ctx, s.ID); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		list, err := t.c.ServiceContainers(ctx, s.ID)
		if err != nil || len(list) == 0 {
			return err
		}
		for _, c := range list {
			if c.State == "exited" || c.State == "created" || c.State == "dead" {
				if err := t.c.RemoveContainer(ctx, c.ID); err != nil {
					return err
				}
			}
		}
		select {
		case <-time.After(pollEvery):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// RemoveExcept removes the project's swarm services whose rule is not in
// keep.
func (t *Target) RemoveExcept(ctx context.Context, project string, keep []string) ([]string, error) {
	list, err := t.services(ctx, project)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, s := range list {
		if slices.Contains(keep, s.Labels[objects.LabelRule]) {
			continue
		}
		if err := t.removeAndWait(ctx, s); err != nil {
			return removed, err
		}
		removed = append(removed, "swarm service "+s.Name)
		secs, err := t.pruneStored(ctx, project, s.Labels[objects.LabelRule])
		removed = append(removed, secs...)
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// Down removes the project's swarm services and overlay networks, and its
// volumes on this node when asked.
func (t *Target) Down(ctx context.Context, project string, volumes bool) ([]string, error) {
	removed, err := t.RemoveExcept(ctx, project, nil)
	if err != nil {
		return removed, err
	}
	// Any secret of the project left (of a rule ferry.star no longer has).
	secs, err := t.pruneStored(ctx, project, "")
	removed = append(removed, secs...)
	if err != nil {
		return removed, err
	}
	return local.RemoveNetworksAndVolumes(ctx, t.c, t.c.RemoveSwarmNetworks, t.owner, project, volumes, removed)
}

// Status describes each swarm service and job of the project.
func (t *Target) Status(ctx context.Context, project string) ([]deploy.ServiceStatus, error) {
	list, err := t.services(ctx, project)
	if err != nil {
		return nil, err
	}
	var out []deploy.ServiceStatus
	for _, s := range list {
		st := deploy.ServiceStatus{Name: s.Labels[objects.LabelRule], Image: s.Labels[labelImage], Desired: int(s.Replicas)}
		tasks, err := t.c.Tasks(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		for _, task := range tasks {
			if task.DesiredState != "running" && !s.Job {
				if task.State == "failed" {
					st.Restarts++
				}
				continue
			}
			if task.State == "running" {
				st.Replicas++
				st.Ports = append(st.Ports, task.Ports...)
				if st.Started.IsZero() || task.Timestamp.Before(st.Started) {
					st.Started = task.Timestamp
				}
				if err := t.taskHealth(ctx, project, task, &st); err != nil {
					return nil, err
				}
			}
			if s.Job {
				st.Desired = 1
				switch task.State {
				case "complete":
					st.State = "completed (exit 0)"
				case "failed":
					st.State = fmt.Sprintf("failed (exit %d)", task.ExitCode)
				}
			}
		}
		switch {
		case st.State != "":
		case s.UpdateState == "updating":
			st.State = "updating"
		case strings.HasPrefix(s.UpdateState, "rollback"):
			st.State = "rolled back"
		case s.UpdateState == "paused":
			st.State = "update paused"
		case st.Replicas == st.Desired:
			st.State = "running"
		default:
			st.State = "starting"
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b deploy.ServiceStatus) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// taskHealth folds a running task's health into st, when its container is
// on this node (ferry probes http and tcp checks through the published
// host port; the Engine runs exec checks).
func (t *Target) taskHealth(ctx context.Context, project string, task dockerapi.Task, st *deploy.ServiceStatus) error {
	if task.ContainerID == "" {
		return nil
	}
	cst, err := t.c.InspectContainer(ctx, task.ContainerID)
	if err != nil {
		// On another node: its health is not known here.
		return nil
	}
	c := dockerapi.Container{ID: task.ContainerID, Name: ServiceName(project, st.Name) + fmt.Sprintf(".%d", task.Slot), Labels: task.Labels}
	health, problem, err := t.local.ContainerHealth(ctx, project, c, cst)
	if err != nil {
		return err
	}
	if st.Health == "" || health == deploy.Unhealthy || health == deploy.Starting && st.Health == deploy.Healthy {
		st.Health = health
	}
	if problem != "" {
		if st.HealthError != "" {
			st.HealthError += "; "
		}
		st.HealthError += c.Name + ": " + problem
	}
	return nil
}

// Logs streams the logs of the project's current tasks (of the named
// services only, when names are given), each line prefixed with its
// service and slot.
func (t *Target) Logs(ctx context.Context, project string, names []string, o deploy.LogOptions, out io.Writer) error {
	list, err := t.services(ctx, project)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, s := range list {
		have[s.Labels[objects.LabelRule]] = true
	}
	for _, n := range names {
		if !have[n] {
			return fmt.Errorf("project %s runs no swarm service or job named %q; `ferry status --env %s` lists what runs", project, n, t.env.Name)
		}
	}
	w := local.LockWriter(out)
	errs := make(chan error)
	n := 0
	for _, s := range list {
		rule := s.Labels[objects.LabelRule]
		if len(names) > 0 && !slices.Contains(names, rule) {
			continue
		}
		tasks, err := t.c.Tasks(ctx, s.ID)
		if err != nil {
			return err
		}
		for _, task := range tasks {
			if task.DesiredState != "running" && !(s.Job && task.State == "complete" || s.Job && task.State == "failed") {
				continue
			}
			n++
			prefix := fmt.Sprintf("%s-%d | ", rule, task.Slot)
			go func() {
				errs <- t.local.Lines(prefix, w, o.Color, func(lw io.Writer) error { return t.c.TaskLogs(ctx, task.ID, o.Follow, "", lw) })
			}()
		}
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Replicas lists the service's running tasks whose containers are on this
// node, with where an http or tcp check reaches each: its published host
// port, since overlay addresses are not reachable from the host.
func (t *Target) Replicas(ctx context.Context, d *deploy.Deployment) ([]deploy.Replica, error) {
	s, err := t.service(ctx, d.Project, d.Spec.Name)
	if err != nil || s == nil {
		return nil, err
	}
	tasks, err := t.c.Tasks(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	probed := d.Spec.Health != nil && d.Spec.Health.Probed()
	var host string
	if probed {
		if host, err = t.c.DaemonHost(ctx); err != nil {
			return nil, err
		}
	}
	var out []deploy.Replica
	for _, task := range tasks {
		if task.DesiredState != "running" || task.State != "running" || task.ContainerID == "" {
			continue
		}
		ep, err := t.c.InspectEndpoints(ctx, task.ContainerID)
		if err != nil {
			return nil, fmt.Errorf("swarm service %s: task %d runs on another node, whose containers ferry cannot inspect from here: %w", s.Name, task.Slot, err)
		}
		r := local.ReplicaAt(ep, t.local.CheckOutput(ep))
		if probed {
			r.Addr, r.AddrErr = local.Reach(host, nil, ep, NetworkName(d.Project), d.Spec.Health.Port)
		}
		out = append(out, r)
	}
	return out, nil
}

// LastLines returns a task container's last log lines, formatted to follow
// an error message.
func (t *Target) LastLines(ctx context.Context, container string) string {
	return t.local.LastLines(ctx, container)
}
