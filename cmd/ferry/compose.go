package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/deploy/compose"
	"github.com/ferryhq/ferry/engine"
)

// importCommand is `ferry import compose`; exportCommand `ferry export
// compose`. The translation is the compose package's.
func (a *app) importCommand() *cobra.Command {
	imp := &cobra.Command{Use: "import", Short: "Write a ferry.star from another tool's files (compose)"}
	var out string
	var force bool
	c := &cobra.Command{
		Use:   "compose [FILE...]",
		Short: "Write a ferry.star from a compose project (compose.yaml when no FILE is given)",
		Long: `Read a compose project as docker compose does (interpolation from the environment and
.env, extends, include, every profile) and write the ferry.star that declares the same
services, jobs, images, secrets, volumes and networks: to stdout, or to -o FILE.
Whatever does not translate is listed with its file:line, on stderr and in comments at
the end of the ferry.star. See docs/compose.md.`,
		Example: `  ferry import compose > ferry.star
  ferry import compose -o ferry.star docker-compose.yml docker-compose.override.yml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := a.dir
			files := a.paths(args)
			if len(files) > 0 {
				dir = filepath.Dir(files[0])
			}
			res, err := compose.Import(cmd.Context(), compose.ImportOptions{
				LoadOptions: compose.LoadOptions{Files: files, Dir: dir, Env: os.Environ()},
				OutDir:      a.dir, File: a.path(out), Force: force,
			})
			if errors.Is(err, compose.ErrFileExists) {
				return fmt.Errorf("-o %s: %w", out, err)
			}
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				a.bus.Logf(engine.LevelWarn, "compose: %s", w)
			}
			for _, f := range res.Findings {
				a.bus.Logf(engine.LevelWarn, "%s", f)
			}
			if out == "" {
				_, err = a.stdout.Write(res.Starlark)
				return err
			}
			left := "everything translated"
			if n := len(res.Findings); n > 0 {
				left = fmt.Sprintf("%d not translated, listed above and at its end", n)
			}
			a.bus.Logf(engine.LevelInfo, "wrote %s from compose project %q (%s); check it with ferry plan and ferry lint", out, res.Project, left)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "write the ferry.star to `FILE` instead of stdout")
	c.Flags().BoolVar(&force, "force", false, "overwrite the -o FILE that exists")
	imp.AddCommand(c)
	return imp
}

func (a *app) exportCommand() *cobra.Command {
	exp := &cobra.Command{Use: "export", Short: "Write another tool's files from the workspace (compose)"}
	var out string
	c := &cobra.Command{
		Use:   "compose [-o FILE] [-- --flag=value...]",
		Short: "Write a compose file for the services and jobs of the workspace",
		Long: `Evaluate ferry.star (as ferry plan does: nothing is built or run) and write a compose
file with its services and jobs, the image() rules they run as build: sections, and its
volumes, networks and secrets, for people who must be handed one. Secrets become compose
secrets with a file: or environment: source, never their values. What compose cannot
express is listed on stderr. See docs/compose.md.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			if len(names) > 0 {
				return fmt.Errorf("ferry export compose exports the whole workspace and takes no rule names (got %q); config flags go after --", names[0])
			}
			outDir := l.Session.Workspace.Root
			if out != "" {
				outDir = filepath.Dir(a.path(out))
			}
			res, err := compose.Export(l.Graph, compose.ExportOptions{Project: l.Session.Project, Root: l.Session.Workspace.Root, OutDir: outDir})
			if err != nil {
				return err
			}
			for _, f := range res.Findings {
				a.bus.Logf(engine.LevelWarn, "%s", f)
			}
			if out == "" {
				_, err = a.stdout.Write(res.YAML)
				return err
			}
			return engine.WriteFileAtomic(a.path(out), res.YAML, 0o644)
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "write the compose file to `FILE` instead of stdout")
	exp.AddCommand(c)
	return exp
}
