package engine

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// formatGuard is the predeclared name of the check that guardFormatting
// puts around what % and .format() format. Starlark formats any value with
// its String method and offers no hook to refuse one, so without it
// "Bearer %s" % tok would quietly build "Bearer <secret tok>".
const formatGuard = "__ferry_no_secret__"

// guardFormatting rewrites a parsed file, before it is resolved, so that
// the right operand of each % (and %=) and each argument of each .format()
// call passes through formatGuard, which fails on a secret. The call takes
// the position of the operand, so the error points at it.
func guardFormatting(f *syntax.File) {
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.BinaryExpr:
			if n.Op == syntax.PERCENT {
				n.Y = guarded(n.Y)
			}
		case *syntax.AssignStmt:
			if n.Op == syntax.PERCENT_EQ {
				n.RHS = guarded(n.RHS)
			}
		case *syntax.CallExpr:
			if dot, ok := n.Fn.(*syntax.DotExpr); ok && dot.Name.Name == "format" {
				for i, arg := range n.Args {
					switch a := arg.(type) {
					case *syntax.BinaryExpr: // name = value
						if a.Op == syntax.EQ {
							a.Y = guarded(a.Y)
							continue
						}
					case *syntax.UnaryExpr: // *args, **kwargs
						if a.Op == syntax.STAR || a.Op == syntax.STARSTAR {
							a.X = guarded(a.X)
							continue
						}
					}
					n.Args[i] = guarded(arg)
				}
			}
		}
		return true
	})
}

// guarded returns e wrapped in a call of formatGuard.
func guarded(e syntax.Expr) syntax.Expr {
	start, end := e.Span()
	return &syntax.CallExpr{Fn: &syntax.Ident{NamePos: start, Name: formatGuard}, Lparen: start, Args: []syntax.Expr{e}, Rparen: end}
}

// noSecret is formatGuard: it returns its argument, or fails when it is,
// or holds (in a list, tuple or dict), a secret.
var noSecret = starlark.NewBuiltin(formatGuard, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	v := args[0]
	err := walkSecrets(v, 0, func(s Secret, _ string) error {
		if s == nil {
			return nil // a string with a placeholder: refused where it is used
		}
		return fmt.Errorf("secret %s cannot be formatted with %% or format(): that would put its placeholder %s in the string instead of the value; "+
			"pass the secret whole to task(secrets = {...}) or service(env = {...}, secret_files = {...}) and build the string in the process that receives it (\"Authorization: Bearer $TOKEN\")",
			s.SecretName(), SecretPlaceholder(s.SecretName()))
	})
	return v, err
})
