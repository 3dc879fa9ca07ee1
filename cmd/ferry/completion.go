package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/complete"
	"github.com/ferryhq/ferry/stdlib"
)

// completionTimeout bounds the evaluation behind a completion: a shell
// waits for it at every Tab.
const completionTimeout = 3 * time.Second

// addCompletions lets the shell complete the rule names that commands
// take (cobra's `ferry completion SHELL` prints the scripts; see
// docs/completion.md).
func (a *app) addCompletions(root *cobra.Command) {
	for _, c := range root.Commands() {
		switch c.Name() {
		case "run", "plan", "graph", "watch", "trigger":
			c.ValidArgsFunction = a.completeRules(0)
		case "up", "pull":
			c.ValidArgsFunction = a.completeRules(0, "service", "job")
		case "logs":
			c.ValidArgsFunction = a.completeRules(0, "service", "job")
		case "restart":
			c.ValidArgsFunction = a.completeRules(0, "service")
		case "exec", "port-forward":
			c.ValidArgsFunction = a.completeRules(1, "service")
		case "push":
			c.ValidArgsFunction = a.completeRules(0, "image")
		case "doc":
			c.ValidArgsFunction = a.completeDoc
		case "test":
			_ = c.RegisterFlagCompletionFunc("run", a.completeTests)
		}
	}
}

// completeRules completes the names of the workspace's rules of kinds
// (any when none); max > 0 completes only the first max arguments.
func (a *app) completeRules(max int, kinds ...string) cobra.CompletionFunc {
	// cmd.ArgsLenAtDash cannot tell whether "--" (config flags) came
	// before: cobra parses the line with a "--" of its own.
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if max > 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		l := a.quietLoad(cmd.Context())
		if l == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return complete.Rules(l.Graph, kinds, args, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeDoc completes what ferry doc documents. The aliases of
// ferry.mod come from parsing it; a module's files are read only to
// complete a label of it.
func (a *app) completeDoc(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	ws, err := engine.FindWorkspace(a.dir, a.file)
	root := ""
	if err == nil {
		root = ws.Root
	}
	d := complete.WorkspaceDoc(documented(), stdlib.FS, root, func() (*engine.Modules, error) { return a.quietModules(cmd.Context(), ws) })
	comps := complete.Doc(d, args, toComplete)
	if complete.NoSpace(comps) {
		return comps, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	return comps, cobra.ShellCompDirectiveNoFileComp
}

// completeTests completes the value of ferry test --run: the test
// functions of the test files (of those given, when any), parsed only.
func (a *app) completeTests(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	a.quiet()
	root, _, err := a.starRoot()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return complete.Tests(root, a.paths(args), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// quietModules resolves the shared modules of ws as quietLoad resolves
// them.
func (a *app) quietModules(ctx context.Context, ws *engine.Workspace) (*engine.Modules, error) {
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	a.quiet()
	return a.modules(ctx, ws)
}

// quiet sets the app up for a completion: a bus with no sink, so nothing
// is printed, and --locked, so no fetch of what ferry.lock does not pin
// and no change to it.
func (a *app) quiet() {
	a.bus = engine.NewBus(a.redactor)
	a.locked = true
}

// quietLoad evaluates the workspace for a completion: printing nothing
// (its bus has no sink), calling no Docker Engine, fetching only modules
// that ferry.lock pins and changing no file, within completionTimeout.
// It returns nil when anything fails.
func (a *app) quietLoad(ctx context.Context) (l *engine.Loaded) {
	defer func() {
		if recover() != nil {
			l = nil
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	a.quiet()
	s, err := a.session()
	if err != nil {
		return nil
	}
	l, err = s.Load(ctx, nil)
	if err != nil {
		return nil
	}
	return l
}
