package deploy

import (
	"context"
	"errors"
	"io"
)

// A LiveUpdater is a Target whose running replicas `ferry watch` can
// update in place: the live_update steps of an image() rule copy the
// changed files into them and run commands there, instead of a rebuild,
// push and rollout. The image rule finds the capability on the selected
// target by type assertion; without it, the rule updates the containers
// of the local Docker Engine itself.
type LiveUpdater interface {
	// LiveReplicas lists the running replicas of the project's services
	// that run img; none is no error.
	LiveReplicas(ctx context.Context, project string, img LiveImage) ([]LiveReplica, error)
}

// A LiveImage names the image whose replicas a live update updates, by
// every reference it is known by.
type LiveImage struct {
	ID  string // the local image's ID
	Ref string // the reference the image() rule gave it (repo:key)
	// RepoDigests are the repo@sha256:… references it was pushed as.
	RepoDigests []string
}

// A LiveReplica is one running replica that a live update updates.
type LiveReplica interface {
	// ID tells replicas apart for as long as they live (a pod's UID).
	ID() string
	// Name names the replica in messages.
	Name() string
	// Service is the service it is a replica of.
	Service() string
	// Image is the image reference it runs, for messages.
	Image() string
	// Extract extracts tarStream at / in the replica; an error wrapping
	// ErrNoTar when its image cannot extract one.
	Extract(ctx context.Context, tarStream io.Reader) error
	// Exec runs argv in the replica and returns its exit code; an error
	// wrapping ErrNoProgram when the image has no argv[0].
	Exec(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error)
	// Signal sends a signal (its name without SIG) to the replica's main
	// process; Restart restarts the replica keeping its files. Either
	// returns an error wrapping ErrLiveUnsupported when the target cannot.
	Signal(ctx context.Context, signal string) error
	Restart(ctx context.Context) error
}

var (
	// ErrNoTar says that a replica's image has no tar to extract the
	// synced files with.
	ErrNoTar = errors.New("no tar program")
	// ErrNoProgram says that a replica's image lacks the program to run.
	ErrNoProgram = errors.New("no such program")
	// ErrLiveUnsupported says that a target cannot do a live_update step
	// in place, so the image is rebuilt and rolled out instead.
	ErrLiveUnsupported = errors.New("not possible in place on this target")
)
