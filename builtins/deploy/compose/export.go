package compose

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

// ExportOptions say what the compose file is written for.
type ExportOptions struct {
	Project string // the compose project's name
	Root    string // the workspace root, which rules' paths are relative to
	OutDir  string // the folder of the compose file: its paths are relative to it
}

// An Exported is a compose file written from a workspace.
type Exported struct {
	YAML     []byte
	Findings []Finding // what compose cannot express, at the ferry.star position of its rule
}

// jobExtension marks a compose service that is a ferry job, so that a
// later import makes it one again even when nothing depends on it.
const jobExtension = "x-ferry-job"

// builder is an image rule that says how it builds (the docker domain's
// image()).
type builder interface {
	Build() deploy.ImageBuild
}

// Export writes the services and jobs of an evaluated workspace as a
// compose file: jobs become services that run once (restart: "no"),
// which what depends on them waits for (service_completed_successfully);
// image() rules become build: sections; secrets become compose secrets
// with the source they have, never their values.
func Export(g *engine.Graph, o ExportOptions) (*Exported, error) {
	for _, p := range []*string{&o.Root, &o.OutDir} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, err
		}
		*p = abs
	}
	e := &exporter{g: g, o: o, p: &types.Project{Name: o.Project, Services: types.Services{}}, built: map[string]bool{}}
	var images []engine.Rule
	for _, n := range slices.Sorted(slices.Values(g.Names())) {
		switch r := g.Rule(n).(type) {
		case *deploy.Rule:
			e.rule(r)
		case builder:
			images = append(images, r.(engine.Rule))
		default:
			e.note(r.Info(), fmt.Sprintf("a %s: compose has no equivalent; `ferry run %s` runs it", r.Info().Kind, n))
		}
	}
	for _, r := range images {
		if !e.built[r.Info().Name] {
			e.note(r.Info(), "no service or job runs the image, and compose builds only the images of services; `ferry run "+r.Info().Name+"` builds it")
		}
	}
	if len(e.p.Services) == 0 {
		return nil, fmt.Errorf("ferry.star declares no service or job: there is nothing to write as compose")
	}
	body, err := e.p.MarshalYAML()
	if err != nil {
		return nil, err
	}
	head := fmt.Sprintf("# Written by `ferry export compose` from the ferry.star of project %q.\n# ferry.star is the source: edit it and export again.\n", o.Project)
	sortFindings(e.findings)
	out := append([]byte(head), body...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return &Exported{YAML: out, Findings: e.findings}, nil
}

type exporter struct {
	g        *engine.Graph
	o        ExportOptions
	p        *types.Project
	findings []Finding
	built    map[string]bool // image rules a service or job runs
}

func (e *exporter) note(info *engine.RuleInfo, why string) {
	e.findings = append(e.findings, Finding{Path: info.Kind + " " + info.Name, Pos: info.Pos.String(), Why: why})
}

// rel writes a workspace-relative path relative to the compose file.
func (e *exporter) rel(p string) string {
	abs := p
	if !filepath.IsAbs(p) {
		abs = filepath.Join(e.o.Root, filepath.FromSlash(p))
	}
	r, err := filepath.Rel(e.o.OutDir, abs)
	if err != nil {
		return abs
	}
	if r = filepath.ToSlash(r); !strings.HasPrefix(r, "../") && r != ".." {
		r = "./" + r
	}
	return strings.TrimSuffix(r, "/.")
}

func (e *exporter) rule(r *deploy.Rule) {
	s, info := r.Spec(), r.Info()
	svc := types.ServiceConfig{Name: s.Name, Profiles: info.Profiles}
	c := &svc.ContainerSpec
	if b, ok := e.g.Rule(s.Image).(builder); ok && !r.PullsImage() {
		e.build(&svc, b, e.g.Rule(s.Image).Info())
	} else {
		c.Image = s.Image
		switch s.Pull {
		case deploy.PullAlways, deploy.PullNever:
			c.PullPolicy = s.Pull
		}
	}
	if s.Command != nil {
		c.Command = types.ShellCommand(s.Command)
	}
	if s.Entrypoint != nil {
		c.Entrypoint = types.ShellCommand(s.Entrypoint)
	}
	fromFiles := e.envFiles(c, s.EnvFiles)
	for k, v := range s.Env {
		if f, ok := fromFiles[k]; ok && f == v {
			continue // env_file gives it
		}
		if c.Environment == nil {
			c.Environment = types.MappingWithEquals{}
		}
		c.Environment[k] = &v
	}
	for _, k := range slices.Sorted(maps.Keys(s.Secrets)) {
		sec := s.Secrets[k]
		e.secret(info, sec)
		target := "/run/secrets/" + sec.SecretName()
		c.Secrets = append(c.Secrets, types.ServiceSecretConfig{Source: sec.SecretName(), Target: target})
		e.note(info, fmt.Sprintf("env %s holds secret %q; compose gives secrets as files only: it is mounted at %s, so point the program at that file (many images read %s_FILE)", k, sec.SecretName(), target, k))
	}
	for _, p := range slices.Sorted(maps.Keys(s.SecretFiles)) {
		sec := s.SecretFiles[p]
		e.secret(info, sec)
		c.Secrets = append(c.Secrets, types.ServiceSecretConfig{Source: sec.SecretName(), Target: p})
	}
	for _, p := range s.Ports {
		if p.HostIP == "" {
			p.HostIP = deploy.LoopbackIP // where the docker target publishes it
		}
		pc, err := types.ParsePortConfig(p.String())
		if err != nil {
			e.note(info, fmt.Sprintf("port %s: %v", p, err))
			continue
		}
		svc.Ports = append(svc.Ports, pc...)
	}
	e.configs(&svc, s)
	for _, v := range s.Volumes {
		m := types.ServiceVolumeConfig{Type: types.VolumeTypeVolume, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
		switch {
		case v.Bind:
			m.Type, m.Source = types.VolumeTypeBind, e.rel(v.HostPath(e.o.Root))
		case v.Anonymous:
		default:
			e.volume(v.Source, v.External)
		}
		c.Volumes = append(c.Volumes, m)
	}
	e.networks(c, s)
	c.NetworkMode = s.NetworkMode
	c.Privileged = s.Privileged
	e.settings(c, &s.Settings)
	if len(s.Labels) > 0 {
		c.Labels = types.Labels(maps.Clone(s.Labels))
	}
	c.WorkingDir, c.User = s.Workdir, s.User
	e.dependsOn(&svc, s)
	if s.Memory != 0 || s.CPUs != 0 {
		svc.Deploy = &types.DeployConfig{Resources: types.Resources{Limits: &types.Resource{MemoryBytes: types.UnitBytes(s.Memory), NanoCPUs: types.NanoCPUs(s.CPUs)}}}
	}
	if r.IsJob() {
		svc.Restart = types.RestartPolicyNo
		svc.Extensions = types.Extensions{jobExtension: true}
	} else {
		e.serviceOnly(&svc, s, info)
	}
	e.p.Services[s.Name] = svc
}

func (e *exporter) build(svc *types.ServiceConfig, b builder, info *engine.RuleInfo) {
	e.built[info.Name] = true
	ib := b.Build()
	ctx := e.rel(ib.Context)
	bc := &types.BuildConfig{Context: ctx, Target: ib.Target, CacheFrom: ib.CacheFrom}
	if df, err := filepath.Rel(filepath.Join(e.o.Root, ib.Context), filepath.Join(e.o.Root, ib.Dockerfile)); err == nil && df != "Dockerfile" {
		bc.Dockerfile = filepath.ToSlash(df)
	}
	if len(ib.Args) > 0 {
		bc.Args = types.MappingWithEquals{}
		for k, v := range ib.Args {
			bc.Args[k] = &v
		}
	}
	for _, id := range slices.Sorted(maps.Keys(ib.Secrets)) {
		e.secret(info, ib.Secrets[id])
		bc.Secrets = append(bc.Secrets, types.ServiceSecretConfig{Source: ib.Secrets[id].SecretName(), Target: id})
	}
	svc.Build = bc
	svc.Image = ib.Repo
	if len(info.Deps) > 0 {
		e.note(info, fmt.Sprintf("the image's build needs %s to run first (`ferry run %s`), which compose cannot do", strings.Join(info.Deps, ", "), info.Name))
	}
}

// secret declares a compose secret with the source of sec.
func (e *exporter) secret(info *engine.RuleInfo, sec engine.Secret) {
	name := sec.SecretName()
	if e.p.Secrets == nil {
		e.p.Secrets = types.Secrets{}
	}
	if _, ok := e.p.Secrets[name]; ok {
		return
	}
	src := sec.Source()
	var c types.SecretConfig
	if f, ok := strings.CutPrefix(src, "file "); ok {
		c.File = e.rel(f)
	} else if v, ok := strings.CutPrefix(src, "environment variable "); ok {
		c.Environment = v
	} else {
		c.Environment = strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name))
		e.note(info, fmt.Sprintf("secret %q comes from %s, which compose cannot read: the compose file reads it from the environment variable %s; set it there (or change the source to a file)", name, src, c.Environment))
	}
	e.p.Secrets[name] = c
}

// envFiles writes env_file: for files, and returns the variables they
// give, which environment: need not repeat.
func (e *exporter) envFiles(c *types.ContainerSpec, files []deploy.EnvFile) map[string]string {
	vars := map[string]string{}
	for _, f := range files {
		c.EnvFiles = append(c.EnvFiles, types.EnvFile{Path: e.rel(f.Path), Required: types.OptOut(f.Vars != nil)})
		maps.Copy(vars, f.Vars)
	}
	return vars
}

// configs writes configs: of the service, and declares each as a
// top-level config with the file it was read from, or its content.
func (e *exporter) configs(svc *types.ServiceConfig, s *deploy.ServiceSpec) {
	for _, cf := range s.Configs {
		name := s.Name + "_" + strings.Trim(strings.NewReplacer("/", "_", ".", "_").Replace(cf.Target), "_")
		oc := types.ConfigObjConfig{Content: cf.Content}
		if cf.Source != "" {
			oc = types.ConfigObjConfig{File: e.rel(cf.Source)}
		}
		if e.p.Configs == nil {
			e.p.Configs = types.Configs{}
		}
		e.p.Configs[name] = oc
		ref := types.ServiceConfigObjConfig{Source: name, Target: cf.Target}
		if cf.Mode != deploy.DefaultConfigMode {
			m := types.FileMode(cf.Mode)
			ref.Mode = &m
		}
		svc.Configs = append(svc.Configs, ref)
	}
}

// networks writes the networks of a service: none when it is on the
// project's network alone; else each with its aliases, and the project's
// ("default") unless the service keeps off it.
func (e *exporter) networks(c *types.ContainerSpec, s *deploy.ServiceSpec) {
	if len(s.Networks) == 0 && len(s.Aliases) == 0 {
		return
	}
	c.Networks = map[string]*types.ServiceNetworkConfig{}
	if !s.NoDefaultNetwork {
		c.Networks[deploy.DefaultNetwork] = nil
	}
	for _, n := range s.Networks {
		c.Networks[n] = nil
		e.network(n, s.External[n], s.Internal[n])
	}
	for n, a := range s.Aliases {
		c.Networks[n] = &types.ServiceNetworkConfig{Aliases: a}
	}
}

func (e *exporter) volume(name string, external bool) {
	if e.p.Volumes == nil {
		e.p.Volumes = types.Volumes{}
	}
	e.p.Volumes[name] = types.VolumeConfig{External: types.External(external)}
}

func (e *exporter) network(name string, external, internal bool) {
	if e.p.Networks == nil {
		e.p.Networks = types.Networks{}
	}
	e.p.Networks[name] = types.NetworkConfig{External: types.External(external), Internal: internal}
}

func (e *exporter) settings(c *types.ContainerSpec, s *deploy.Settings) {
	c.CapAdd, c.CapDrop, c.ReadOnly, c.SecurityOpt = s.CapAdd, s.CapDrop, s.ReadOnly, s.SecurityOpt
	for _, t := range s.Tmpfs {
		c.Tmpfs = append(c.Tmpfs, strings.TrimSuffix(t.Path+":"+t.Options, ":"))
	}
	if s.Init {
		c.Init = &s.Init
	}
	c.StopSignal = s.StopSignal
	if s.StopGracePeriod != 0 {
		d := types.Duration(s.StopGracePeriod)
		c.StopGracePeriod = &d
	}
	if len(s.ExtraHosts) > 0 {
		c.ExtraHosts = types.HostsList{}
		for _, h := range s.ExtraHosts {
			host, ip, _ := strings.Cut(h, ":")
			c.ExtraHosts[host] = append(c.ExtraHosts[host], ip)
		}
	}
	c.DNS, c.Hostname, c.ShmSize = s.DNS, s.Hostname, types.UnitBytes(s.ShmSize)
	for _, u := range s.Ulimits {
		if c.Ulimits == nil {
			c.Ulimits = map[string]*types.UlimitsConfig{}
		}
		l := &types.UlimitsConfig{Soft: int(u.Soft), Hard: int(u.Hard)}
		if u.Soft == u.Hard {
			l = &types.UlimitsConfig{Single: int(u.Soft)}
		}
		c.Ulimits[u.Name] = l
	}
	if len(s.Sysctls) > 0 {
		c.Sysctls = types.Mapping(maps.Clone(s.Sysctls))
	}
	for _, d := range s.Devices {
		c.Devices = append(c.Devices, types.DeviceMapping{Source: d.Host, Target: d.Container, Permissions: d.Perms})
	}
}

func (e *exporter) dependsOn(svc *types.ServiceConfig, s *deploy.ServiceSpec) {
	for _, d := range s.DependsOn {
		cond := types.ServiceConditionStarted
		if dr, ok := e.g.Rule(d).(*deploy.Rule); ok {
			switch {
			case dr.IsJob():
				cond = types.ServiceConditionCompletedSuccessfully
			case dr.Spec().Health != nil:
				cond = types.ServiceConditionHealthy
			}
		}
		if svc.DependsOn == nil {
			svc.DependsOn = types.DependsOnConfig{}
		}
		svc.DependsOn[d] = types.ServiceDependency{Condition: cond, Required: true}
	}
}

func (e *exporter) serviceOnly(svc *types.ServiceConfig, s *deploy.ServiceSpec, info *engine.RuleInfo) {
	svc.Restart = s.Restart
	if s.MaxRestarts > 0 {
		svc.Restart = fmt.Sprintf("%s:%d", s.Restart, s.MaxRestarts)
	}
	if s.Replicas != 1 {
		n := s.Replicas
		svc.Scale = &n
	}
	if s.Autoscale != nil {
		e.note(info, fmt.Sprintf("autoscale: compose scales by hand; the compose file runs %d (min) replicas", s.Replicas))
	}
	if s.HealthDisabled {
		svc.HealthCheck = &types.HealthCheckConfig{Disable: true}
	}
	if h := s.Health; h != nil {
		switch h.Kind {
		case "exec":
			test := types.HealthCheckTest(append([]string{"CMD"}, h.Argv...))
			if h.Argv == nil {
				test = types.HealthCheckTest{"CMD-SHELL", h.Shell}
			}
			hc := &types.HealthCheckConfig{Test: test}
			dur := func(d time.Duration) *types.Duration { x := types.Duration(d); return &x }
			hc.Interval, hc.Timeout, hc.StartPeriod = dur(h.Interval), dur(h.Timeout), dur(h.StartPeriod)
			if h.StartInterval != 0 {
				hc.StartInterval = dur(h.StartInterval)
			}
			retries := uint64(h.Retries)
			hc.Retries = &retries
			svc.HealthCheck = hc
		default:
			e.note(info, fmt.Sprintf("health.%s is probed by ferry from outside the container; compose runs a health check inside it: add healthcheck.test with a program the image has (such as wget or curl)", h.Kind))
		}
	}
	if s.Update.Order != "" || s.Update.Parallelism > 1 {
		if svc.Deploy == nil {
			svc.Deploy = &types.DeployConfig{}
		}
		u := &types.UpdateConfig{Order: s.Update.Order}
		if s.Update.Parallelism > 0 {
			p := uint64(s.Update.Parallelism)
			u.Parallelism = &p
		}
		svc.Deploy.UpdateConfig = u
	}
}
