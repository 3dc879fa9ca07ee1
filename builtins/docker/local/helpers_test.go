package local

import (
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/docker/image"
	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
)

func TestMain(m *testing.M) { dockertest.Main(m) }

// A testWorkspace is a dockertest.Workspace evaluated with the image
// builtins.
type testWorkspace struct{ *dockertest.Workspace }

// newWorkspace writes files into a fresh workspace (see
// dockertest.NewWorkspace).
func newWorkspace(t testing.TB, docker *dockerapi.Client, files map[string]string) *testWorkspace {
	w := &testWorkspace{dockertest.NewWorkspace(t, docker, files)}
	w.Plugin = func(secrets *secret.Plugin) engine.Plugin { return w.images(secrets) }
	return w
}

// images returns a plugin of the image builtins, which label the images
// with the workspace's project.
func (w *testWorkspace) images(secrets image.SecretFinder) imagePlugin {
	c := w.Docker
	if c == nil {
		c = dockerapi.New()
	}
	return imagePlugin{c: c, project: w.Project, secrets: secrets}
}

// imagePlugin is a plugin of the image builtins, for an evaluation.
type imagePlugin struct {
	c       image.Client
	project string
	secrets image.SecretFinder
}

func (p imagePlugin) Builtins() []*engine.Builtin {
	return image.Builtins(p.c, p.project, p.secrets, nil)
}
