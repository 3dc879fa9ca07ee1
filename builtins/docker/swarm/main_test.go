package swarm

import (
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/internal/dockertest"
)

func TestMain(m *testing.M) { dockertest.Main(m) }
