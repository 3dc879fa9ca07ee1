// Package docker provides ferry's Docker builtins: image() builds an image
// with the Docker Engine's classic builder, keyed on its context, Dockerfile,
// build arguments and base images, and is rebuilt only when that key
// changes or the image was removed from the Engine.
//
// All Docker Engine calls go through the Client interface; the dockerapi
// package implements it with the Docker SDK.
package docker

import (
	"context"
	"io"
	"sync"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine"
)

// Client is what the Docker rules need from the Docker Engine.
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
	LabelKey     = "ferry.key"     // the full hex key the image was built for
	LabelRule    = "ferry.rule"    // the name of the image rule
	LabelProject = "ferry.project" // the workspace folder's name
)

// Plugin is the Docker domain.
type Plugin struct {
	// Client is the Docker Engine client the rules use. When nil, one
	// configured from the environment (DOCKER_HOST…) is made for each
	// evaluation; it connects when a rule first needs the Engine, so a
	// workspace without Docker rules never touches it.
	Client Client
	// Project labels the images built (ferry.project), as the containers
	// of the same workspace are; the workspace folder's name when empty.
	Project string
	// Secrets recognises secret values among what docker.inspect reads
	// back from the Engine, and in the files of a build context; without
	// it, docker.inspect fails and build contexts are not scanned.
	Secrets SecretFinder
}

// Builtins returns the Docker builtins. Each call returns fresh builtins
// whose rules share one Engine client and know each other (an image may be
// the base of another), so call it once per evaluation, as engine.Evaluate
// does.
func (p Plugin) Builtins() []*engine.Builtin {
	eng := p.Client
	if eng == nil {
		eng = dockerapi.New()
	}
	return append(liveUpdateBuiltins(), imageBuiltin(eng, &catalog{project: p.Project, secrets: p.Secrets}), p.inspectBuiltin())
}

// A catalog holds the image rules of one evaluation, so that a Dockerfile's
// FROM can be matched with the image() rule that builds it.
type catalog struct {
	project string
	secrets SecretFinder // nil: build contexts are not scanned

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
