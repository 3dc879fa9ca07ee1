package main

import (
	"errors"

	"github.com/spf13/cobra"
)

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
			ws, project, err := a.workspaceProject()
			if err != nil {
				return err
			}
			return a.deployer(ws, project).PortForward(cmd.Context(), args[0], args[1:], a.declared(cmd.Context()))
		},
	}
}
