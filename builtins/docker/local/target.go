package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/image"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// startupWatch is how long a started container is watched for exiting at once.
const startupWatch = 400 * time.Millisecond

// Target runs services and jobs on the local Docker Engine: one bridge
// network per project, on which each service's name is a DNS alias shared by
// its replicas.
type Target struct {
	c     *dockerapi.Client
	red   *redact.Redactor // removes secret values from the containers' output
	owner deploy.Owner     // the workspace: see Own

	mu   sync.Mutex
	snap map[string][]dockerapi.Container // project → containers, until a change
	// deployed lists, by project, the services this Target deployed.
	deployed map[string][]string

	prepMu sync.Mutex // serialises creating networks and volumes
}

// The capabilities of the local target, beyond deploy.Target (see also
// Follower in follow.go and Scaling in scale.go).
var (
	_ deploy.Target          = (*Target)(nil)
	_ deploy.Logger          = (*Target)(nil)
	_ deploy.Execer          = (*Target)(nil)
	_ deploy.Restarter       = (*Target)(nil)
	_ deploy.SecretHolder    = (*Target)(nil)
	_ deploy.DeployedRemover = (*Target)(nil)
	_ deploy.Owned           = (*Target)(nil)
)

// NewTarget returns a Target using c, which removes red's values from
// the containers' output that it shows (nothing when red is nil).
func NewTarget(c *dockerapi.Client, red *redact.Redactor) *Target { return &Target{c: c, red: red} }

// Own makes t label what it creates as the workspace o's, and refuse to
// touch (replace, remove, scale) the containers, networks and volumes of
// its project that another workspace's labels claim, saying whose they
// are. Before Own, or with the zero Owner, t labels no workspace and
// claims every object of its project.
func (t *Target) Own(o deploy.Owner) { t.owner = o }

var _ deploy.TargetMaker = (*Target)(nil)

// For returns t whatever env, since every environment of the local
// Engine deploys to it: t is the maker registered for deploy.TargetDocker,
// made once per command and kept, for it remembers what it deployed (see
// RemoveDeployed).
func (t *Target) For(*deploy.Environment) deploy.Target { return t }

// NetworkName is the project's network.
func NetworkName(project string) string { return project + "_default" }

// containers lists the project's containers; within one command the list is
// taken once and kept until ferry changes something, so checking every
// service costs one Engine call. A container of another workspace (see
// Own) is a *ForeignError: nothing of the project is touched.
func (t *Target) containers(ctx context.Context, project string) ([]dockerapi.Container, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if list, ok := t.snap[project]; ok {
		return list, nil
	}
	// Containers made from an image ferry built inherit that image's labels:
	// only ferry.kind, set on containers alone, marks one ferry started.
	list, err := t.c.Containers(ctx, map[string]string{objects.LabelProject: project, objects.LabelKind: ""})
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		if err := objects.Foreign(t.owner, project, "container", c.Name, c.Labels); err != nil {
			return nil, err
		}
	}
	if t.snap == nil {
		t.snap = map[string][]dockerapi.Container{}
	}
	t.snap[project] = list
	return list, nil
}

func (t *Target) changed(project string) {
	t.mu.Lock()
	delete(t.snap, project)
	t.mu.Unlock()
}

func (t *Target) ruleContainers(ctx context.Context, project, rule string) ([]dockerapi.Container, error) {
	all, err := t.containers(ctx, project)
	if err != nil {
		return nil, err
	}
	var out []dockerapi.Container
	for _, c := range all {
		if c.Labels[objects.LabelRule] == rule {
			out = append(out, c)
		}
	}
	return out, nil
}

// Current reports whether the service runs, or the job has completed, as
// declared with config hash d.Key.
func (t *Target) Current(ctx context.Context, d *deploy.Deployment) (bool, string, error) {
	d, why, err := image.ResolveLocal(ctx, t.c, d)
	if err != nil || why != "" {
		return false, why, err
	}
	list, err := t.ruleContainers(ctx, d.Project, d.Spec.Name)
	if err != nil {
		return false, "", err
	}
	key := d.Key.String()
	if d.Job {
		for _, c := range list {
			if c.Labels[objects.LabelConfig] == key && c.State == "exited" && strings.HasPrefix(c.Status, "Exited (0)") {
				return true, "", nil
			}
		}
		return false, "it has not completed with this definition", nil
	}
	running, stale, want := 0, 0, wantReplicas(d.Spec, list)
	secrets := map[string]bool{}
	for _, c := range list {
		secrets[c.Labels[objects.LabelSecrets]] = true
		switch {
		case c.Labels[objects.LabelConfig] != key:
			stale++
		case c.State == "running":
			running++
		}
	}
	switch {
	case len(list) == 0 && want == 0:
		return true, "", nil
	case len(list) == 0:
		return false, "no container is running it", nil
	case stale > 0 && imageChanged(d, list) != "":
		return false, imageChanged(d, list), nil
	case stale > 0:
		return false, fmt.Sprintf("%d container(s) run an older definition", stale), nil
	case len(secrets) > 1:
		return false, "its replicas run with different secret values", nil
	case running != want || len(list) != want:
		return false, fmt.Sprintf("%d replicas running, %d wanted", running, want), nil
	}
	return true, "", nil
}

func (t *Target) labels(d *deploy.Deployment) map[string]string {
	l := map[string]string{}
	for k, v := range d.Spec.Labels {
		l[k] = v
	}
	kind := "service"
	if d.Job {
		kind = "job"
	}
	l[objects.LabelProject], l[objects.LabelRule], l[objects.LabelConfig], l[objects.LabelKind] = d.Project, d.Spec.Name, d.Key.String(), kind
	if d.Digest != "" {
		l[objects.LabelDigest] = d.Digest
	}
	return objects.OwnLabels(t.owner, l)
}

// prepare makes sure the image, network and volumes the deployment needs
// exist, and that the project is not another workspace's.
func (t *Target) prepare(ctx context.Context, d *deploy.Deployment) error {
	if _, err := t.containers(ctx, d.Project); err != nil {
		return err
	}
	id, err := t.c.ImageID(ctx, image.LocalRef(d.Image))
	if err != nil {
		return err
	}
	if id == "" {
		return image.Absent(d)
	}
	if err := writeConfigs(d); err != nil {
		return err
	}
	own := objects.OwnLabels(t.owner, map[string]string{objects.LabelProject: d.Project})
	// The Engine allows two networks of one name: services deployed in
	// parallel must not both create it.
	t.prepMu.Lock()
	defer t.prepMu.Unlock()
	if !d.Spec.NoDefaultNetwork && d.Spec.NetworkMode == "" {
		if err := t.ensureNetwork(ctx, d.Project, NetworkName(d.Project), own, false); err != nil {
			return err
		}
	}
	for _, n := range d.Spec.Networks {
		if d.Spec.External[n] {
			if ok, err := t.c.NetworkExists(ctx, n); err != nil || !ok {
				return MissingExternal("network", n, err)
			}
			continue
		}
		if err := t.ensureNetwork(ctx, d.Project, networkName(d, n), own, d.Spec.Internal[n]); err != nil {
			return err
		}
	}
	for _, v := range d.Spec.Volumes {
		switch {
		case v.Bind, v.Anonymous:
		case v.External:
			if ok, err := t.c.VolumeExists(ctx, v.Source); err != nil || !ok {
				return MissingExternal("volume", v.Source, err)
			}
		default:
			name := d.Project + "_" + v.Source
			l, _, err := t.c.VolumeLabels(ctx, name)
			if err == nil {
				err = objects.Foreign(t.owner, d.Project, "volume", name, l)
			}
			if err == nil {
				err = t.c.EnsureVolume(ctx, name, own)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureNetwork creates the project's network name with labels own
// (internal or not) unless it exists; one of another workspace is a
// *ForeignError, and one that is internal when it should not be, or the
// reverse, an error that says how to remake it.
func (t *Target) ensureNetwork(ctx context.Context, project, name string, own map[string]string, internal bool) error {
	n, ok, err := t.c.Network(ctx, name)
	switch {
	case err != nil:
		return err
	case ok:
		if err := objects.Foreign(t.owner, project, "network", name, n.Labels); err != nil {
			return err
		}
		return InternalMismatch(name, n.Internal, internal)
	}
	return t.c.EnsureNetwork(ctx, name, own, internal)
}

// InternalMismatch says what to do when the network name exists, internal
// or not (is), and is declared otherwise (want).
func InternalMismatch(name string, is, want bool) error {
	switch {
	case is == want:
		return nil
	case want:
		return fmt.Errorf("network %s exists and is not internal, and network() now declares it internal = True; a network cannot change that in place: `ferry down` removes it (with the project's containers), and `ferry up` makes it again", name)
	}
	return fmt.Errorf("network %s exists and is internal, and network() no longer declares it internal = True; a network cannot change that in place: `ferry down` removes it (with the project's containers), and `ferry up` makes it again", name)
}

// MissingExternal is the error for an external network or volume,
// kind, that the Engine lacks (err is that of looking it up, returned
// when not nil).
func MissingExternal(kind, name string, err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("external %s %s does not exist; ferry does not create external %ss: create it with `docker %s create %s`, or drop external = True to let ferry own it", kind, name, kind, kind, name)
}

// networkName is the Engine's name of a network a service names: its own
// for an external network, else the project's.
func networkName(d *deploy.Deployment, n string) string {
	if d.Spec.External[n] {
		return n
	}
	return d.Project + "_" + n
}

// replicaName is the container name of replica i of d (0 for a job).
func replicaName(d *deploy.Deployment, i int) string {
	if d.Job {
		return fmt.Sprintf("%s-%s-job", d.Project, d.Spec.Name)
	}
	return fmt.Sprintf("%s-%s-%d", d.Project, d.Spec.Name, i)
}

// containerSpec converts d into the container of replica i (0 for a job):
// the one conversion of a Deployment to a container, with its secrets
// (environment and files), ports, labels and health check.
func (t *Target) containerSpec(d *deploy.Deployment, i int) dockerapi.ContainerSpec {
	s := d.Spec
	cs := dockerapi.ContainerSpec{
		Name: replicaName(d, i), Image: image.LocalRef(d.Image), Cmd: s.Command, Entrypoint: s.Entrypoint, Labels: t.labels(d),
		Network: NetworkName(d.Project), Aliases: s.NetworkAliases(deploy.DefaultNetwork), Restart: s.Restart,
		Memory: s.Memory, NanoCPUs: int64(s.CPUs * 1e9), WorkingDir: s.Workdir, User: s.User,
	}
	cs.Labels[objects.LabelReplica] = strconv.Itoa(i)
	switch {
	case s.NetworkMode != "":
		// The host's network stack, or none: no project network, so no
		// DNS name on it either.
		cs.Network, cs.Aliases = s.NetworkMode, nil
	case s.NoDefaultNetwork:
		// The first network named, made with the container; launch
		// connects the others.
		cs.Network, cs.Aliases = networkName(d, s.Networks[0]), s.NetworkAliases(s.Networks[0])
	}
	cs.Privileged = s.Privileged
	cs.Settings = objects.ContainerSettings(s)
	if l, ok := objects.HealthLabel(s.Health); ok {
		cs.Labels[objects.LabelHealth] = l
	}
	cs.Health = objects.EngineHealth(s)
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		cs.Env = append(cs.Env, k+"="+s.Env[k])
	}
	for _, k := range slices.Sorted(maps.Keys(d.SecretEnv)) {
		cs.Env = append(cs.Env, k+"="+d.SecretEnv[k])
	}
	for _, p := range slices.Sorted(maps.Keys(d.SecretFiles)) {
		cs.Mounts = append(cs.Mounts, dockerapi.Mount{Bind: true, Source: d.SecretFiles[p], Target: p, ReadOnly: true})
	}
	if d.SecretsHash != "" {
		cs.Labels[objects.LabelSecrets] = d.SecretsHash
	}
	for _, p := range s.Ports {
		b := dockerapi.PortBinding{HostIP: p.HostIP, ContainerPort: p.Container, Protocol: p.Protocol}
		if b.HostIP == "" {
			// A development tool publishes on loopback unless told
			// otherwise: "0.0.0.0:8080:80" publishes everywhere.
			b.HostIP = deploy.LoopbackIP
		}
		if p.HostStart != 0 {
			b.HostPort = strconv.Itoa(p.HostStart + max(i-1, 0))
		}
		cs.Ports = append(cs.Ports, b)
	}
	for _, cf := range s.Configs {
		src := filepath.Join(configDir(d.Root, d.Project, s.Name), configFile(cf))
		cs.Mounts = append(cs.Mounts, dockerapi.Mount{Bind: true, Source: src, Target: cf.Target, ReadOnly: true})
	}
	for _, v := range s.Volumes {
		m := dockerapi.Mount{Bind: v.Bind, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
		switch {
		case v.External, v.Anonymous: // an anonymous volume has no source: the Engine makes one
		case !v.Bind:
			m.Source = d.Project + "_" + v.Source
		default:
			m.Source = v.HostPath(d.Root)
		}
		cs.Mounts = append(cs.Mounts, m)
	}
	return cs
}

// MountsSecretFiles says that the target bind-mounts secret_files.
func (t *Target) MountsSecretFiles() {}

// Deploy makes the service run as declared: containers of an older
// definition, and replicas beyond the count, are removed; missing replicas
// are created and started. A replica already running this definition is
// left alone. It waits for other changes of the service (scale steps) to
// end first.
func (t *Target) Deploy(ctx context.Context, d *deploy.Deployment, log io.Writer) error {
	defer objects.LockServices(d.Project, d.Spec.Name)()
	return t.deploy(ctx, d, log)
}

// deploy is Deploy, with the service's lock held (see serviceLocks).
func (t *Target) deploy(ctx context.Context, d *deploy.Deployment, log io.Writer) error {
	t.noteDeployed(d.Project, d.Spec.Name)
	if err := t.prepare(ctx, d); err != nil {
		return err
	}
	t.changed(d.Project)
	list, err := t.ruleContainers(ctx, d.Project, d.Spec.Name)
	if err != nil {
		return err
	}
	if d.Spec.Autoscale != nil {
		d = WithReplicas(d, wantReplicas(d.Spec, list))
	}
	if rollsOut(d, list) {
		if err := t.rollout(ctx, d, list, log); err != nil {
			return err
		}
		return pruneConfigs(d)
	}
	key := d.Key.String()
	have := map[int]bool{}
	for _, c := range list {
		i, _ := strconv.Atoi(c.Labels[objects.LabelReplica])
		if c.Labels[objects.LabelConfig] == key && c.Labels[objects.LabelSecrets] == d.SecretsHash && c.State == "running" && i >= 1 && i <= d.Spec.Replicas && !have[i] {
			have[i] = true
			continue
		}
		fmt.Fprintf(log, "removing %s\n", c.Name)
		if err := t.c.RemoveContainer(ctx, c.ID); err != nil {
			return err
		}
	}
	defer t.changed(d.Project)
	for i := 1; i <= d.Spec.Replicas; i++ {
		if have[i] {
			continue
		}
		fmt.Fprintf(log, "starting %s (%s)\n", replicaName(d, i), d.Image)
		if _, err := t.start(ctx, d, i); err != nil {
			return err
		}
	}
	return pruneConfigs(d)
}

// start makes replica i of d (0 for a job) under its own name, and
// watches a service's briefly so a container that exits at once is
// reported with its code and last lines.
func (t *Target) start(ctx context.Context, d *deploy.Deployment, i int) (string, error) {
	name := replicaName(d, i)
	id, err := t.makeReplica(ctx, d, i, name)
	if err != nil || d.Job {
		return id, err
	}
	return id, t.watchStartup(ctx, d, name, id)
}

// makeReplica is the one way ferry makes a container of a service or a
// job on the local Engine: replica i of d (0 for a job), converted from d
// by containerSpec, named name (a rollout's new replica has a temporary
// name), created and started by launch. Deploy, its rollouts, the scale
// steps (through Deploy) and jobs all make their containers here, so none
// can forget a secret, a port or a label.
func (t *Target) makeReplica(ctx context.Context, d *deploy.Deployment, i int, name string) (string, error) {
	cs := t.containerSpec(d, i)
	cs.Name = name
	return t.launch(ctx, d, cs)
}

// launch creates and starts one container; one that could not start is
// removed (see discard). The create itself is not cancelled: the Engine finishes a
// create whose request was cancelled, and ferry would not know the
// container it leaves; ctx is checked once the id is known.
func (t *Target) launch(ctx context.Context, d *deploy.Deployment, cs dockerapi.ContainerSpec) (string, error) {
	defer engine.Cleaning(ctx)()
	id, err := t.c.CreateContainer(context.WithoutCancel(ctx), cs)
	if errors.Is(err, dockerapi.ErrNameInUse) {
		return "", t.nameInUse(ctx, d, cs.Name)
	}
	if err != nil {
		return "", err
	}
	if ctx.Err() != nil {
		t.c.RemoveContainer(context.WithoutCancel(ctx), id)
		return "", ctx.Err()
	}
	for i, n := range d.Spec.Networks {
		if i == 0 && d.Spec.NoDefaultNetwork {
			continue // the container was made on it
		}
		if err := t.c.ConnectNetwork(ctx, networkName(d, n), id, d.Spec.NetworkAliases(n)); err != nil {
			return t.discard(ctx, id, err)
		}
	}
	if err := t.c.StartContainer(ctx, id); err != nil {
		if d.Spec.Privileged && strings.Contains(err.Error(), "operation not permitted") {
			return t.discard(ctx, id, fmt.Errorf("%w; privileged = True asks for every capability, and this Docker Engine lacks some itself (a rootless or nested Engine): drop privileged, or run it on an Engine running as root", err))
		}
		return t.discard(ctx, id, portError(err))
	}
	return id, nil
}

// nameInUse says why the container name could not be created: it is
// another workspace's (a *ForeignError), this project's (made by ferry,
// which another change replaced meanwhile: another ferry process, as
// this one's changes of a service take turns), or not ferry's.
func (t *Target) nameInUse(ctx context.Context, d *deploy.Deployment, name string) error {
	c, err := t.c.Inspect(ctx, name)
	if err != nil {
		return fmt.Errorf("a container named %s already exists, and inspecting it failed: %w", name, err)
	}
	if c.Labels[objects.LabelProject] != d.Project || c.Labels[objects.LabelKind] == "" {
		return fmt.Errorf("a container named %s already exists and ferry does not own it (it lacks the label %s=%s); remove or rename it, or pick another project with --project", name, objects.LabelProject, d.Project)
	}
	if err := objects.Foreign(t.owner, d.Project, "container", name, c.Labels); err != nil {
		return err
	}
	return fmt.Errorf("a container named %s, of service %s, was made by ferry while this change of it ran (another ferry process is changing the project: `ferry watch`, `up --follow` or an autoscaler); run `ferry up` again once it is done", name, c.Labels[objects.LabelRule])
}

// discard removes the container id that launch could not start and returns
// err; when the removal fails too, it says so and returns the id, as the
// container is still there.
func (t *Target) discard(ctx context.Context, id string, err error) (string, error) {
	if rerr := t.c.RemoveContainer(context.WithoutCancel(ctx), id); rerr != nil {
		return id, fmt.Errorf("%w; ferry could not remove the container it created (%v)", err, rerr)
	}
	return "", err
}

// watchStartup watches a started container for startupWatch and fails,
// with its code and last lines, when it exits or restarts meanwhile.
func (t *Target) watchStartup(ctx context.Context, d *deploy.Deployment, name, id string) error {
	since := time.Now().Add(-time.Second) // the Engine's clock may lag a little
	select {
	case <-time.After(startupWatch):
	case <-ctx.Done():
		return ctx.Err()
	}
	st, err := t.c.InspectContainer(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case st.Restarting || st.Restarts > 0:
		code, ok := st.ExitCode, st.Restarting
		if !ok {
			code, ok, _ = t.c.LastExit(ctx, id, since)
		}
		exited := ""
		if ok {
			exited = fmt.Sprintf(", after it exited with code %d", code)
		}
		return fmt.Errorf("%s keeps exiting: Docker restarted it %d time(s) within %s (restart = %q)%s%s", name, st.Restarts, startupWatch, d.Spec.Restart, exited, t.lastLines(ctx, id))
	case !st.Running:
		return fmt.Errorf("%s exited at once with code %d%s", name, st.ExitCode, t.lastLines(ctx, id))
	}
	return nil
}

var portInUse = regexp.MustCompile(`(?:0\.0\.0\.0|\[::\]|[\d.]+):(\d+)`)

// portError names the host port when starting failed because it is taken.
func portError(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "port is already allocated") && !strings.Contains(msg, "address already in use") {
		return err
	}
	if m := portInUse.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("host port %s is already in use (by another container or program); choose another in ports, or stop what holds it", m[1])
	}
	return fmt.Errorf("a host port is already in use: %v", err)
}

// lastLines returns the container's last log lines, formatted to follow an
// error message.
func (t *Target) lastLines(ctx context.Context, id string) string {
	return t.Tail(func(out io.Writer) error { return t.c.Logs(ctx, id, false, "10", out) })
}

// Tail returns the lines of the output that logs writes, redacted as one
// stream (see Lines), formatted to follow an error message: "" when there
// are none; empty lines are left out.
func (t *Target) Tail(logs func(out io.Writer) error) string {
	var sb strings.Builder
	w := engine.NewOutputWriter(t.red, func(line string) {
		if line != "" {
			sb.WriteString("\n    " + line)
		}
	})
	err := logs(w)
	w.Flush()
	if err != nil || sb.Len() == 0 {
		return ""
	}
	return "; its last log lines:" + sb.String()
}

// Lines writes the output that logs writes, of one container (or task),
// stdout and stderr as the Engine sends them: t's redactor removes the
// secret values from it as one stream, and only then is it cut into
// lines, each written to out after prefix, so that neither the prefixes
// nor the lines of other containers in between hide a value, or an
// encoding of it such as wrapped base64. With color, the lines keep their
// colour sequences. It returns logs' error.
func (t *Target) Lines(prefix string, out io.Writer, color bool, logs func(io.Writer) error) error {
	w := engine.NewOutputWriter(t.red, func(line string) { fmt.Fprintf(out, "%s%s\n", prefix, line) })
	w.Color = color
	err := logs(w)
	w.Flush()
	return err
}

// RunJob runs the job's container to completion, streaming its output.
func (t *Target) RunJob(ctx context.Context, d *deploy.Deployment, log io.Writer) error {
	if err := t.prepare(ctx, d); err != nil {
		return err
	}
	t.changed(d.Project)
	defer t.changed(d.Project)
	list, err := t.ruleContainers(ctx, d.Project, d.Spec.Name)
	if err != nil {
		return err
	}
	for _, c := range list {
		if err := t.c.RemoveContainer(ctx, c.ID); err != nil {
			return err
		}
	}
	fmt.Fprintf(log, "running %s (%s)\n", replicaName(d, 0), d.Image)
	id, err := t.start(ctx, d, 0)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- t.c.Logs(ctx, id, true, "", log) }()
	code, err := t.c.WaitContainer(ctx, id)
	<-done
	if err != nil {
		if ctx.Err() != nil {
			defer engine.Cleaning(ctx)()
			t.c.RemoveContainer(context.WithoutCancel(ctx), id)
		}
		return err
	}
	if code != 0 {
		return fmt.Errorf("job %s exited with code %d", d.Spec.Name, code)
	}
	return pruneConfigs(d)
}

// RemoveExcept removes the project's containers, and the secret files and
// copies of configs on the host, of the rules not in keep.
func (t *Target) RemoveExcept(ctx context.Context, project string, keep []string) ([]string, error) {
	t.changed(project)
	defer t.changed(project)
	list, err := t.containers(ctx, project)
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, k := range keep {
		wanted[k] = true
	}
	var removed []string
	for _, c := range list {
		if !wanted[c.Labels[objects.LabelRule]] {
			if err := t.c.RemoveContainer(ctx, c.ID); err != nil {
				return removed, err
			}
			removed = append(removed, c.Name)
		}
	}
	if err := removeConfigs(t.owner.Path, project, keep); err != nil {
		return removed, err
	}
	return removed, deploy.RemoveSecretFiles(project, keep)
}

// Down removes every container and network of the project, and its volumes
// when asked; nothing without the project's label is touched.
func (t *Target) Down(ctx context.Context, project string, volumes bool) ([]string, error) {
	removed, err := t.RemoveExcept(ctx, project, nil)
	if err != nil {
		return removed, err
	}
	return RemoveNetworksAndVolumes(ctx, t.c, t.c.RemoveNetworks, t.owner, project, volumes, removed)
}

// RemoveNetworksAndVolumes removes the project's networks with removeNets
// and, when volumes is set, its volumes, but those of another workspace
// than o, and returns removed with what it removed added.
func RemoveNetworksAndVolumes(ctx context.Context, c *dockerapi.Client, removeNets func(context.Context, map[string]string, func(map[string]string) bool) ([]string, error), o deploy.Owner, project string, volumes bool, removed []string) ([]string, error) {
	own := map[string]string{objects.LabelProject: project}
	theirs := func(l map[string]string) bool { return objects.IsForeign(o, l) }
	nets, err := removeNets(ctx, own, theirs)
	for _, n := range nets {
		removed = append(removed, "network "+n)
	}
	if err != nil || !volumes {
		return removed, err
	}
	vols, err := c.RemoveVolumes(ctx, own, theirs)
	for _, v := range vols {
		removed = append(removed, "volume "+v)
	}
	return removed, err
}

// Status describes each service and job of the project.
func (t *Target) Status(ctx context.Context, project string) ([]deploy.ServiceStatus, error) {
	list, err := t.containers(ctx, project)
	if err != nil {
		return nil, err
	}
	byRule := map[string]*deploy.ServiceStatus{}
	var names []string
	for _, c := range list {
		name := c.Labels[objects.LabelRule]
		s := byRule[name]
		if s == nil {
			s = &deploy.ServiceStatus{Name: name, Image: c.Image, Digest: c.Labels[objects.LabelDigest]}
			byRule[name] = s
			names = append(names, name)
		}
		if unadopted(c, list) {
			s.Unadopted = append(s.Unadopted, c.Name)
			continue
		}
		st, err := t.c.InspectContainer(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		if c.State == "running" {
			s.Replicas++
		}
		s.Desired++
		s.Restarts += st.Restarts
		health, problem, err := t.ContainerHealth(ctx, project, c, st)
		if err != nil {
			return nil, err
		}
		if s.Health == "" || health == deploy.Unhealthy || health == deploy.Starting && s.Health == deploy.Healthy {
			s.Health = health
		}
		if problem != "" && s.HealthError != "" {
			s.HealthError += "; "
		}
		if problem != "" {
			s.HealthError += c.Name + ": " + problem
		}
		if s.Started.IsZero() || st.StartedAt.Before(s.Started) {
			s.Started = st.StartedAt
		}
		s.Ports = append(s.Ports, c.Ports...)
		switch {
		case c.Labels[objects.LabelKind] == "job" && c.State == "exited" && st.ExitCode == 0:
			s.State = "completed (exit 0)"
		case c.Labels[objects.LabelKind] == "job" && c.State == "exited":
			s.State = fmt.Sprintf("failed (exit %d)", st.ExitCode)
		case s.State == "" || c.State != "running":
			s.State = c.State
		}
	}
	sort.Strings(names)
	out := make([]deploy.ServiceStatus, 0, len(names))
	for _, n := range names {
		out = append(out, *byRule[n])
	}
	return out, nil
}

// Logs streams the logs of the project's containers (of the named
// services only, when names are given), each line prefixed with the
// container's service and replica.
func (t *Target) Logs(ctx context.Context, project string, names []string, o deploy.LogOptions, out io.Writer) error {
	list, err := t.containers(ctx, project)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	have := map[string]bool{}
	for _, c := range list {
		have[c.Labels[objects.LabelRule]] = true
	}
	for _, n := range names {
		if !have[n] {
			return fmt.Errorf("project %s runs no service or job named %q; `ferry status` lists what runs", project, n)
		}
	}
	w := LockWriter(out)
	errs := make(chan error, len(list))
	n := 0
	for _, c := range list {
		if len(names) > 0 && !want[c.Labels[objects.LabelRule]] {
			continue
		}
		n++
		prefix := fmt.Sprintf("%s-%s | ", c.Labels[objects.LabelRule], c.Labels[objects.LabelReplica])
		go func() {
			errs <- t.Lines(prefix, w, o.Color, func(lw io.Writer) error { return t.c.Logs(ctx, c.ID, o.Follow, "", lw) })
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// LockWriter returns a writer that passes each Write on to w, one at a
// time, for the output of several goroutines.
func LockWriter(w io.Writer) io.Writer { return &lockedWriter{w: w} }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
