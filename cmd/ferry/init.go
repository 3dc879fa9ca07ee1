package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
)

func (a *app) initCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter ferry.star in the current folder (or -C DIR), and add .ferry/ to its .gitignore",
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, added, err := engine.Init(a.dir, force)
			if p != "" {
				fmt.Fprintf(a.stdout, "wrote %s; try `ferry run`\n", p)
			}
			if added {
				fmt.Fprintf(a.stdout, "added %s/ to %s: ferry keeps its state there, which does not belong in git\n", engine.StateDir, filepath.Join(a.dir, ".gitignore"))
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing ferry.star")
	return cmd
}
