package deploy

import (
	"context"
	"fmt"
	"io"

	"github.com/ferryhq/ferry/engine"
)

// A PortForwarder is a Target that forwards local ports to the replicas of
// a service, as `kubectl port-forward` does (the Kubernetes target; the
// local Engine publishes ports itself).
type PortForwarder interface {
	// PortForward forwards the local ports of specs ("[[ADDRESS:]LOCAL:]REMOTE",
	// the declared ports when there are none) to a ready replica of
	// service until ctx ends, saying each forward in log; declared
	// explains a service that is not running.
	PortForward(ctx context.Context, project, service string, specs []string, declared Declared, log io.Writer) error
	// ForwardDeclared forwards the declared ports of every service of
	// project, as they come and go, until ctx ends.
	ForwardDeclared(ctx context.Context, project string, log io.Writer)
}

// PortForward forwards local ports to a ready replica of service (`ferry
// port-forward`), when the environment's target is a PortForwarder.
func (d *Deployer) PortForward(ctx context.Context, service string, specs []string, declared Declared) error {
	pf, ok := d.Target.(PortForwarder)
	if !ok {
		where := "no environment is selected"
		if d.Env != "" {
			where = fmt.Sprintf("environment %s does not deploy to Kubernetes", d.Env)
		}
		return fmt.Errorf("ferry port-forward reaches the pods of a Kubernetes environment, and %s: select one with --env NAME (locally, ports = [...] already publishes a service's ports on this machine)", where)
	}
	log := d.Bus.Output(func(line string) { d.Bus.Logf(engine.LevelInfo, "%s", line) })
	defer log.Flush()
	return pf.PortForward(ctx, d.Project, service, specs, declared, log)
}

// ForwardDeclared forwards the declared ports of the project's services
// until ctx ends (`ferry watch`), when the target is a PortForwarder,
// saying in the log which local port reaches which service; on other
// targets it returns at once.
func (d *Deployer) ForwardDeclared(ctx context.Context) {
	pf, ok := d.Target.(PortForwarder)
	if !ok {
		return
	}
	log := d.Bus.Output(func(line string) { d.Bus.Logf(engine.LevelInfo, "%s", line) })
	defer log.Flush()
	pf.ForwardDeclared(ctx, d.Project, log)
}
