package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi/enginetest"
)

// A stalled Docker Engine: ferry up and ferry status end with an error
// that names the call the Engine did not answer and how long ferry waited,
// instead of hanging.
func TestStalledEngineUpStatus(t *testing.T) {
	host := enginetest.Stalled(t, true)
	ws := newWorkspace(t, map[string]string{"ferry.star": `service(name = "web", image = "ferrytest/stalled:1")` + "\n"})
	for _, args := range [][]string{{"up", "ImageInspect"}, {"status", "ContainerList"}} {
		cmd := exec.Command(ferryBin, args[0])
		cmd.Dir = ws.dir
		cmd.Env = append(os.Environ(), "NO_COLOR=1", "DOCKER_HOST="+host, "FERRY_DOCKER_TIMEOUT=300ms")
		r := startCmd(t, cmd).wait(t)
		want := "the Docker Engine at " + host + " did not answer " + args[1] + " within 300ms (is it stalled?"
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("ferry %s: want a failure saying %q, got:\n%s", args[0], want, r)
		}
	}
}
