package image

import (
	"context"
	"io"
	"sync"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// Client is what the image rules need from the Docker Engine.
// *dockerapi.Client implements it.
type Client interface {
	// Ping checks that the Engine answers.
	Ping(ctx context.Context) error
	// ImageID returns the ID of the local image ref names, or "" when there
	// is none. It never pulls.
	ImageID(ctx context.Context, ref string) (string, error)
	// ImagesByLabel lists, in one call, the images labelled key=value.
	ImagesByLabel(ctx context.Context, key, value string) ([]dockerapi.Image, error)
	buildKitClient
	// Build builds an image with the classic builder from a tar stream of
	// its context, writes the build's output to out and returns the image's
	// ID; a failed build is a *dockerapi.BuildError.
	Build(ctx context.Context, tarStream io.Reader, o dockerapi.BuildOptions, out io.Writer) (string, error)
	// Tag makes ref point at the image id.
	Tag(ctx context.Context, id, ref string) error
	// Remove removes an image by reference or ID; a missing one is no error.
	Remove(ctx context.Context, ref string) error
	// PullClient pulls the base images the Engine lacks (see PullImage).
	PullClient
	liveClient
}

// Labels that ferry puts on every image it builds.
const (
	LabelKey = "ferry.key" // the full hex key the image was built for
	// and objects.LabelRule, the name of the image rule, and
	// objects.LabelProject, the workspace folder's name.
)

// SecretFinder recognises secret values among what the Engine tells of a
// container, so that they reach Starlark as secrets, never as strings.
// *secret.Plugin implements it.
type SecretFinder interface {
	engine.SecretFinder
	// Wrap returns a secret named name standing for value.
	Wrap(name, value, from string) engine.Secret
	// Matcher finds the values of the secrets that ferry has read so
	// far; it is nil when there are none.
	Matcher() *redact.Matcher
}

// Builtins returns the image builtins: image() and the live update
// steps. Each call returns fresh builtins whose rules share the Engine
// client c and know each other (an image may be the base of another), so
// call it once per evaluation. The images built are labelled with project
// (objects.LabelProject); secrets, when not nil, finds the secret values
// among the files of a build context; target, when not nil, returns the
// deploy target selected when a live update runs, whose replicas it
// updates when the target is a deploy.LiveUpdater.
func Builtins(c Client, project string, secrets SecretFinder, target func() deploy.Target) []*engine.Builtin {
	return append(liveUpdateBuiltins(), imageBuiltin(c, &catalog{project: project, secrets: secrets, target: target}))
}

// A catalog holds the image rules of one evaluation, so that a Dockerfile's
// FROM can be matched with the image() rule that builds it.
type catalog struct {
	project string
	secrets SecretFinder // nil: build contexts are not scanned
	target  func() deploy.Target

	mu     sync.Mutex
	images []*Image
}

func (c *catalog) add(i *Image) {
	c.mu.Lock()
	c.images = append(c.images, i)
	c.mu.Unlock()
}

func (c *catalog) all() []*Image {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Image{}, c.images...)
}
