package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

func (a *app) planCommand() *cobra.Command {
	var asJSON, force, check bool
	cmd := &cobra.Command{
		Use:   "plan [RULE...] [-- --flag=value...]",
		Short: "Say which rules would run, and why, without running anything",
		RunE: func(cmd *cobra.Command, args []string) error {
			names, l, err := a.loadArgs(cmd, args)
			if err != nil {
				return err
			}
			items, err := l.Plan(cmd.Context(), names, force)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(items)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			n, errs := 0, 0
			for _, it := range items {
				switch {
				case it.Err != "":
					errs++
					fmt.Fprintf(tw, "error\t%s\t%s\n", it.Rule, it.Err)
				case it.Run:
					n++
					fmt.Fprintf(tw, "would run\t%s\t%s\n", it.Rule, engine.ReasonText(it.Reasons))
				default:
					fmt.Fprintf(tw, "up to date\t%s\t\n", it.Rule)
				}
			}
			tw.Flush()
			fmt.Fprintf(a.stdout, "%d of %d rules would run", n, len(items))
			if errs > 0 {
				fmt.Fprintf(a.stdout, "; %d would fail", errs)
			}
			fmt.Fprintln(a.stdout)
			if len(names) == 0 {
				a.planDeployHint(l.Graph)
			}
			a.planImages(cmd.Context(), l, items)
			if check {
				a.planFindings(cmd.Context(), l)
			} else {
				fmt.Fprintln(a.stdout, "security checks not run: `ferry plan --check` or `ferry lint` runs them")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	cmd.Flags().BoolVar(&force, "force", false, "plan as `ferry run --force` would run")
	cmd.Flags().BoolVar(&check, "check", false, "after the plan, show the errors and warnings of the security checks on the files, as `ferry lint --no-history` finds them (they read every file of the workspace)")
	return cmd
}

// planDeployHint says, after a plan of the default rules, which services
// and jobs it left out: they are `ferry up`'s, and a plan names them to
// include them.
func (a *app) planDeployHint(g *engine.Graph) {
	var left []string
	for _, n := range g.Names() {
		if isDeploy(g.Rule(n)) {
			left = append(left, n)
		}
	}
	switch len(left) {
	case 0:
		return
	case 1:
		fmt.Fprintf(a.stdout, "1 service or job is left to `ferry up`: `ferry plan %s` plans it\n", left[0])
	default:
		fmt.Fprintf(a.stdout, "%d services and jobs are left to `ferry up`: `ferry plan %s` plans them\n", len(left), strings.Join(left, " "))
	}
}

// planImages prints, after a plan, the registry images of its services
// and jobs and the digest each resolves to in the Engine now, or that up
// pulls it.
func (a *app) planImages(ctx context.Context, l *engine.Loaded, items []engine.PlanItem) {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.Rule
	}
	imgs, err := deploy.PlanImages(ctx, l.Graph, names)
	if err != nil {
		fmt.Fprintf(a.stdout, "images: %v\n", err)
		return
	}
	if len(imgs) == 0 {
		return
	}
	fmt.Fprintln(a.stdout, "images:")
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, im := range imgs {
		var what string
		switch {
		case im.Missing && im.Pull == deploy.PullNever:
			what = `not in the Engine, and pull = "never": up fails`
		case im.Missing:
			what = "not in the Engine: up pulls it"
		case im.Digest != "":
			what = im.Digest
		default:
			what = im.ID + " (from no registry)"
		}
		if im.Pull == deploy.PullAlways {
			what += `; pull = "always": up asks the registry`
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", im.Rule, im.Image, what)
	}
	tw.Flush()
}
