package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/builtins/scale"
	"github.com/ferryhq/ferry/engine"
)

// An ImageRule is a rule that builds an image, as the docker domain's
// image() does; a service naming it runs what it built.
type ImageRule interface {
	engine.Rule
	// Ref returns the reference of the image built with key.
	Ref(key engine.Digest) string
}

// Plugin declares service() and job(), run by Target under Project, and
// environment(), which records into the evaluation's Environments.
type Plugin struct {
	Project string
	Target  Target
}

// NewState returns the Environments of one evaluation.
func (*Plugin) NewState() any { return &Environments{} }

// Builtins returns service, job, network, volume, environment, autoscale
// and health.
// Each call returns builtins sharing a fresh register of the networks and
// volumes declared, so call it once per evaluation, as engine.Evaluate does.
func (p *Plugin) Builtins() []*engine.Builtin {
	res := &resources{external: map[string]bool{}, internal: map[string]bool{}}
	return append([]*engine.Builtin{p.builtin("service", res), p.builtin("job", res), resourceBuiltin("network", res), resourceBuiltin("volume", res), environmentBuiltin(), scale.Builtin}, healthBuiltins...)
}

func (p *Plugin) builtin(kind string, res *resources) *engine.Builtin {
	doc := "Declares a long-running service: containers from `image`, kept running as declared by `ferry up`. " +
		"An unchanged service is left alone; a changed one is replaced; `ferry down` removes it. " +
		"Services reach each other by name on the workspace's network."
	if kind == "job" {
		doc = "Declares a one-shot container run to completion by `ferry up` (a migration, say). " +
			"It runs again only when its definition or image changes; a service that `depends_on` it starts after it exits with 0."
	}
	params := []engine.Param{
		{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "Unique name; also the DNS name other services reach it by."},
		{Name: "image", Type: engine.String, Required: true, Doc: "An image reference (`postgres:16`, `registry.example.com/team/api:1.4`, pinned as `postgres:16@sha256:…`), pulled from its registry as `pull` says, or the name of an `image()` rule (built first, never pulled). See [registries](registries.md)."},
		{Name: "pull", Type: engine.String, Default: `"missing"`, Doc: "When to pull `image` from its registry, with the credentials of `docker login`: `\"missing\"` when the Engine lacks it (an up-to-date `ferry up` asks no registry), `\"always\"` on every `ferry up` (what runs is replaced only when the digest changed), `\"never\"` (the image must be in the Engine). Changing it replaces nothing."},
		{Name: "command", Type: argv{}, Doc: "Replaces the image's command (the arguments of its entrypoint): a list, or a string split into words as a POSIX shell would (`sh -c \"a && b\"` is three words), but no shell runs it; a string that needs one ($VAR, &&, |, >) is refused."},
		{Name: "entrypoint", Type: engine.StringList, Doc: "Replaces the image's entrypoint."},
		{Name: "env", Type: engine.EnvDict, Default: "{}", Doc: "Environment variables; a value may be a `secret()`, read when the rule runs."},
		{Name: "env_file", Type: envFilesType{}, Default: "[]", Doc: "Files of environment variables, as compose's `env_file`: a path or a list, relative to the file declaring the service, read as compose reads them, with its parser (`VAR=value` lines, `#` comments, quotes, `${VAR}` and `${VAR:-default}` of a variable set above in the file or in the environment ferry runs in, recorded as an input). A later file's variables win over an earlier one's, and `env`'s over them all. The files are read while ferry.star is evaluated: a change to one replaces the containers that use its values. A missing file is an error, unless written `{\"path\": \".env.local\", \"required\": False}`. Keep secrets out of them: `ferry lint` flags a password-like value in one that git does not ignore (FERRY-SV011)."},
		{Name: "secret_files", Type: engine.SecretDict, Default: "{}", Doc: "Files to put in the container, by absolute path: each `secret()` is written to a private folder on a host tmpfs and bind-mounted read-only (never copied into the container, where it would land on disk); `ferry down` removes them. See [secrets](secrets.md)."},
		{Name: "configs", Type: configsType{}, Default: "{}", Doc: "Files mounted read-only into the container, as compose's `configs`: a dict of container path to a workspace file (relative to the file declaring the service), or to `{\"file\": \"nginx.conf\", \"mode\": 0o440}` or `{\"content\": \"...\"}`. The content is part of the service's definition: a changed config replaces the containers. On Swarm they are Swarm configs. See [services](services.md#configs)."},
		{Name: "ports", Type: engine.StringList, Default: "[]", Doc: "Published ports as compose writes them: `\"80\"` (a free host port), `\"8080:80\"`, `\"0.0.0.0:8080:80\"`, `\"[::1]:8080:80\"` (an IPv6 host address in brackets), `\"8080-8083:80\"`, `\"53/udp\"`. Without a host address a port is published on loopback (127.0.0.1) only on the docker target; write `\"0.0.0.0:…\"` to publish on every interface. See [services](services.md#ports)."},
		{Name: "volumes", Type: engine.StringList, Default: "[]", Doc: "`NAME:/path` (a named volume of the project), `./dir:/path`, `~/dir:/path` or `/abs:/path` (bind mounts), with `:ro` for read-only; `/path` alone is an anonymous volume: a fresh one for each container, removed with it (when the container is replaced, and by `ferry down`)."},
		{Name: "networks", Type: networksType{}, Default: "[]", Doc: "Networks to join besides the project's own: names of the project's networks (created as `<project>_NAME`) or of `network()` declarations. As a dict, each with its options, as compose's long form: `{\"backend\": {\"aliases\": [\"db\"]}}` gives the service other DNS names on that network (`\"default\"` is the project's network). See [services](services.md#networks)."},
		{Name: "default_network", Type: engine.Bool, Default: "True", Doc: "Join the project's own network, as every service does by default; `False` keeps the service on the `networks` it names only (compose's behaviour when a service lists its networks), so services on other networks cannot reach it."},
		{Name: "network_mode", Type: engine.String, Default: `""`, Doc: "`\"host\"`: share the host's network stack (no isolation: every port it opens is open on the host; it joins no project network, so other services cannot reach it by name, and takes no `ports` or `networks`); `\"none\"`: no network but loopback; `\"bridge\"` or unset: the project's network. `ferry lint` flags `\"host\"` (FERRY-SV001). Not on Swarm."},
		{Name: "privileged", Type: engine.Bool, Default: "False", Doc: "Run the container privileged: every capability and host device, no seccomp or AppArmor confinement, which is root on the host. `ferry lint` flags it (FERRY-SV005). Not on Swarm."},
		{Name: "cap_add", Type: engine.StringList, Default: "[]", Doc: "Linux capabilities to add (`\"NET_ADMIN\"`, `\"CAP_NET_ADMIN\"`, `\"ALL\"`). `ferry lint` flags the powerful ones (FERRY-SV008). See [services](services.md#capabilities-and-a-read-only-root)."},
		{Name: "cap_drop", Type: engine.StringList, Default: "[]", Doc: "Linux capabilities to drop; `[\"ALL\"]` and then `cap_add` the few the service needs is the safe habit."},
		{Name: "read_only", Type: engine.Bool, Default: "False", Doc: "Mount the container's root filesystem read-only; give writable paths with `tmpfs` or `volumes`."},
		{Name: "security_opt", Type: engine.StringList, Default: "[]", Doc: "Security options as Docker takes them: `\"no-new-privileges:true\"`, `\"apparmor=PROFILE\"`, `\"label=...\"`, a seccomp profile as JSON (`\"seccomp=\" + read_file(\"seccomp.json\")`). `ferry lint` flags one that turns confinement off (FERRY-SV009). Not on Swarm."},
		{Name: "tmpfs", Type: engine.StringList, Default: "[]", Doc: "tmpfs mounts: `\"/run\"`, `\"/tmp:size=64m,mode=1777\"`. Not on Swarm."},
		{Name: "init", Type: engine.Bool, Default: "False", Doc: "Run an init process as PID 1, which forwards signals and reaps zombies."},
		{Name: "stop_signal", Type: engine.String, Doc: "The signal that stops the container (`\"SIGINT\"`, `\"SIGQUIT\"`); the image's (SIGTERM) by default."},
		{Name: "stop_grace_period", Type: engine.Duration, Doc: "How long the container is given after its stop signal before it is killed, in whole seconds (`\"30s\"`); 5 s by default (Docker's is 10 s)."},
		{Name: "extra_hosts", Type: engine.StringList, Default: "[]", Doc: "Lines for the container's /etc/hosts: `\"db.local:10.0.0.5\"`; `\"host.docker.internal:host-gateway\"` is the host's address as the Engine sees it. host-gateway is not on Swarm."},
		{Name: "dns", Type: engine.StringList, Default: "[]", Doc: "Name servers for the container, by IP address."},
		{Name: "hostname", Type: engine.String, Doc: "The container's host name (its own name for itself; other services reach it by the service name)."},
		{Name: "shm_size", Type: engine.String, Doc: "Size of /dev/shm (`\"256m\"`, `\"1g\"`); Docker's default is 64m. Not on Swarm."},
		{Name: "ulimits", Type: engine.AnyValue, Default: "{}", Doc: "Resource limits of the container's processes: `{\"nofile\": \"1024:65536\", \"nproc\": 512}` (a number sets soft and hard alike)."},
		{Name: "sysctls", Type: engine.AnyValue, Default: "{}", Doc: "Namespaced kernel parameters: `{\"net.core.somaxconn\": 1024}`."},
		{Name: "devices", Type: engine.StringList, Default: "[]", Doc: "Host devices for the container: `\"/dev/fuse\"`, `\"/dev/ttyUSB0:/dev/ttyS0:rw\"`. Not on Swarm."},
		{Name: "labels", Type: engine.StringDict, Default: "{}", Doc: "Labels on the containers."},
		{Name: "workdir", Type: engine.String, Doc: "Working folder inside the container."},
		{Name: "user", Type: engine.String, Doc: "User (and group) to run as: `\"1000\"`, `\"1000:1000\"`, `\"app\"`."},
		{Name: "depends_on", Type: engine.StringList, Default: "[]", Doc: "Services and jobs to start (jobs: to complete) first; a service with a health check must be healthy first."},
		{Name: "deps", Type: engine.StringList, Default: "[]", Doc: "Other rules that must succeed first (tasks, say)."},
		{Name: "resources", Type: engine.AnyValue, Default: "{}", Doc: "Limits: `{\"memory\": \"256Mi\", \"cpus\": 0.5}`."},
		{Name: "doc", Type: engine.String, Doc: "One line shown by `ferry graph`."},
	}
	if kind == "service" {
		params = append(params,
			engine.Param{Name: "replicas", Type: engine.Int, Default: "1", Doc: "How many containers to run; they share the service's DNS name, which round-robins between them."},
			engine.Param{Name: "autoscale", Type: scale.PolicyType{}, Doc: "An `autoscale(...)` policy instead of a fixed `replicas`: `ferry up` starts `min` replicas (or keeps the count running, when it lies within min and max), and `ferry up --follow` or `ferry watch` adjusts it. See docs/scaling.md."},
			engine.Param{Name: "restart", Type: engine.String, Default: `"unless-stopped"`, Doc: "Restart policy: `no`, `always`, `on-failure` (`on-failure:5`: at most 5 restarts) or `unless-stopped`."},
			engine.Param{Name: "health", Type: healthType{}, Doc: "How to tell the service is healthy: `health.http`, `health.tcp` (probed by ferry) or `health.exec` (the container's Docker health check); `health.disable()` turns off the image's `HEALTHCHECK`. Without it the image's own check, if any, runs. Services that depend on it wait until it is healthy, and so does `ferry up --wait`."},
			engine.Param{Name: "update", Type: engine.AnyValue, Default: "{}", Doc: "How a change is rolled out when there are several replicas: `{\"order\": \"start-first\" or \"stop-first\", \"parallelism\": 1}`. By default one replica at a time, start-first, or stop-first when a host port is fixed. Changing it replaces nothing."},
			engine.Param{Name: "ready_after", Type: engine.Duration, Default: `"5s"`, Doc: "How long each replica must stay up (and healthy, with a `health` check) since its last start, without a restart, before `ferry up --wait`, `ferry ci`, a rolling update and, with a check, `depends_on` count it as ready; a replica that exits or restarts meanwhile fails the wait with its exit code and last log lines. `\"0s\"`: ready as soon as it runs (and is healthy). Changing it replaces nothing."},
		)
	}
	return &engine.Builtin{
		Name:       kind,
		Permission: "docker",
		Doc:        doc,
		Params:     append(params, engine.RuleAttrParams...),
		Returns:    "the rule's name, to use in `depends_on` and `deps`.",
		Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
			return p.declare(thread, c, kind, res)
		},
	}
}

func (p *Plugin) declare(thread *starlark.Thread, c *engine.Call, kind string, res *resources) (starlark.Value, error) {
	ev, err := engine.Declaring(thread, c)
	if err != nil {
		return nil, err
	}
	s := &ServiceSpec{
		Name:       c.String("name"),
		Image:      c.String("image"),
		Pull:       c.String("pull"),
		Entrypoint: c.Strings("entrypoint"),
		Privileged: c.Bool("privileged", false),
		Labels:     c.StringMap("labels"),
		Replicas:   c.Int("replicas", 1),
		Restart:    c.String("restart"),
		DependsOn:  c.Strings("depends_on"),
		Workdir:    c.String("workdir"),
		User:       c.String("user"),
	}
	if err := declareSecrets(c, s); err != nil {
		return nil, err
	}
	if err := declareEnvFiles(thread, c, s); err != nil {
		return nil, err
	}
	if s.Restart, s.MaxRestarts, err = parseRestart(s.Restart); err != nil {
		return nil, c.Errorf("%v", err)
	}
	if s.Pull == "" {
		s.Pull = PullMissing
	}
	if kind == "job" {
		s.Restart = "no"
	} else if s.Restart == "" {
		s.Restart = "unless-stopped"
	}
	if s.NetworkMode = c.String("network_mode"); s.NetworkMode == "bridge" {
		s.NetworkMode = ""
	}
	if !validName(s.Name) {
		return nil, c.Errorf("name must be lowercase letters, digits, '-' and '_', starting with a letter or digit (it is a DNS name)")
	}
	if c.Has("command") {
		switch cmd := c.Value("command").(type) {
		case needsShell:
			return nil, c.Errorf("command %q: %v", cmd.cmd, cmd.why)
		case []string:
			s.Command = cmd
		}
	}
	for _, ps := range c.Strings("ports") {
		port, err := ParsePort(ps)
		if err != nil {
			return nil, c.Errorf("ports: %v", err)
		}
		s.Ports = append(s.Ports, port)
	}
	dir := engine.ModuleDir(thread)
	for _, vs := range c.Strings("volumes") {
		v, err := ParseVolume(dir, vs)
		if err != nil {
			return nil, c.Errorf("volumes: %v", err)
		}
		s.Volumes = append(s.Volumes, v)
	}
	if err := declareNetworks(c, s); err != nil {
		return nil, err
	}
	if err := declareConfigs(thread, c, s); err != nil {
		return nil, err
	}
	if err := declareSettings(c, s); err != nil {
		return nil, err
	}
	if h, ok := c.Value("health").(*HealthCheck); ok {
		if h == Disabled {
			s.HealthDisabled = true
		} else {
			s.Health = h
		}
	}
	if a, ok := c.Value("autoscale").(*scale.Policy); ok {
		if c.Has("replicas") {
			return nil, c.Errorf("give replicas or autoscale, not both: with autoscale, min and max bound the count")
		}
		s.Autoscale, s.Replicas = a, a.Min
	}
	if err := parseResources(c.Raw("resources"), s); err != nil {
		return nil, c.Errorf("resources: %v", err)
	}
	if s.Update, err = parseUpdate(c.Raw("update")); err != nil {
		return nil, c.Errorf("update: %v", err)
	}
	if kind == "service" {
		if s.ReadyAfter = c.Duration("ready_after", DefaultReadyAfter); s.ReadyAfter < 0 {
			return nil, c.Errorf("ready_after: got %s, want a duration of 0s or more", s.ReadyAfter)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, c.Errorf("%v", err)
	}
	r := &Rule{
		info: engine.RuleInfo{
			Name: s.Name,
			Kind: kind,
			Pos:  c.Pos,
			Deps: append(append([]string{}, c.Strings("deps")...), s.DependsOn...),
			// A service starts after what it depends on, but is not
			// replaced when that changes.
			OrderOnly: s.DependsOn,
			Doc:       c.String("doc"),
		},
		spec:   s,
		job:    kind == "job",
		plugin: p,
		res:    res,
	}
	if err := engine.SetRuleAttrs(c, &r.info); err != nil {
		return nil, err
	}
	if err := ev.AddRule(thread, r); err != nil {
		return nil, err
	}
	return starlark.String(s.Name), nil
}

func validName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || i > 0 && (r == '-' || r == '_')
		if !ok {
			return false
		}
	}
	return true
}

func parseResources(v starlark.Value, s *ServiceSpec) error {
	if v == nil {
		return nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return fmt.Errorf("got %s, want a dict such as {\"memory\": \"256Mi\", \"cpus\": 0.5}", v.Type())
	}
	for _, item := range d.Items() {
		k, _ := starlark.AsString(item[0])
		switch k {
		case "memory":
			str, ok := starlark.AsString(item[1])
			if !ok {
				return fmt.Errorf("memory: got %s, want a string such as \"256Mi\"", item[1].Type())
			}
			n, err := ParseMemory(str)
			if err != nil {
				return err
			}
			s.Memory = n
		case "cpus":
			f, ok := starlark.AsFloat(item[1])
			if !ok || f <= 0 {
				return fmt.Errorf("cpus: got %s, want a positive number such as 0.5", item[1])
			}
			s.CPUs = f
		default:
			return fmt.Errorf("unknown resource %s: want memory or cpus", item[0])
		}
	}
	return nil
}

// A Rule is a service or a job: its key is its config hash.
type Rule struct {
	info   engine.RuleInfo
	spec   *ServiceSpec
	res    *resources
	job    bool
	plugin *Plugin
	image  ImageRule // when spec.Image names an image rule
	// healthDeps are the services in depends_on with a health check: the
	// rule starts once they are healthy.
	healthDeps []*Rule
}

// Info returns the rule's metadata.
func (r *Rule) Info() *engine.RuleInfo { return &r.info }

// IsJob reports whether the rule is a job, which runs to completion,
// rather than a service.
func (r *Rule) IsJob() bool { return r.job }

// IsDeploy reports whether r is a service or a job: what `ferry up` runs.
func IsDeploy(r engine.Rule) bool {
	_, ok := r.(*Rule)
	return ok
}

// IsService reports whether r is a service.
func IsService(r engine.Rule) bool {
	d, ok := r.(*Rule)
	return ok && !d.job
}

// Spec returns the declared spec.
func (r *Rule) Spec() *ServiceSpec { return r.spec }

// Project returns the name of the project the rule deploys under.
func (r *Rule) Project() string { return r.plugin.Project }

// PullsImage reports whether the rule's image comes from a registry,
// rather than from an image() rule of the workspace (known once the
// graph has linked the rules).
func (r *Rule) PullsImage() bool { return r.image == nil }

// Target returns the target the rule deploys to, nil when none is set.
func (r *Rule) Target() Target { return r.plugin.Target }

// Link makes an image rule named by spec.Image a dep.
func (r *Rule) Link(lookup func(string) engine.Rule) error {
	for _, d := range r.spec.DependsOn {
		if dep := lookup(d); dep != nil && !IsDeploy(dep) {
			return fmt.Errorf("depends_on: %q is a %s; depends_on names services and jobs, deps names other rules", d, dep.Info().Kind)
		}
		if dr, ok := lookup(d).(*Rule); ok && !dr.job && dr.spec.Health != nil {
			r.healthDeps = append(r.healthDeps, dr)
		}
	}
	for i, v := range r.spec.Volumes {
		r.spec.Volumes[i].External = !v.Bind && !v.Anonymous && r.res.isExternal("volume", v.Source)
	}
	r.spec.External, r.spec.Internal = map[string]bool{}, map[string]bool{}
	for _, n := range r.spec.Networks {
		if r.res.isExternal("network", n) {
			r.spec.External[n] = true
		}
		if r.res.isInternal(n) {
			r.spec.Internal[n] = true
		}
	}
	if s := r.spec; s.NoDefaultNetwork && len(s.Ports) > 0 && len(s.Internal) == len(s.Networks) {
		return fmt.Errorf("ports: the service is on internal networks only (default_network = False), and a port is not published through an internal network; drop ports, or let it join a network that is not internal (default_network = True)")
	}
	switch ir := lookup(r.spec.Image).(type) {
	case ImageRule:
		r.image = ir
		r.info.Deps = append(r.info.Deps, r.spec.Image)
	case nil:
	default:
		return fmt.Errorf("image: %q names a %s, not an image rule", r.spec.Image, ir.Info().Kind)
	}
	return nil
}

// Inputs: a service's bind-mounted files are live, not part of its config.
func (r *Rule) Inputs(context.Context) ([]string, error) { return nil, nil }

// Outputs: what a service makes lives in the target.
func (r *Rule) Outputs() []string { return nil }

// Definition adds the spec but the replica count; the image's key arrives
// as a dep key.
func (r *Rule) Definition(_ context.Context, h *engine.Hasher) error {
	s := r.spec
	h.String(r.plugin.Project).String(s.Name).String(s.Image).String(strings.Join(s.Command, "\x00")).String(strings.Join(s.Entrypoint, "\x00"))
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		h.String("env").String(k).String(s.Env[k])
	}
	for _, k := range slices.Sorted(maps.Keys(s.Secrets)) {
		h.String("secret env").String(k).String(s.Secrets[k].SecretName()).String(s.Secrets[k].Source())
	}
	for _, k := range slices.Sorted(maps.Keys(s.SecretFiles)) {
		h.String("secret file").String(k).String(s.SecretFiles[k].SecretName()).String(s.SecretFiles[k].Source())
	}
	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		h.String("label").String(k).String(s.Labels[k])
	}
	for _, p := range s.Ports {
		h.String("port").String(p.String())
		if p.HostIP == "" {
			// Such a port was published everywhere before it was
			// published on loopback: a new key replaces those containers.
			h.String("default address: loopback")
		}
	}
	for _, v := range s.Volumes {
		h.String("volume").String(v.Source).String(v.Target).String(strconv.FormatBool(v.ReadOnly)).String(strconv.FormatBool(v.External))
	}
	for _, n := range s.Networks {
		h.String("network").String(n).String(strconv.FormatBool(s.External[n]))
		if s.Internal[n] {
			// Only when set, so that adding it replaced no container.
			h.String("internal")
		}
	}
	if s.Health != nil {
		h.String("health").String(s.Health.String())
	}
	s.configsKey(h)
	// Left out at their defaults, so adding the settings replaced nothing.
	if s.NetworkMode != "" {
		h.String("network_mode").String(s.NetworkMode)
	}
	if s.Privileged {
		h.String("privileged")
	}
	if k := s.Settings.key(); k != "" {
		h.String("settings").String(k)
	}
	// Replicas are left out: scaling adds or removes containers without
	// replacing the others; the target's Current sees the count differ.
	h.String(s.Restart)
	h.String(strconv.FormatInt(s.Memory, 10)).String(strconv.FormatFloat(s.CPUs, 'g', -1, 64)).String(s.Workdir).String(s.User)
	return nil
}

func (r *Rule) deployment(rc *engine.RunContext, key engine.Digest, root string) *Deployment {
	d := &Deployment{Project: r.plugin.Project, Spec: r.spec, Job: r.job, Pos: r.info.Pos, Image: r.spec.Image, Key: key, Root: root, Pull: r.spec.Pull}
	if r.image != nil {
		d.Pull = ""
		if rc != nil {
			d.Image = r.image.Ref(rc.DepKeys[r.image.Info().Name])
		}
	}
	return d
}

// Observe asks the target whether the service runs as declared.
func (r *Rule) Observe(ctx context.Context, key engine.Digest) (bool, string, error) {
	if r.plugin.Target == nil {
		return false, "", errNoTarget
	}
	return r.plugin.Target.Current(ctx, r.deployment(nil, key, ""))
}

var errNoTarget = fmt.Errorf("no deploy target is configured")

// Run deploys the service, or runs the job to completion.
func (r *Rule) Run(rc *engine.RunContext) error {
	if r.plugin.Target == nil {
		return errNoTarget
	}
	if err := r.waitForDeps(rc); err != nil {
		return err
	}
	d := r.deployment(rc, rc.Key, rc.Workspace.Root)
	if p, ok := r.plugin.Target.(ImagePuller); ok && d.Pull != "" {
		res, err := p.PullImage(rc, d.Image, d.Pull, PullProgress(rc.Events, r.info.Name))
		if err != nil {
			return err
		}
		always := d.Pull == PullAlways
		d = d.Resolved(res)
		// A job runs again only when its image changed, not each time
		// ferry asked the registry.
		if always && r.job {
			if ok, _, err := r.plugin.Target.Current(rc, d); err == nil && ok {
				fmt.Fprintf(rc.Stdout, "%s is unchanged (%s): the job does not run again\n", d.Image, cmp.Or(res.Digest, res.ID))
				return nil
			}
		}
	}
	if err := r.revealSecrets(rc, d); err != nil {
		return err
	}
	run := r.plugin.Target.Deploy
	if r.job {
		run = r.plugin.Target.RunJob
	}
	if err := run(rc, d, rc.Stdout); err != nil {
		// A rollout stopped by a new replica's crash loop is one, as a
		// wait's is (WaitEvent).
		if loop := (*CrashLoopError)(nil); errors.As(err, &loop) && rc.Events != nil {
			rc.Events.Emit(WaitEvent(r.info.Name, err))
		}
		return err
	}
	if d.SecretFiles != nil {
		// No container holds an older value now.
		return pruneSecretFiles(d.Project, r.info.Name, d.SecretFiles)
	}
	return nil
}

// resources registers the networks and volumes declared with network() and
// volume() in one evaluation.
type resources struct {
	mu       sync.Mutex
	external map[string]bool // "volume data", "network shared"
	internal map[string]bool // networks declared internal
}

func (r *resources) isExternal(kind, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.external[kind+" "+name]
}

func (r *resources) isInternal(network string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.internal[network]
}

func resourceBuiltin(kind string, res *resources) *engine.Builtin {
	owned := "Without a declaration, a name used in `" + kind + "s` is the project's own: created as `<project>_NAME` and removed by `ferry down"
	if kind == "volume" {
		owned += " --volumes"
	}
	owned += "`."
	b := &engine.Builtin{
		Name:       kind,
		Permission: "docker",
		Doc: fmt.Sprintf("Declares a %s that services name in `%ss`. With `external = True` it is one that exists outside ferry: "+
			"used by its own name, never created or removed, and `ferry up` fails clearly when it is missing. %s", kind, kind, owned),
		Params: []engine.Param{
			{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "The name services use."},
			{Name: "external", Type: engine.Bool, Default: "False", Doc: "The " + kind + " exists outside ferry; ferry neither creates nor removes it."},
		},
		Returns: "the name.",
		Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
			name := c.String("name")
			key := kind + " " + name
			if kind == "network" && name == DefaultNetwork {
				return nil, c.Errorf("%q is the project's own network, which ferry makes as <project>_default; declare another name", name)
			}
			internal := c.Bool("internal", false)
			if internal && c.Bool("external", false) {
				return nil, c.Errorf("network %q: internal = True is how ferry creates a network, and ferry creates no external network; create it with `docker network create --internal %s`, or drop external = True", name, name)
			}
			res.mu.Lock()
			defer res.mu.Unlock()
			if _, dup := res.external[key]; dup {
				return nil, c.Errorf("%s %q is declared twice", kind, name)
			}
			res.external[key] = c.Bool("external", false)
			if internal {
				res.internal[name] = true
			}
			return starlark.String(name), nil
		},
	}
	if kind == "network" {
		b.Params = append(b.Params, engine.Param{Name: "internal", Type: engine.Bool, Default: "False", Doc: "An internal network: its containers reach each other but nothing outside it (no route out, no published port through it), for a database that should talk to its services only. Changing it replaces the services on it; the network itself is remade once `ferry down` has removed it."})
	}
	b.Params = append(b.Params, engine.Param{Name: "doc", Type: engine.String, Doc: "What it is for."})
	return b
}

// argv is a command for a container: a list of strings, or a string split
// into words as a POSIX shell would (splitCommand). Unlike a task's cmd, no
// shell runs it: images FROM scratch have none. A string that needs a shell
// converts to a needsShell, which the builtin refuses with its reason.
type argv struct{}

func (argv) Describe() string { return "list of strings, or a string of words" }

func (argv) Convert(v starlark.Value) (any, bool) {
	if s, ok := v.(starlark.String); ok {
		words, err := splitCommand(string(s))
		if err != nil {
			return needsShell{cmd: string(s), why: err}, true
		}
		return words, true
	}
	return engine.StringList.Convert(v)
}

// healthType accepts what health.http, health.tcp and health.exec return.
type healthType struct{}

func (healthType) Describe() string { return "health check (health.http, health.tcp or health.exec)" }

func (healthType) Convert(v starlark.Value) (any, bool) {
	h, ok := v.(*HealthCheck)
	return h, ok
}

// An ImageBuild says how an image rule builds, for what writes the build
// elsewhere (`ferry export compose`). Paths are workspace-relative.
type ImageBuild struct {
	Repo       string
	Context    string
	Dockerfile string
	Target     string
	Args       map[string]string
	Secrets    map[string]engine.Secret // by build secret id
	CacheFrom  []string
}
