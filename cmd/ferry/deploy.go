package main

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/exporter"
)

// workspaceProject finds the workspace and readies the deploy target for
// its project, without evaluating ferry.star: down and status work even
// when it is broken. With --env it is evaluated, to find the environment's
// target. (logs, exec, and status showing health errors evaluate it to
// learn which secrets to hide: see redactDeclared.)
func (a *app) workspaceProject() (*engine.Workspace, string, error) {
	if a.env != "" {
		// Only ferry.star says which target the environment deploys to.
		l, err := a.load(context.Background(), nil)
		if err != nil {
			return nil, "", err
		}
		return l.Session.Workspace, l.Session.Project, nil
	}
	ws, project, err := engine.FindProject(a.dir, a.file, a.project)
	if err != nil {
		return nil, "", err
	}
	a.owner = deploy.OwnerOf(ws.Root)
	a.plugins(project)
	return ws, project, nil
}

// deployer returns the Deployer of the project on the selected
// environment's target.
func (a *app) deployer(ws *engine.Workspace, project string) *deploy.Deployer {
	return &deploy.Deployer{Target: a.deployPlugin.Target, Env: a.env, Project: project, Root: ws.Root, Bus: a.bus}
}

// defaultWaitTimeout is how long `ferry up --wait` waits for health.
const defaultWaitTimeout = 60 * time.Second

func (a *app) upCommand() *cobra.Command {
	var o engine.RunOptions
	var wait, follow bool
	var waitTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "up [SERVICE...] [-- --flag=value...]",
		Short: "Build what is needed and bring services and jobs to what ferry.star declares",
		Long: `Build the images and run the tasks the services need, then make the Docker Engine
match ferry.star: a service that is unchanged is left alone (same container, no restart), a
changed one is replaced (one replica at a time, each once healthy, when it has several),
replicas are added or removed, jobs run to completion once per
definition, and (when no SERVICE is named) services no longer declared are removed.
ferry up returns once everything is started; with --wait, once every service is healthy
(see docs/health.md); with --follow, it then reports crashes and restarts until Ctrl-C.
See ferry status and ferry logs --follow.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			if follow {
				stopMetrics, err := exporter.Publish(l.Session.Workspace, a.bus, a.metricsPort, l.Graph.Kind)
				if err != nil {
					return err
				}
				defer stopMetrics()
			}
			run := func(ctx context.Context, names []string, after func() error) error {
				_, err := l.RunThen(ctx, names, o, func(*engine.State) error { return after() })
				return err
			}
			err = a.deployer(l.Session.Workspace, l.Session.Project).Up(cmd.Context(), l.Graph, names, deploy.UpOptions{Wait: wait, WaitTimeout: waitTimeout, Follow: follow}, run)
			var bad *deploy.UnhealthyError
			if errors.As(err, &bad) {
				// The services were brought up but are not healthy: a
				// failure of what runs (1), not of ferry.star or of the
				// command line (2).
				return &exitCodeError{code: exitFailed, msg: err.Error()}
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&o.Force, "force", false, "run the selected rules even when up to date: tasks and jobs run again, images and services are checked against the Engine (an image with the same key is re-tagged, a current container kept)")
	cmd.Flags().BoolVarP(&o.KeepGoing, "keep-going", "k", false, "after a failure, go on with what does not depend on it")
	cmd.Flags().BoolVar(&wait, "wait", false, "return only once every service is healthy (running, without a health check); fail naming the service, its last probe errors and log lines otherwise")
	cmd.Flags().DurationVar(&waitTimeout, "wait-timeout", defaultWaitTimeout, "with --wait, how long to wait for health")
	cmd.Flags().BoolVar(&follow, "follow", false, "then stay, reporting crashes, Docker's restarts, crash loops and failing health checks, and running the autoscalers (docs/scaling.md), until Ctrl-C (see docs/services.md)")
	a.addMetricsFlag(cmd)
	return cmd
}

func (a *app) downCommand() *cobra.Command {
	var volumes, rmi bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Remove the containers and networks (and with --volumes, the volumes) this workspace owns",
		Long: `Remove exactly what this workspace's project owns in the Docker Engine: the containers
and networks labelled with its project, and its volumes with --volumes. Nothing else is
touched. ferry.star is not evaluated, so down works even when it is broken (with --env
it is: it says where the environment deploys).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, project, err := a.workspaceProject()
			if err != nil {
				return err
			}
			return engine.WithState(cmd.Context(), ws, a.bus, func(*engine.State) error {
				err := a.deployer(ws, project).Down(cmd.Context(), volumes)
				if err == nil && rmi {
					err = a.downImages(cmd.Context(), project)
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&volumes, "volumes", false, "also remove the project's named volumes (their data is lost)")
	cmd.Flags().BoolVar(&rmi, "rmi", false, "also remove the images this workspace's image rules built (not those a container still uses)")
	return cmd
}

func (a *app) statusCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the project's services: state, health, ports, image, uptime, restarts",
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, project, err := a.workspaceProject()
			if err != nil {
				return err
			}
			list, err := a.deployPlugin.Target.Status(cmd.Context(), project)
			if err != nil {
				return err
			}
			// A health error can quote what a container printed: it is
			// redacted whole here, since --json escapes its line breaks,
			// which would hide a value wrapped over its lines from the
			// redaction of stdout.
			if slices.ContainsFunc(list, func(s deploy.ServiceStatus) bool { return s.HealthError != "" }) {
				if err := a.redactDeclared(cmd.Context()); err != nil {
					return err
				}
				for i := range list {
					list[i].HealthError = a.redactor.String(list[i].HealthError)
				}
			}
			if asJSON {
				return deploy.WriteStatusJSON(a.stdout, list)
			}
			return deploy.WriteStatus(a.stdout, project, list, time.Now())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func (a *app) logsCommand() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs [SERVICE...]",
		Short: "Show the logs of the project's services, each line prefixed with its service and replica",
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, project, err := a.workspaceProject()
			if err != nil {
				return err
			}
			if err := a.redactDeclared(cmd.Context()); err != nil {
				return err
			}
			return a.deployer(ws, project).Logs(cmd.Context(), args, deploy.LogOptions{Follow: follow, Color: a.rawColor}, a.stdout)
		},
	}
	cmd.Flags().BoolVar(&follow, "follow", false, "keep following new output until Ctrl-C (also -f, after the command's name)")
	return cmd
}
