package docker

import (
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/docker/image"
	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
)

func TestMain(m *testing.M) { dockertest.Main(m) }

// A testWorkspace is a dockertest.Workspace evaluated with the Docker
// plugin.
type testWorkspace struct{ *dockertest.Workspace }

// newWorkspace writes files into a fresh workspace (see
// dockertest.NewWorkspace).
func newWorkspace(t testing.TB, docker *dockerapi.Client, files map[string]string) *testWorkspace {
	w := &testWorkspace{dockertest.NewWorkspace(t, docker, files)}
	w.Plugin = func(secrets *secret.Plugin) engine.Plugin { return Plugin{Client: w.client(), Secrets: secrets} }
	return w
}

// client is the workspace's Engine client, nil (for Plugin to make one)
// without an Engine.
func (w *testWorkspace) client() image.Client {
	if w.Docker == nil {
		return nil
	}
	return w.Docker
}
