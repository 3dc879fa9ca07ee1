package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/mod"
	"github.com/ferryhq/ferry/engine/stardoc"
	"github.com/ferryhq/ferry/stdlib"
)

// methodDocs is implemented by plugins whose values have documented methods.
type methodDocs interface {
	MethodDocs() []*engine.Builtin
}

// documented returns the builtins of ferry's plugins and their values'
// methods, sorted.
func documented() []*engine.Builtin {
	var bs []*engine.Builtin
	for _, p := range (&app{}).plugins("") {
		bs = append(bs, p.Builtins()...)
		if m, ok := p.(methodDocs); ok {
			bs = append(bs, m.MethodDocs()...)
		}
	}
	engine.SortBuiltins(bs)
	return bs
}

// reference renders the builtin reference page, docs/reference.md.
func reference() string { return stardoc.Reference(documented()) }

func (a *app) docCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "doc [BUILTIN | MODULE | LABEL [FUNCTION]]",
		Short: "Print the reference of every builtin, of one, of a module's (ferry doc health), or the docstrings of a Starlark module (ferry doc @std//go.star), in Markdown",
		Example: `  ferry doc task
  ferry doc health
  ferry doc @std//go.star
  ferry doc @std
  ferry doc @lib//k8s.star deploy
  ferry doc //lib/deploy.star canary`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var page string
			var err error
			switch {
			case len(args) > 0 && (strings.HasPrefix(args[0], "@") || strings.HasPrefix(args[0], "//")):
				page, err = a.moduleDoc(cmd.Context(), args)
			case len(args) > 1:
				err = fmt.Errorf("ferry doc %s: a second argument names a function of a Starlark module, such as ferry doc @std//go.star go_binary", args[0])
			case len(args) == 0:
				page = reference()
			default:
				page, err = stardoc.Builtin(documented(), args[0])
			}
			if err != nil {
				return err
			}
			fmt.Fprint(a.stdout, page)
			return nil
		},
	}
}

// moduleDoc renders the docstrings of the Starlark module that args[0]
// labels, or of its function args[1].
func (a *app) moduleDoc(ctx context.Context, args []string) (string, error) {
	if args[0] == "@std" && len(args) == 1 {
		return stardoc.Stdlib(stdlib.FS)
	}
	sources := moduleSources()
	if strings.HasPrefix(args[0], "//") {
		root, _, err := a.starRoot()
		if err != nil {
			return "", err
		}
		sources[""] = engine.DirSource{Tree: engine.NewTree(root)}
	} else if l, err := engine.ResolveLabel(engine.Label{}, args[0]); err == nil && sources[l.Repo] == nil {
		// A module of ferry.mod: from the cache (fetched if ferry.lock pins
		// it and the cache lacks it), a vendored copy or an override.
		root, err := a.workspaceRoot()
		if err != nil {
			return "", err
		}
		mods, err := mod.Load(ctx, root, a.modOptions())
		if err != nil {
			return "", err
		}
		if sources[l.Repo], err = mods.Source(l.Repo, mod.ModFileName); err != nil {
			return "", err
		}
	}
	m, err := stardoc.Read(args[0], sources)
	if err != nil {
		return "", err
	}
	if len(args) == 1 {
		return m.Markdown(), nil
	}
	return m.FuncMarkdown(args[1])
}
