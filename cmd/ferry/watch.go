package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/dev"
	"github.com/ferryhq/ferry/engine/exporter"
	"github.com/ferryhq/ferry/engine/watch"
)

func (a *app) watchCommand() *cobra.Command {
	var wo watch.Options
	var keep bool
	var noView bool
	cmd := &cobra.Command{
		Use:     "watch [RULE...] [-- --flag=value...]",
		Aliases: []string{"dev"},
		Short:   "Run rules, then rerun them as their inputs change, until Ctrl-C",
		Long: `Run the named rules (every build rule, serve task, service and job when
none is named) as ferry run and ferry up do, then watch the workspace. After
each batch of changes, rerun the selected rules whose inputs changed and the
selected rules that depend on them; when ferry.star, a loaded module or a file
read while evaluating changes, evaluate again (on an error, keep the previous
rules and wait for the next save). A change to a rule the run in progress is
running interrupts that run and starts it again. Serve tasks (dev
servers) are restarted when their key changes, and stopped when the watch
ends. Images with live_update steps update their running containers in place
when only synced files changed; on exit, the services the watch started are
removed, unless --keep. A failing rule does not stop the watch. Rules declared
with trigger = "manual" run only when asked (ferry trigger RULE, or t in the
view). On a terminal, a status view shows each rule's state above the log
(--no-view for plain lines). See docs/watch.md and docs/live-update.md.`,
		Example: `  ferry watch
  ferry dev api --debounce 100ms`,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, flags, err := splitDash(cmd, args)
			if err != nil {
				return err
			}
			ws, project, err := engine.FindProject(a.dir, a.file, a.project)
			if err != nil {
				return err
			}
			// Evaluate again by absolute paths: the current folder may be
			// deleted and made anew (say by a branch switch) during a watch.
			a.dir, a.file = ws.Root, ws.File
			ctx, closeView := a.startView(cmd.Context(), noView, ws)
			err = a.watch(ctx, ws, project, names, flags, wo, keep)
			if closeView() {
				return nil // q in the view
			}
			return err
		},
	}
	cmd.Flags().DurationVar(&wo.Debounce, "debounce", 0, "run once no file has changed for `DURATION`; a lone save to one file goes after "+watch.DefaultQuick.String()+" (default: watch_settings() in ferry.star, or "+watch.DefaultDebounce.String()+")")
	cmd.Flags().BoolVar(&keep, "keep", false, "on exit, leave the services this watch started running")
	cmd.Flags().BoolVar(&noView, "no-view", false, "log lines instead of the status view on a terminal")
	cmd.Flags().DurationVar(&wo.MaxBatchAge, "max-batch-age", 0, "while files keep changing, run at least every `DURATION` (default: watch_settings(), or "+watch.DefaultMaxBatchAge.String()+")")
	a.addMetricsFlag(cmd)
	return cmd
}

// watch runs the dev loop on ws, of project, (see engine/dev) until ctx ends: the
// selected rules once, then after every batch of changes and trigger,
// holding the workspace lock. The services it deployed are removed when it
// ends, unless keep.
func (a *app) watch(ctx context.Context, ws *engine.Workspace, project string, names []string, flags map[string]string, wo watch.Options, keep bool) error {
	dev.LimitMemory()
	// ferry's own output, redirected to a file in the workspace, is no change.
	wo.Own = watch.OwnFiles(os.Stdout, os.Stderr, a.eventFile.File())
	loop := &dev.Loop{
		Root:  ws.Root,
		Names: names,
		Load: func(ctx context.Context) (*dev.Evaluation, error) {
			l, err := a.load(ctx, flags)
			if err != nil {
				return nil, err
			}
			return &dev.Evaluation{Workspace: l.Session.Workspace, Graph: l.Graph, Result: l.Result}, nil
		},
		Options: wo,
		Jobs:    a.jobs,
		Bus:     a.bus,
		Domain: &deploy.Dev{
			Bus:  a.bus,
			Keep: keep,
			// The target is known once ferry.star is evaluated.
			Follow: func(ctx context.Context) {
				d := a.deployer(ws, project)
				go d.ForwardDeclared(ctx)
				d.FollowEvents(ctx)
			},
			Autoscale: func(ctx context.Context, g *engine.Graph) {
				a.deployer(ws, project).Autoscale(ctx, g)
			},
		},
	}
	if v := a.view; v != nil {
		loop.Loaded = func(g *engine.Graph) { v.Show(g, names, loop) }
	}
	stopMetrics, err := exporter.Publish(ws, a.bus, a.metricsPort, loop.Kind)
	if err != nil {
		return err
	}
	defer stopMetrics()
	return loop.Run(ctx)
}
