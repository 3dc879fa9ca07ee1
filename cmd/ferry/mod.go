package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/mod"
)

// modOptions are the options of module resolution from the global flags.
func (a *app) modOptions() mod.Options {
	return mod.Options{Locked: a.locked, Log: func(format string, args ...any) { a.bus.Logf(engine.LevelInfo, format, args...) }}
}

// modules resolves the shared modules of the workspace's ferry.mod, for
// each evaluation.
func (a *app) modules(ctx context.Context, ws *engine.Workspace) (*engine.Modules, error) {
	return mod.Load(ctx, ws.Root, a.modOptions())
}

func (a *app) modCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mod",
		Short: "Manage the shared Starlark modules of ferry.mod and their pins in ferry.lock",
		Long: `ferry.mod lists the shared modules a workspace loads as @alias//file.star: git
repositories at a version (a semver tag or a commit), or local folders (override).
ferry.lock pins each module's commit and the hash of its files, and every load
verifies them. See docs/modules.md.`,
	}
	withRoot := func(use, short string, args cobra.PositionalArgs, run func(ctx context.Context, root string, args []string) error) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
			root, err := a.workspaceRoot()
			if err != nil {
				return err
			}
			return run(cmd.Context(), root, args)
		}}
	}
	cmd.AddCommand(
		withRoot("add ALIAS REPOSITORY[@VERSION]", "Add a module (at its newest semver tag when no version is given) and pin it", cobra.ExactArgs(2),
			func(ctx context.Context, root string, args []string) error {
				repo, version := mod.SplitVersion(args[1])
				v, err := mod.Add(ctx, root, args[0], repo, version, a.modOptions())
				if err == nil {
					fmt.Fprintf(a.stdout, "added @%s %s (load(\"@%s//file.star\", ...))\n", args[0], v, args[0])
				}
				return err
			}),
		withRoot("tidy", "Pin what ferry.mod requires in ferry.lock, and drop the pins of modules it no longer requires", cobra.NoArgs,
			func(ctx context.Context, root string, _ []string) error {
				_, err := mod.Tidy(ctx, root, a.modOptions())
				return err
			}),
		withRoot("update [ALIAS...]", "Move modules to their newest semver tag of the same major version", cobra.ArbitraryArgs,
			func(ctx context.Context, root string, args []string) error {
				ups, err := mod.Update(ctx, root, args, a.modOptions())
				for _, u := range ups {
					fmt.Fprintf(a.stdout, "@%s %s → %s\n", u.Alias, u.From, u.To)
				}
				if err == nil && len(ups) == 0 {
					fmt.Fprintln(a.stdout, "every module is at its newest version")
				}
				return err
			}),
		withRoot("download", "Fetch every module into the cache", cobra.NoArgs,
			func(ctx context.Context, root string, _ []string) error {
				g, err := mod.Resolve(ctx, root, a.modOptions())
				if err == nil {
					fmt.Fprintf(a.stdout, "%d modules in the cache\n", len(g.Nodes))
				}
				return err
			}),
		withRoot("vendor", "Copy the pinned modules into ferry_modules/ of the workspace", cobra.NoArgs,
			func(ctx context.Context, root string, _ []string) error {
				_, err := mod.Vendor(ctx, root, a.modOptions())
				return err
			}),
		withRoot("verify", "Check that every module's files have the hash ferry.lock pins", cobra.NoArgs,
			func(ctx context.Context, root string, _ []string) error {
				o := a.modOptions()
				o.Locked = true
				g, err := mod.Resolve(ctx, root, o)
				if err == nil {
					fmt.Fprintf(a.stdout, "the files of all %d modules have the hashes %s pins\n", len(g.Nodes), mod.LockFileName)
				}
				return err
			}),
		withRoot("graph", "Print the module graph: one requirement per line", cobra.NoArgs,
			func(ctx context.Context, root string, _ []string) error {
				g, err := mod.Resolve(ctx, root, a.modOptions())
				if err != nil {
					return err
				}
				return g.WriteGraph(a.stdout)
			}),
	)
	return cmd
}
