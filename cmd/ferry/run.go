package main

import (
	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
)

func (a *app) runCommand() *cobra.Command {
	var o engine.RunOptions
	cmd := &cobra.Command{
		Use:   "run [RULE...] [-- --flag=value...]",
		Short: "Run rules that are out of date, and their deps",
		Long: `Run the named rules and everything they depend on, skipping rules whose key
(definition, input contents, deps' keys) matches their last success. With no
names, run every build rule. Flags after -- set config.flag values.`,
		Example: `  ferry run
  ferry run test api -j 4
  ferry run deploy -- --region=eu`,
		RunE: func(cmd *cobra.Command, args []string) error {
			// A run that would find nothing to do says so without
			// evaluating ferry.star, when nothing it read changed.
			if names, flags, err := splitDash(cmd, args); err == nil {
				if s, err := a.session(); err == nil {
					if _, ok := s.UpToDate(cmd.Context(), names, flags, o.Force); ok {
						return nil
					}
				}
			}
			names, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			_, err = l.Run(cmd.Context(), names, o)
			return err
		},
	}
	cmd.Flags().BoolVarP(&o.KeepGoing, "keep-going", "k", false, "after a failure, go on with the rules that do not depend on it")
	cmd.Flags().BoolVar(&o.Force, "force", false, "run the selected rules even when they are up to date")
	return cmd
}
