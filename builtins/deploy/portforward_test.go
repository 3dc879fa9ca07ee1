package deploy

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// forwarder is a PortForwarder that says what it was asked.
type forwarder struct{ Target }

func (forwarder) PortForward(_ context.Context, project, service string, specs []string, _ Declared, log io.Writer) error {
	fmt.Fprintf(log, "forward %s/%s %v\n", project, service, specs)
	return nil
}

func (forwarder) ForwardDeclared(_ context.Context, project string, log io.Writer) {
	fmt.Fprintf(log, "forward declared of %s\n", project)
}

func TestPortForward(t *testing.T) {
	var lines []string
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) {
		if e.Text != "" {
			lines = append(lines, e.Text)
		}
	}))
	d := &Deployer{Target: forwarder{}, Env: "staging", Project: "shop", Bus: bus}
	if err := d.PortForward(context.Background(), "web", []string{"8080:80"}, nil); err != nil {
		t.Fatal(err)
	}
	d.ForwardDeclared(context.Background())
	if got, want := strings.Join(lines, "|"), "forward shop/web [8080:80]|forward declared of shop"; got != want {
		t.Errorf("logged %q, want %q", got, want)
	}

	lines = nil
	local := &Deployer{Target: &fakeTarget{}, Project: "shop", Bus: bus}
	local.ForwardDeclared(context.Background())
	if len(lines) != 0 {
		t.Errorf("a target that cannot forward logged %q", lines)
	}
	for env, want := range map[string]string{
		"":      "and no environment is selected: select one with --env NAME",
		"swarm": "and environment swarm does not deploy to Kubernetes: select one with --env NAME",
	} {
		local.Env = env
		err := local.PortForward(context.Background(), "web", nil, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("env %q: error %v, want one saying %q", env, err, want)
		}
	}
}
