package compose

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// A call is one Starlark call of the generated ferry.star, such as
// service(...): its arguments in the order they are written.
type call struct {
	path    string   // the compose model path it translates, for findings
	comment []string // lines above it, without "# "
	assign  string   // "db_password = secret(...)"; "" for none
	fn      string
	args    []arg
}

type arg struct {
	name  string // "" for a positional argument
	value expr
}

// An expr is a Starlark expression, rendered on one line or, when long, on
// several at an indentation.
type expr interface {
	inline() string
	block(indent string) string
}

// lit is an expression written as it is: a number, True, a variable.
type lit string

func (l lit) inline() string                               { return string(l) }
func (l lit) block(string) string                          { return string(l) }
func str(s string) lit                                     { return lit(strconv.Quote(s)) }
func boolean(b bool) lit                                   { return lit(map[bool]string{true: "True", false: "False"}[b]) }
func integer[T ~int | ~int64 | ~uint64 | ~uint32](n T) lit { return lit(fmt.Sprint(n)) }

// list is a list expression.
type list []expr

func strs(l []string) list {
	out := make(list, len(l))
	for i, s := range l {
		out[i] = str(s)
	}
	return out
}

func (l list) inline() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.inline()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (l list) block(indent string) string {
	if len(l.inline()) <= maxLine-len(indent)-20 {
		return l.inline()
	}
	var sb strings.Builder
	sb.WriteString("[\n")
	for _, e := range l {
		sb.WriteString(indent + "    " + e.block(indent+"    ") + ",\n")
	}
	return sb.String() + indent + "]"
}

// dict is a dict expression with string keys, written sorted.
type dict map[string]expr

func strDict(m map[string]string) dict {
	d := dict{}
	for k, v := range m {
		d[k] = str(v)
	}
	return d
}

func (d dict) inline() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(d)) {
		parts = append(parts, strconv.Quote(k)+": "+d[k].inline())
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func (d dict) block(indent string) string {
	if len(d.inline()) <= maxLine-len(indent)-20 && len(d) <= 2 {
		return d.inline()
	}
	var sb strings.Builder
	sb.WriteString("{\n")
	for _, k := range slices.Sorted(maps.Keys(d)) {
		sb.WriteString(indent + "    " + strconv.Quote(k) + ": " + d[k].block(indent+"    ") + ",\n")
	}
	return sb.String() + indent + "}"
}

// fnCall is a call used as an expression, such as health.exec(...).
type fnCall struct {
	fn   string
	args []arg
}

func (c fnCall) inline() string {
	parts := make([]string, len(c.args))
	for i, a := range c.args {
		parts[i] = a.inline()
	}
	return c.fn + "(" + strings.Join(parts, ", ") + ")"
}

func (c fnCall) block(indent string) string {
	if s := c.inline(); len(s)+len(indent) <= maxLine {
		return s
	}
	var sb strings.Builder
	sb.WriteString(c.fn + "(\n")
	for _, a := range c.args {
		sb.WriteString(indent + "    " + a.block(indent+"    ") + ",\n")
	}
	return sb.String() + indent + ")"
}

func (a arg) inline() string {
	if a.name == "" {
		return a.value.inline()
	}
	return a.name + " = " + a.value.inline()
}

func (a arg) block(indent string) string {
	if a.name == "" {
		return a.value.block(indent)
	}
	return a.name + " = " + a.value.block(indent)
}

// maxLine is the longest line a call is written on before it is split.
const maxLine = 100

// render writes the call: on one line when it is short, else one argument
// a line.
func (c call) render(sb *strings.Builder) {
	for _, l := range c.comment {
		sb.WriteString(strings.TrimRight("# "+oneLine(l), " ") + "\n")
	}
	head := c.fn
	if c.assign != "" {
		head = c.assign + " = " + c.fn
	}
	one := fnCall{fn: head, args: c.args}.inline()
	if len(one) <= maxLine && len(c.args) <= 3 {
		sb.WriteString(one + "\n")
		return
	}
	sb.WriteString(head + "(\n")
	for _, a := range c.args {
		sb.WriteString("    " + a.block("    ") + ",\n")
	}
	sb.WriteString(")\n")
}

// oneLine escapes the control characters of s (a newline above all) as Go
// and Starlark write them: a comment made of a compose file's names stays
// one comment line of ferry.star, never a statement of its own, and a
// finding stays one line of output.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
