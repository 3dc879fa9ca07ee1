package local

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/builtins/scale"
	"github.com/ferryhq/ferry/engine"
)

// wantReplicas is how many replicas Deploy and Current want of the service
// whose containers are list: the declared count, or for an autoscaled
// service the count running, kept within its min and max, so `ferry up`
// leaves what the autoscaler chose.
func wantReplicas(s *deploy.ServiceSpec, list []dockerapi.Container) int {
	a := s.Autoscale
	if a == nil {
		return s.Replicas
	}
	running := 0
	for _, c := range list {
		if c.State == "running" {
			running++
		}
	}
	return min(max(running, a.Min), a.Max)
}

// WithReplicas returns d with a copy of its spec that runs n replicas.
func WithReplicas(d *deploy.Deployment, n int) *deploy.Deployment {
	spec := *d.Spec
	spec.Replicas, spec.Autoscale = n, nil
	dd := *d
	dd.Spec = &spec
	return &dd
}

// A Scaler scales the services of one project on the local Engine for the
// autoscaler (see scale.Loop). It adds and removes replicas as Deploy does,
// with the definition and image the running replicas have.
type Scaler struct {
	t       *Target
	project string
	root    string
	specs   map[string]*deploy.ServiceSpec
	log     io.Writer
	cpu     *CPUStreams
}

var _ deploy.Scaling = (*Target)(nil)

// NewScaler returns a Scaler for project, whose services specs declares;
// root is the workspace root (for bind mounts) and log receives what
// Deploy says when it starts and removes replicas. Close it when done.
func (t *Target) NewScaler(project, root string, specs map[string]*deploy.ServiceSpec, log io.Writer) deploy.Scaler {
	return &Scaler{t: t, project: project, root: root, specs: specs, log: log, cpu: NewCPUStreams(t.c)}
}

// running lists the service's running containers.
func (s *Scaler) running(ctx context.Context, service string) ([]dockerapi.Container, error) {
	list, err := s.t.c.Containers(ctx, map[string]string{objects.LabelProject: s.project, objects.LabelRule: service, objects.LabelKind: "service"})
	if err != nil {
		return nil, err
	}
	var out []dockerapi.Container
	for _, c := range list {
		if c.State == "running" && !objects.IsForeign(s.t.owner, c.Labels) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Replicas lists the service's running replicas with where port answers
// (as health probes reach them).
func (s *Scaler) Replicas(ctx context.Context, service string, port int) ([]scale.Replica, error) {
	list, err := s.running(ctx, service)
	if err != nil {
		return nil, err
	}
	host, err := s.t.c.DaemonHost(ctx)
	if err != nil {
		return nil, err
	}
	nets := LocalNets()
	out := make([]scale.Replica, 0, len(list))
	for _, c := range list {
		ep, err := s.t.c.InspectEndpoints(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		r := scale.Replica{Name: c.Name}
		r.Addr, r.AddrErr = Reach(host, nets, ep, NetworkName(s.project), port)
		out = append(out, r)
	}
	return out, nil
}

// Scale makes n replicas of the service run, with the definition (config
// hash), image and secrets of its running replicas: it adds and removes
// replicas as Deploy does, and waits for other changes of the service
// (rollouts) to end first.
func (s *Scaler) Scale(ctx context.Context, service string, n int) error {
	spec := s.specs[service]
	if spec == nil {
		return fmt.Errorf("ferry.star declares no service %s", service)
	}
	defer objects.LockServices(s.project, service)()
	list, err := s.running(ctx, service)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("no replica of %s runs to copy; `ferry up` starts it", service)
	}
	var key engine.Digest
	b, err := hex.DecodeString(list[0].Labels[objects.LabelConfig])
	if err != nil || len(b) != len(key) {
		return fmt.Errorf("container %s: label %s is not a config hash; run `ferry up` to replace it", list[0].Name, objects.LabelConfig)
	}
	copy(key[:], b)
	d := &deploy.Deployment{Project: s.project, Spec: spec, Image: list[0].Image, Key: key, Root: s.root, Digest: list[0].Labels[objects.LabelDigest]}
	if err := s.secrets(ctx, d, list[0]); err != nil {
		return err
	}
	return s.t.deploy(ctx, WithReplicas(d, n), s.log)
}

// secrets sets d's secrets to those the running replica c was made with
// (by `ferry up`, which read them): the values of the spec's secret
// environment variables, the host files of its secret_files, and the
// label of their HMACs, so that new replicas have them too and Deploy
// keeps the replicas that run.
func (s *Scaler) secrets(ctx context.Context, d *deploy.Deployment, c dockerapi.Container) error {
	if len(d.Spec.Secrets) == 0 && len(d.Spec.SecretFiles) == 0 {
		return nil
	}
	in, err := s.t.c.Inspect(ctx, c.ID)
	if err != nil {
		return err
	}
	d.SecretsHash = in.Labels[objects.LabelSecrets]
	d.SecretEnv = map[string]string{}
	for _, kv := range in.Env {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := d.Spec.Secrets[k]; ok {
			d.SecretEnv[k] = v
		}
	}
	for p := range d.Spec.SecretFiles {
		if host, ok := in.Binds[p]; ok {
			if d.SecretFiles == nil {
				d.SecretFiles = map[string]string{}
			}
			d.SecretFiles[p] = host
		}
	}
	return nil
}

// CPU returns how many replicas run, and the CPU use of each, in percent of
// one core, from the Engine's streaming stats (see CPUStreams).
func (s *Scaler) CPU(ctx context.Context, service string) (int, map[string]float64, error) {
	list, err := s.running(ctx, service)
	if err != nil {
		return 0, nil, err
	}
	out := map[string]float64{}
	for _, c := range list {
		if pct, ok := s.cpu.Latest(c.ID); ok {
			out[c.Name] = pct
		}
	}
	return len(list), out, nil
}

// Close ends the stats streams.
func (s *Scaler) Close() { s.cpu.Close() }

// CPUStreams keeps a stats stream open for each container asked about, and
// gives the latest frame's CPU figure, so asking does not wait: a container
// has a figure once its stream has had two frames (about 2 s).
type CPUStreams struct {
	c  *dockerapi.Client
	mu sync.Mutex
	m  map[string]*cpuStream // container ID → its stats stream
}

// NewCPUStreams returns the CPUStreams of the containers of c.
func NewCPUStreams(c *dockerapi.Client) *CPUStreams {
	return &CPUStreams{c: c, m: map[string]*cpuStream{}}
}

// Latest returns the container's latest CPU figure, opening its stream
// on the first call.
func (s *CPUStreams) Latest(id string) (float64, bool) {
	s.mu.Lock()
	st := s.m[id]
	if st == nil {
		ctx, cancel := context.WithCancel(context.Background())
		st = &cpuStream{cancel: cancel}
		s.m[id] = st
		go func() {
			s.c.StreamCPU(ctx, id, st.observe)
			s.mu.Lock()
			delete(s.m, id)
			s.mu.Unlock()
		}()
	}
	s.mu.Unlock()
	return st.latest()
}

// Close ends the streams.
func (s *CPUStreams) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.m {
		st.cancel()
	}
}

// cpuStream keeps the latest CPU figure of one container's stats stream.
type cpuStream struct {
	cancel context.CancelFunc
	mu     sync.Mutex
	pct    float64
	ok     bool
}

func (c *cpuStream) observe(f dockerapi.CPUFrame) {
	if pct, ok := f.Percent(); ok {
		c.mu.Lock()
		c.pct, c.ok = pct, true
		c.mu.Unlock()
	}
}

func (c *cpuStream) latest() (float64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pct, c.ok
}
