package image

import (
	"context"
	"io"
	"sync/atomic"
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
)

func TestMain(m *testing.M) { dockertest.Main(m) }

// A testWorkspace is a dockertest.Workspace evaluated with the image
// builtins, which reach the Engine through eng.
type testWorkspace struct {
	*dockertest.Workspace
	eng *countingEngine // nil without an Engine
}

// newWorkspace writes files into a fresh workspace, whose image builtins
// reach docker through a countingEngine (see dockertest.NewWorkspace).
func newWorkspace(t testing.TB, docker *dockerapi.Client, files map[string]string) *testWorkspace {
	w := &testWorkspace{Workspace: dockertest.NewWorkspace(t, docker, files)}
	if docker != nil {
		w.eng = &countingEngine{Client: docker}
	}
	w.Plugin = func(secrets *secret.Plugin) engine.Plugin {
		var c Client = dockerapi.New()
		if w.eng != nil {
			c = w.eng
		}
		return builtins{c: c, secrets: secrets}
	}
	return w
}

// builtins is a plugin of the image builtins, for an evaluation.
type builtins struct {
	c       Client
	secrets SecretFinder
}

func (b builtins) Builtins() []*engine.Builtin { return Builtins(b.c, "", b.secrets, nil) }

// countingEngine counts the builds and tags it passes on.
type countingEngine struct {
	Client
	builds, tags atomic.Int32
}

func (c *countingEngine) Build(ctx context.Context, r io.Reader, o dockerapi.BuildOptions, out io.Writer) (string, error) {
	c.builds.Add(1)
	return c.Client.Build(ctx, r, o, out)
}

func (c *countingEngine) BuildWithBuildKit(ctx context.Context, o dockerapi.BuildKitOptions, out io.Writer) (string, error) {
	c.builds.Add(1)
	return c.Client.BuildWithBuildKit(ctx, o, out)
}

func (c *countingEngine) Tag(ctx context.Context, id, ref string) error {
	c.tags.Add(1)
	return c.Client.Tag(ctx, id, ref)
}
