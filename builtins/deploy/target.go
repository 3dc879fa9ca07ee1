package deploy

import (
	"context"
	"io"
	"time"

	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/builtins/scale"
	"github.com/ferryhq/ferry/engine"
)

// A Target runs services and jobs somewhere: the local Docker Engine or
// Docker Swarm (see the docker package), Kubernetes later. Every object it
// creates carries the project, the rule and the config hash (the rule's
// key), so it can tell what it owns and whether it is current.
//
// The interface holds what every target does; what only some can do is
// an optional capability, an interface of its own that a Deployer finds
// by type assertion: Follower, Scaling, Logger, Execer, Restarter,
// SecretHolder, DeployedRemover, Owned, SpecChecker and LiveUpdater. Each target
// converts a Deployment into its own objects (containers, Swarm services)
// in one place, from which every path that makes them starts.
type Target interface {
	// Current reports whether the service or job d.Spec.Name runs (or, for a
	// job, has completed successfully) as declared with config hash d.Key;
	// if not, reason says what differs.
	Current(ctx context.Context, d *Deployment) (ok bool, reason string, err error)
	// Deploy makes the service run as declared, replacing what differs.
	Deploy(ctx context.Context, d *Deployment, log io.Writer) error
	// RunJob runs the job to completion; a non-zero exit is an error.
	RunJob(ctx context.Context, d *Deployment, log io.Writer) error
	// RemoveExcept removes the project's services and jobs not named in keep.
	RemoveExcept(ctx context.Context, project string, keep []string) ([]string, error)
	// Down removes everything the project owns (volumes too, if asked).
	Down(ctx context.Context, project string, volumes bool) ([]string, error)
	// Status describes the project's services.
	Status(ctx context.Context, project string) ([]ServiceStatus, error)
	// Replicas lists the containers of the service d.Spec.Name, with where
	// its http or tcp health check can reach each (see WaitHealthy).
	Replicas(ctx context.Context, d *Deployment) ([]Replica, error)
	// LastLines returns a container's last log lines, formatted to follow
	// an error message ("" when there are none).
	LastLines(ctx context.Context, container string) string
}

// A Logger is a Target that shows what the project's services print.
type Logger interface {
	// Logs streams the logs of the project's services (all when names is
	// empty), each line prefixed with the service name.
	Logs(ctx context.Context, project string, names []string, o LogOptions, out io.Writer) error
}

// LogOptions says how a Logger shows logs.
type LogOptions struct {
	Follow bool // go on with new lines until the context ends
	// Color keeps the colour sequences (SGR) of the lines; other control
	// characters are shown escaped all the same (see engine.Printable).
	Color bool
}

// A Scaling is a Target whose services can be autoscaled (see the scale
// package).
type Scaling interface {
	// NewScaler returns the Scaler of project's services, whose specs
	// are given by name; root is the workspace root and log receives what
	// the target says as it adds and removes replicas. Close it when done.
	NewScaler(project, root string, specs map[string]*ServiceSpec, log io.Writer) Scaler
}

// A Scaler is what a Scaling target's autoscaler drives.
type Scaler interface {
	scale.Scaler
	// Close ends what the Scaler keeps open (statistics streams).
	Close()
}

// An Execer is a Target that runs a command in a running replica.
type Execer interface {
	// Exec runs r's command and returns its exit code.
	Exec(ctx context.Context, r ExecRequest) (int, error)
}

// A Restarter is a Target that restarts the replicas of services in
// place, without reading their definition again.
type Restarter interface {
	// Restart restarts every replica of each service named, reporting
	// each to log; declared explains a name that runs nothing.
	Restart(ctx context.Context, project string, services []string, declared Declared, log io.Writer) error
}

// A SecretHolder is a Target that can read back the secret values its
// containers hold, which differ from the current ones after a rotation,
// so that output showing them is redacted too.
type SecretHolder interface {
	// HeldSecrets calls learn with each secret value that the replicas
	// of r hold, by secret name.
	HeldSecrets(ctx context.Context, r *Rule, learn func(name, value string)) error
}

// A DeployedRemover is a Target that remembers the services it deployed
// (started or replaced) in this process, and removes them: `ferry watch`
// removes what it started when it ends.
type DeployedRemover interface {
	RemoveDeployed(ctx context.Context, project string) ([]string, error)
}

// An Owned is a Target that labels what it creates with the workspace
// that owns it, and refuses to touch another workspace's objects.
type Owned interface {
	Own(o Owner)
}

// Declared tells what ferry.star declares: the kind ("service" or "job")
// of each of its deploy rules, by name. Targets call it only to explain
// an error; an error from it means ferry.star could not be evaluated.
type Declared func() (map[string]string, error)

// An ExecRequest says where to run a command, and how (see Execer).
type ExecRequest struct {
	Project  string
	Service  string
	Replica  int // 1 when 0
	Declared Declared
	Cmd      []string
	Env      []string // KEY=VALUE
	User     string
	// WorkingDir is the folder to run in, "" for the container's own.
	WorkingDir string
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	// TTY gives the command a terminal of Size, resized as Resize says.
	TTY    bool
	Size   TermSize
	Resize <-chan TermSize
}

// A TermSize is the size of a terminal, in characters.
type TermSize struct {
	Height, Width uint
}

// An ImagePuller is a Target that pulls the images services and jobs
// name from their registries.
type ImagePuller interface {
	// PullImage makes the image ref present in the target as policy
	// (PullMissing, PullAlways or PullNever) says, reporting a pull's
	// progress to progress, and says what ref resolved to.
	PullImage(ctx context.Context, ref, policy string, progress func(engine.PullState)) (ResolvedImage, error)
	// LocalImage says what ref resolves to in the target now, without
	// asking a registry; ok is false when the target lacks it.
	LocalImage(ctx context.Context, ref string) (r ResolvedImage, ok bool, err error)
}

// A ResolvedImage is what an image reference named when a target
// resolved it.
type ResolvedImage struct {
	ID string // the image's ID in the target
	// Digest is the repo@sha256:… reference of the manifest the image
	// was pulled as; "" for an image that came from no registry (built
	// or loaded where it runs).
	Digest string
	// Pulled says that a pull brought an image the target did not have.
	Pulled bool
}

// The pull policies of service() and job().
const (
	PullMissing = "missing" // pull when the target lacks the image
	PullAlways  = "always"  // pull on every `ferry up`; replace what runs when the digest changed
	PullNever   = "never"   // never pull: the image must be there
)

// A Deployment is what a Target needs to run one service or job.
type Deployment struct {
	Project string
	Spec    *ServiceSpec
	Job     bool
	Pos     syntax.Position // where ferry.star declares the service or job, for messages
	Image   string          // the image reference to run
	Key     engine.Digest   // the config hash
	// Pull is the pull policy of Image, "" when nothing is left to pull:
	// an image() rule of the workspace builds it, or it is Resolved.
	Pull string
	// Digest is the repo@sha256:… reference of the registry image that
	// runs (see Resolved), "" when none is known.
	Digest string
	Root   string // workspace root, for relative bind mounts
	// Secrets, read when the rule runs (empty when only observed): the
	// secret environment variables, the host files to bind-mount
	// read-only (by container path), and an HMAC of their values for a
	// label, so that a container of older values is replaced.
	SecretEnv   map[string]string
	SecretFiles map[string]string
	SecretsHash string
	// SecretFileValues holds, by container path, the values of
	// secret_files for a target that stores them itself (Swarm secrets)
	// instead of bind-mounting host files.
	SecretFileValues map[string]SecretFileValue
}

// Resolved returns d to run the image r: with its digest, and a config
// hash that covers it, so that what runs another digest is replaced. An
// image that came from no registry leaves the config hash as it is.
func (d *Deployment) Resolved(r ResolvedImage) *Deployment {
	c := *d
	c.Pull = ""
	if r.Digest == "" {
		return &c
	}
	c.Digest = r.Digest
	c.Key = engine.NewHasher().String(d.Key.String()).String("image digest").String(r.Digest).Sum()
	return &c
}

// A SecretFileValue is a secret file's content and the HMAC of it under
// the workspace's secret key (hex), to name it by.
type SecretFileValue struct {
	Value string
	HMAC  string
}

// ServiceStatus is one row of `ferry status`.
type ServiceStatus struct {
	Name     string `json:"name"`
	Replicas int    `json:"replicas"` // running
	Desired  int    `json:"containers"`
	State    string `json:"state"` // running, exited, restarting, completed, failed (exit N)
	Health   string `json:"health,omitempty"`
	// HealthError says why a replica is not healthy: its last probe error,
	// or what its last failed exec check printed.
	HealthError string   `json:"health_error,omitempty"`
	Ports       []string `json:"ports,omitempty"`
	Image       string   `json:"image"`
	// Digest is the repo@sha256:… reference of the registry image the
	// replicas run, when ferry pulled it or found it pulled.
	Digest   string    `json:"digest,omitempty"`
	Started  time.Time `json:"started"`
	Restarts int       `json:"restarts"`
	// Unadopted names the containers a stopped rollout left that are not
	// counted as replicas (see the docker target's rollout): the next
	// `ferry up` removes them.
	Unadopted []string `json:"unadopted,omitempty"`
	// Scaling says what scales an autoscaled service, where the target
	// can tell ("" otherwise).
	Scaling string `json:"scaling,omitempty"`
}

// HeldSecrets learns the secret values that the containers of r hold,
// when r is a service or job whose target can say (see SecretHolder); it
// is the held function of secret.RevealDeclared.
func HeldSecrets(ctx context.Context, r engine.Rule, learn func(name, value string)) error {
	if dr, ok := r.(*Rule); ok {
		if t, ok := dr.Target().(SecretHolder); ok {
			return t.HeldSecrets(ctx, dr, learn)
		}
	}
	return nil
}
