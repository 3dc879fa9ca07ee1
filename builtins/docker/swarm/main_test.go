package swarm

import (
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockertest"
)

func TestMain(m *testing.M) { dockertest.Main(m) }
