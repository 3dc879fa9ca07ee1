package main

// ferry exec, restart, prune, pull and push; and the images part of down --rmi.

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/console"
)

// declared evaluates ferry.star on demand and returns the kind of each of
// its services and jobs, to explain an unknown service.
func (a *app) declared(ctx context.Context) deploy.Declared {
	return deploy.DeclaredBy(func() (*engine.Graph, error) {
		l, err := a.load(ctx, nil)
		if err != nil {
			return nil, err
		}
		return l.Graph, nil
	})
}

func (a *app) execCommand() *cobra.Command {
	var o deploy.ExecRequest
	var noTTY bool
	cmd := &cobra.Command{
		Use:   "exec SERVICE [--replica N] -- COMMAND [ARG...]",
		Short: "Run a command in a running replica of a service",
		Long: `Run a command in a running container of SERVICE (replica 1 unless --replica says
otherwise), as docker compose exec does: its output and errors are ferry's, ferry's
standard input is its input, and its exit code is ferry's. When ferry's input and
output are a terminal, the command gets a terminal too (-T turns that off).
Images built FROM scratch have no shell: run a program the image contains.

  ferry exec web -- /app --version
  ferry exec --replica 2 web -- env`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || cmd.ArgsLenAtDash() == 0 {
				return errors.New("name the service, then the command after --, as in `ferry exec web -- ls /`")
			}
			if len(args) == 1 {
				return fmt.Errorf("no command given: put it after --, as in `ferry exec %s -- ls /`", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, project, err := a.workspaceProject()
			if err != nil {
				return err
			}
			if err := a.redactDeclared(cmd.Context()); err != nil {
				return err
			}
			if o.Replica < 1 {
				return fmt.Errorf("--replica %d: replicas are numbered from 1", o.Replica)
			}
			o.Service, o.Cmd, o.Declared = args[0], args[1:], a.declared(cmd.Context())
			o.Stdin, o.Stdout, o.Stderr = os.Stdin, a.stdout, a.stderr
			restore := func() {}
			if !noTTY && console.IsTerminal(os.Stdin) && console.IsTerminal(a.stdout) {
				out, _ := console.TerminalFile(a.stdout)
				restore, err = o.AttachTerminal(cmd.Context(), os.Stdin, out)
				if err != nil {
					return fmt.Errorf("%w (use -T to run without a terminal)", err)
				}
			}
			code, err := a.deployer(ws, project).Exec(cmd.Context(), o)
			restore()
			var se *dockerapi.ExecStartError
			if errors.As(err, &se) && code != 0 {
				// As docker exec does: 126 when the program could not start.
				return &exitCodeError{code: code, msg: err.Error()}
			}
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitCodeError{code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Replica, "replica", 1, "run in replica `N` of the service")
	f.BoolVarP(&noTTY, "no-tty", "T", false, "give the command no terminal, even when ferry has one")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "set an environment variable (`KEY=VALUE`) for the command; repeatable")
	f.StringVarP(&o.User, "user", "u", "", "run as `USER` (name or uid[:gid]) instead of the container's user")
	f.StringVarP(&o.WorkingDir, "workdir", "w", "", "run in folder `DIR` of the container")
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%v (put the command and its flags after --, as in `ferry exec web -- ls -la`)", err)
	})
	return cmd
}

func (a *app) restartCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "restart SERVICE...",
		Short: "Restart the containers of services, as docker compose restart does",
		Long: `Stop and start again every replica of each SERVICE, in the containers ferry up made
(a stopped replica is started). The definition is not read again: after changing
ferry.star, run ferry up. A replica that exits at once is reported with its last lines.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, project, err := a.workspaceProject()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return errors.New("name the services to restart, as in `ferry restart web`")
			}
			return engine.WithState(cmd.Context(), ws, a.bus, func(*engine.State) error {
				return a.deployer(ws, project).Restart(cmd.Context(), args, a.declared(cmd.Context()))
			})
		},
	}
}

func (a *app) pruneCommand() *cobra.Command {
	var keep int
	cmd := &cobra.Command{
		Use:   "prune [-- --flag=value...]",
		Short: "Remove old images built by this workspace's image rules, keeping the newest per repository",
		Long: `Remove the images that this workspace's image() rules built, beyond the newest --keep
in each repository (by creation time). Never removed: an image that any container uses,
running or not; the image of each rule's last successful build; and any image ferry did
not build (one without ferry's key label and key tag). An old image that also has a tag
ferry did not give it loses only ferry's tags.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if keep < 0 {
				return fmt.Errorf("--keep %d: give 0 or more", keep)
			}
			_, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			if !a.images().Declared(l.Graph) {
				a.bus.Logf(engine.LevelInfo, "ferry.star declares no image rule: nothing to prune")
				return nil
			}
			return engine.WithState(cmd.Context(), l.Session.Workspace, a.bus, func(st *engine.State) error {
				res, err := a.images().Prune(cmd.Context(), l.Session.Project, l.Graph, st, keep)
				res.Log(a.bus.Logf, fmt.Sprintf("no image to remove: each repository has at most %d image(s) built by this workspace beyond those in use", keep))
				return err
			})
		},
	}
	cmd.Flags().IntVar(&keep, "keep", 3, "keep the newest `N` images of each repository")
	return cmd
}

// images carries out the image commands on the workspace's images.
func (a *app) images() docker.Images { return docker.Images{Client: a.docker, Owner: a.owner} }

// downImages removes every image that this workspace's image rules built
// (ferry down --rmi), except those a container uses. It does not evaluate
// ferry.star: the images carry the project's label.
func (a *app) downImages(ctx context.Context, project string) error {
	res, err := a.images().PruneAll(ctx, project)
	res.Log(a.bus.Logf, "no image built by this workspace is in the Docker Engine")
	return err
}

func (a *app) pullCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "pull [SERVICE...] [-- --flag=value...]",
		Short: "Pull the registry images of services and jobs, as docker compose pull does",
		Long: `Pull from its registry the image of each named service or job (every one that names a
registry image when none is named; never one with pull = "never"), with the credentials
docker login stored, and say the digest each resolved to. What runs is left alone: the
next ferry up replaces the replicas that run an older digest. See docs/registries.md.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			sel, err := deploy.SelectPull(l.Graph, names)
			if err != nil {
				return err
			}
			if len(sel) == 0 {
				a.bus.Logf(engine.LevelInfo, "no service or job names a registry image: nothing to pull")
				return nil
			}
			res, err := deploy.Pull(cmd.Context(), sel, a.bus)
			for _, r := range res {
				if msg := r.Message(); msg != "" {
					a.bus.Logf(engine.LevelInfo, "%s", msg)
				}
			}
			return err
		},
	}
}

func (a *app) pushCommand() *cobra.Command {
	var o engine.RunOptions
	cmd := &cobra.Command{
		Use:   "push [IMAGE...] [-- --flag=value...]",
		Short: "Build what is needed and push images to the registries their repositories name",
		Long: `Build the named image rules (those with push = True when none is named) if they are
out of date, then push each one's repo:<key> tag and extra tags to the registry its
repository names, such as 127.0.0.1:5000/acme/api. Pushing is idempotent: layers the
registry has are not sent again, so ferry push always pushes.

Credentials are those docker login stored, found as the Docker CLI finds them: the
"auths" of ~/.docker/config.json (or $DOCKER_CONFIG/config.json), or the credential
helpers its "credHelpers" and "credsStore" name. A registry on loopback (127.0.0.0/8)
may speak plain HTTP. See docs/registries.md.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			return a.images().Push(cmd.Context(), l, names, o, a.bus)
		},
	}
	cmd.Flags().BoolVar(&o.Force, "force", false, "rebuild the images even when they are up to date")
	return cmd
}
