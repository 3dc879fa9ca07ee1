// Package stardoc documents a Starlark module from its docstrings: the
// module's own, and that of each exported function (`ferry doc @std//go.star`).
package stardoc

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/engine"
)

// A Module is the documentation of one module.
type Module struct {
	Label string // as given to load(), such as @std//go.star
	Doc   string // the module's docstring
	Funcs []Func // its exported functions, in the order of the file
}

// A Func is one exported function: a top-level def whose name does not
// start with "_".
type Func struct {
	Name      string
	Signature string // the parameters as written, defaults included
	Doc       string // its docstring, dedented; "" when it has none
	Pos       syntax.Position
}

// Read parses the module that spec names (a load label: //path/file.star
// or @repo//path/file.star) from sources, where the workspace is the
// repository "", and returns its documentation. It executes nothing.
func Read(spec string, sources map[string]engine.ModuleSource) (*Module, error) {
	l, err := engine.ResolveLabel(engine.Label{}, spec)
	if err != nil {
		return nil, err
	}
	src, ok := sources[l.Repo]
	if !ok {
		return nil, fmt.Errorf("%s: @%s is not a known module repository", spec, l.Repo)
	}
	mod, err := src.ReadModule(l.Path)
	if err != nil {
		return nil, err
	}
	return Parse(l.String(), mod.Display, mod.Src)
}

// Parse documents the module label whose source is src, shown as name in
// positions.
func Parse(label, name string, src []byte) (*Module, error) {
	f, err := engine.FileOptions.Parse(name, src, 0)
	if err != nil {
		return nil, engine.PositionError(err)
	}
	m := &Module{Label: label, Doc: docstring(f.Stmts, false)}
	for _, s := range f.Stmts {
		def, ok := s.(*syntax.DefStmt)
		if !ok || strings.HasPrefix(def.Name.Name, "_") {
			continue
		}
		var params []string
		for _, p := range def.Params {
			params = append(params, text(src, p))
		}
		m.Funcs = append(m.Funcs, Func{Name: def.Name.Name, Signature: strings.Join(params, ", "), Doc: docstring(def.Body, true), Pos: def.Def})
	}
	return m, nil
}

// Markdown renders the documentation as `ferry doc` prints it, in the
// style of the builtin reference.
func (m *Module) Markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "## `%s`\n", m.Label)
	if m.Doc != "" {
		fmt.Fprintf(&sb, "\n%s\n", m.Doc)
	}
	if len(m.Funcs) == 0 {
		sb.WriteString("\nIt exports no functions.\n")
	}
	for _, f := range m.Funcs {
		fmt.Fprintf(&sb, "\n### `%s(%s)`\n", f.Name, f.Signature)
		if f.Doc != "" {
			fmt.Fprintf(&sb, "\n%s\n", f.Doc)
		}
	}
	return sb.String()
}

// Func returns the exported function name, or nil.
func (m *Module) Func(name string) *Func {
	for i := range m.Funcs {
		if m.Funcs[i].Name == name {
			return &m.Funcs[i]
		}
	}
	return nil
}

// docstring returns the string literal that starts stmts, or "": a
// function's (dedent) dedented as Python's inspect.cleandoc does, a
// module's, at the top level, with its indentation kept.
func docstring(stmts []syntax.Stmt, dedent bool) string {
	if len(stmts) == 0 {
		return ""
	}
	e, ok := stmts[0].(*syntax.ExprStmt)
	if !ok {
		return ""
	}
	lit, ok := e.X.(*syntax.Literal)
	if !ok || lit.Token != syntax.STRING {
		return ""
	}
	s, _ := lit.Value.(string)
	if !dedent {
		return strings.Trim(s, "\n")
	}
	return cleandoc(s)
}

// cleandoc strips the indentation that the lines after the first share,
// and blank lines at both ends.
func cleandoc(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\t", "    "), "\n")
	indent := -1
	for _, l := range lines[1:] {
		if t := strings.TrimLeft(l, " "); t != "" {
			if n := len(l) - len(t); indent < 0 || n < indent {
				indent = n
			}
		}
	}
	lines[0] = strings.TrimSpace(lines[0])
	for i := 1; i < len(lines); i++ {
		if len(lines[i]) >= indent && indent > 0 {
			lines[i] = lines[i][indent:]
		}
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// text returns the source of n, as written on its first line.
func text(src []byte, n syntax.Node) string {
	start, end := n.Span()
	a, b := offset(src, start), offset(src, end)
	if a < 0 || b < a {
		return ""
	}
	return strings.Join(strings.Fields(string(src[a:b])), " ")
}

// offset returns the byte offset of pos (whose column counts runes) in
// src, or -1.
func offset(src []byte, pos syntax.Position) int {
	off := 0
	for line := int32(1); line < pos.Line; line++ {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	for col := int32(1); col < pos.Col; col++ {
		if off >= len(src) {
			return -1
		}
		_, size := utf8.DecodeRune(src[off:])
		off += size
	}
	return off
}
