package local

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// Against the real Engine: a port written without a host address is
// published on loopback only; one written on the unspecified address is
// published everywhere, as written.
func TestPortsPublishOnLoopbackByDefault(t *testing.T) {
	t.Parallel()
	f := newRolloutFixture(t)
	ctx := context.Background()
	var ports []deploy.Port
	for _, s := range []string{"8080", "[::ffff:0.0.0.0]::8080"} {
		p, err := deploy.ParsePort(s)
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
	}
	d := f.deployment(1, 1, nil, ports...)
	if err := f.target.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	list, err := f.target.ruleContainers(ctx, f.project, "web")
	if err != nil || len(list) != 1 {
		t.Fatalf("containers: %v, %v", list, err)
	}
	details, err := f.target.c.Inspect(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]int{}
	for _, b := range details.Ports["8080/tcp"] {
		ips[b.IP] = b.Port
	}
	if len(ips) != 2 || ips["127.0.0.1"] == 0 || ips["0.0.0.0"] == 0 {
		t.Fatalf("8080/tcp is published on %v; want 127.0.0.1 (no address written) and 0.0.0.0 (written)", details.Ports["8080/tcp"])
	}
	// What is published on loopback answers there, once the server listens.
	url := fmt.Sprintf("http://127.0.0.1:%d/", ips["127.0.0.1"])
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := get(ctx, url)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
