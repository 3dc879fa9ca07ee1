package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

// A portForwarder is a target that forwards local ports to the pods of a
// service (the kubernetes one).
type portForwarder interface {
	PortForward(ctx context.Context, project, service string, specs []string, declared deploy.Declared, log io.Writer) error
	// ForwardDeclared forwards the declared ports of every service of
	// project, as they come and go, until ctx ends.
	ForwardDeclared(ctx context.Context, project string, log io.Writer)
}

// forwardDeclared forwards the declared ports of the project's services
// on a Kubernetes environment until ctx ends (ferry watch), saying in the
// log which local port reaches which service.
func (a *app) forwardDeclared(ctx context.Context, project string) {
	pf, ok := a.deployPlugin.Target.(portForwarder)
	if !ok {
		return
	}
	log := a.bus.Output(func(line string) { a.bus.Logf(engine.LevelInfo, "%s", line) })
	defer log.Flush()
	pf.ForwardDeclared(ctx, project, log)
}

func (a *app) portForwardCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "port-forward SERVICE [[ADDRESS:]LOCAL:]REMOTE...",
		Short: "Forward local ports to a ready pod of a service on Kubernetes, until Ctrl-C",
		Long: `Forward each local port given to the port of a ready pod of SERVICE, in the Kubernetes
environment that --env names, as kubectl port-forward does: 8080:80 forwards local
port 8080 to port 80, :80 a free local port (said in the log), 80 the same port;
local ports listen on 127.0.0.1 unless an ADDRESS is given. Without ports, the
service's declared ports are forwarded, each from its host port in ports = [...]
(a free one when it has none). When the pod goes away (a rollout, ferry restart),
the same local ports are forwarded to another ready pod.

  ferry --env staging port-forward web
  ferry --env staging port-forward web 8080:80 :9090`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errors.New("name the service, then the ports, as in `ferry --env staging port-forward web 8080:80`")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			_, project, err := a.workspaceProject()
			if err != nil {
				return err
			}
			pf, ok := a.deployPlugin.Target.(portForwarder)
			if !ok {
				where := "no environment is selected"
				if a.env != "" {
					where = fmt.Sprintf("environment %s does not deploy to Kubernetes", a.env)
				}
				return fmt.Errorf("ferry port-forward reaches the pods of a Kubernetes environment, and %s: select one with --env NAME (locally, ports = [...] already publishes a service's ports on this machine)", where)
			}
			log := a.bus.Output(func(line string) { a.bus.Logf(engine.LevelInfo, "%s", line) })
			defer log.Flush()
			return pf.PortForward(cmd.Context(), project, args[0], args[1:], a.declared(cmd.Context()), log)
		},
	}
}
