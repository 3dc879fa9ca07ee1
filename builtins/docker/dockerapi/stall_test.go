package dockerapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi/enginetest"
)

// Against a fake Engine that stalls: every call ends at its deadline
// (FERRY_DOCKER_TIMEOUT, made small here) with an error that names the
// call and how long ferry waited.
func TestStalledEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", enginetest.Stalled(t, true))
	t.Setenv("FERRY_DOCKER_TIMEOUT", "200ms")
	// The test's own bound: without deadlines the calls would hang.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := New()
	for _, tc := range []struct {
		call func() error
		want string
	}{
		{func() error { _, err := c.Containers(ctx, map[string]string{"ferry.project": "p"}); return err }, "ContainerList within 200ms"},
		{func() error { _, err := c.ImageID(ctx, "app:1"); return err }, "ImageInspect within 200ms"},
		{func() error {
			_, err := c.CreateContainer(ctx, ContainerSpec{Name: "p-web-1", Image: "app:1"})
			return err
		}, "ContainerCreate within 600ms"},
		{func() error { return c.StartContainer(ctx, "abc") }, "ContainerStart within 600ms"},
		{func() error { return c.RemoveContainer(ctx, "abc") }, "ContainerInspect within 200ms"}, // the container's grace period, before its stop
		{func() error { return c.EnsureNetwork(ctx, "p_default", nil, false) }, "NetworkInspect within 200ms"},
		{func() error { return c.Logs(ctx, "abc", true, "", &strings.Builder{}) }, "ContainerLogs within 200ms"},
	} {
		err := tc.call()
		var se *StalledError
		want := "the Docker Engine at " + c.cli.DaemonHost() + " did not answer " + tc.want + ` (is it stalled? "docker info" tells; FERRY_DOCKER_TIMEOUT sets the deadline)`
		if !errors.As(err, &se) || err.Error() != want {
			t.Errorf("got %v\nwant %s", err, want)
		}
	}
}

// An Engine that does not even answer /_ping is unreachable, said within
// the deadline.
func TestSilentEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", enginetest.Stalled(t, false))
	t.Setenv("FERRY_DOCKER_TIMEOUT", "200ms")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := New().Containers(ctx, nil)
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "no answer within 200ms (is it running? is DOCKER_HOST right?)") {
		t.Errorf("got %v", err)
	}
}

func TestTimeoutSetting(t *testing.T) {
	t.Setenv("DOCKER_HOST", enginetest.Stalled(t, true))
	t.Setenv("FERRY_DOCKER_TIMEOUT", "soon")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := New().Containers(ctx, nil)
	if err == nil || err.Error() != `FERRY_DOCKER_TIMEOUT="soon": want a duration such as 10s or 1m (the deadline of a quick Docker Engine call; slower ones get 3 times as long)` {
		t.Errorf("got %v", err)
	}
}
