package local

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
)

// Against the real Engine: the containers the target creates carry
// privileged and network_mode, and one on the host's network stack (or on
// none) joins no project network. They are created, not started: an Engine
// that itself lacks capabilities (rootless, nested) cannot start a
// privileged container.
func TestContainerPrivilegedAndNetworkMode(t *testing.T) {
	t.Parallel()
	c := dockertest.NeedDocker(t)
	image := serverImage(t)
	target := NewTarget(c, nil)
	project := "ferrytest-" + dockertest.RandomHex(t)
	ctx := context.Background()
	t.Cleanup(func() { target.Down(context.Background(), project, true) })
	const format = "{{.HostConfig.Privileged}} {{.HostConfig.NetworkMode}} {{range $n, $e := .NetworkSettings.Networks}}{{$n}}{{$e.Aliases}}{{end}}"
	for _, tc := range []struct {
		spec deploy.ServiceSpec
		want string
	}{
		{deploy.ServiceSpec{Name: "priv", Privileged: true}, "true " + NetworkName(project) + " " + NetworkName(project) + "[priv]"},
		{deploy.ServiceSpec{Name: "hostnet", NetworkMode: "host"}, "false host host[]"},
		{deploy.ServiceSpec{Name: "isolated", NetworkMode: "none"}, "false none none[]"},
		{deploy.ServiceSpec{Name: "plain"}, "false " + NetworkName(project) + " " + NetworkName(project) + "[plain]"},
	} {
		tc.spec.Restart = "no"
		d := &deploy.Deployment{Project: project, Image: image, Spec: &tc.spec}
		if err := target.prepare(ctx, d); err != nil {
			t.Fatal(err)
		}
		cs := target.containerSpec(d, 1)
		id, err := c.CreateContainer(ctx, cs)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec.Name, err)
		}
		out, err := exec.Command("docker", "inspect", "-f", format, id).CombinedOutput()
		if err != nil {
			t.Fatalf("docker inspect: %v: %s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.spec.Name, got, tc.want)
		}
	}

	// Started: it runs, or, on an Engine that cannot grant every
	// capability, the error says why.
	d := &deploy.Deployment{Project: project, Image: image, Spec: &deploy.ServiceSpec{Name: "priv2", Restart: "no", Privileged: true}}
	if _, err := target.makeReplica(ctx, d, 1, replicaName(d, 1)); err != nil && !strings.Contains(err.Error(), "privileged = True asks for every capability") {
		t.Errorf("starting a privileged container: %v", err)
	}
}
