package deploy

import (
	"context"
	"io"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// A Target runs services and jobs somewhere: the local Docker Engine now,
// Swarm and Kubernetes later. Every object it creates carries the project,
// the rule and the config hash (the rule's key), so it can tell what it owns
// and whether it is current.
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
	// Logs streams the logs of the project's services (all when names is
	// empty), each line prefixed with the service name.
	Logs(ctx context.Context, project string, names []string, follow bool, out io.Writer) error
	// Replicas lists the containers of the service d.Spec.Name, with where
	// its http or tcp health check can reach each (see WaitHealthy).
	Replicas(ctx context.Context, d *Deployment) ([]Replica, error)
	// LastLines returns a container's last log lines, formatted to follow
	// an error message ("" when there are none).
	LastLines(ctx context.Context, container string) string
}

// A Deployment is what a Target needs to run one service or job.
type Deployment struct {
	Project string
	Spec    *ServiceSpec
	Job     bool
	Image   string        // the image reference to run
	Key     engine.Digest // the config hash
	Root    string        // workspace root, for relative bind mounts
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
	HealthError string    `json:"health_error,omitempty"`
	Ports       []string  `json:"ports,omitempty"`
	Image       string    `json:"image"`
	Started     time.Time `json:"started"`
	Restarts    int       `json:"restarts"`
	// Unadopted names the containers a stopped rollout left that are not
	// counted as replicas (see the docker target's rollout): the next
	// `ferry up` removes them.
	Unadopted []string `json:"unadopted,omitempty"`
}
