package deploy

import (
	"errors"
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// needsShell is a command string that only a shell would run as meant.
type needsShell struct {
	cmd string
	why error
}

// splitCommand splits a container's command string into words as a POSIX
// shell would (quotes and backslashes removed, `sh -c "a && b"` three
// words), without running one: nothing is expanded. A string that needs a
// shell to mean what it says (variables, substitutions, operators,
// redirections) is an error that says to give a list. It uses mvdan.cc/sh's
// parser, which shfmt and others keep, rather than splitting by hand.
func splitCommand(s string) ([]string, error) {
	list := fmt.Sprintf(`give a list, such as ["sh", "-c", %q] where the image has a shell`, s)
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(s), "")
	if err != nil {
		var pe syntax.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("not a command line (%s at column %d); %s", pe.Text, pe.Pos.Col(), list)
		}
		return nil, fmt.Errorf("not a command line (%v); %s", err, list)
	}
	if len(f.Stmts) == 0 {
		return nil, nil
	}
	st := f.Stmts[0]
	call, ok := st.Cmd.(*syntax.CallExpr)
	switch {
	case len(f.Stmts) > 1 || st.Background || st.Negated || !ok:
		return nil, fmt.Errorf("it has shell operators (such as &&, ||, |, ; or &), but no shell runs a container's command; %s", list)
	case len(st.Redirs) > 0:
		return nil, fmt.Errorf("it has a redirection (such as > or <), but no shell runs a container's command; %s", list)
	case len(call.Assigns) > 0:
		return nil, fmt.Errorf("it sets a variable, but no shell runs a container's command; set it with env = {...}")
	}
	var expands bool
	syntax.Walk(call, func(n syntax.Node) bool {
		switch n.(type) {
		case *syntax.ParamExp, *syntax.CmdSubst, *syntax.ArithmExp, *syntax.ProcSubst:
			expands = true
		}
		return !expands
	})
	if expands {
		return nil, fmt.Errorf("it has a variable or a substitution ($...), but no shell expands it; %s, or set the value with env = {...}", list)
	}
	// A POSIX shell has no brace expansion, and expand.Fields would do it:
	// braces in unquoted text are quoted first.
	for _, w := range call.Args {
		for i, part := range w.Parts {
			lit, ok := part.(*syntax.Lit)
			if !ok || !strings.ContainsAny(lit.Value, "{}") {
				continue
			}
			if strings.Contains(lit.Value, `\`) {
				return nil, fmt.Errorf("it mixes braces and backslashes outside quotes; %s", list)
			}
			w.Parts[i] = &syntax.SglQuoted{Value: lit.Value}
		}
	}
	return expand.Fields(&expand.Config{}, call.Args...)
}
