package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/dev"
)

func (a *app) triggerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "trigger RULE...",
		Short: "Ask the running ferry watch of this workspace to run rules now",
		Long: `Ask the ferry watch running in this workspace to run the named rules now, even
when they are up to date (their deps run only if out of date). This is how rules
declared with trigger = "manual" run in a watch; any rule can be triggered.
ferry trigger returns once the watch has accepted the request; the watch's
output shows the run. Without a running watch, use ferry run RULE.`,
		Example: `  ferry trigger seed-db
  ferry trigger api-image api`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, err := engine.FindWorkspace(a.dir, a.file)
			if err != nil {
				return err
			}
			if err := dev.SendTrigger(cmd.Context(), ws, args); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "the watch in %s runs %s now\n", ws.Root, strings.Join(args, ", "))
			return nil
		},
	}
}
