package compose

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// interpolated writes value, which compose interpolated from raw: where
// raw refers to variables of the project's .env, as an expression that
// reads them with dotenv() when ferry.star is evaluated, so that editing
// .env changes the service as it changes a compose project. A variable
// that names a secret is never read that way (see secretVar), nor one
// of the environment alone; anything else is written as it was imported.
func (t *translator) interpolated(raw any, value string) expr {
	s, ok := raw.(string)
	if !ok || !strings.Contains(s, "$") || t.p.dotenv == nil {
		return str(value)
	}
	parts, live := t.templateParts(s)
	if !live || parts.value(t.lookup) != value {
		return str(value)
	}
	if t.dotenvVar == "" {
		t.dotenvVar = t.freeVar("dotenv_vars")
		c := call{assign: t.dotenvVar, fn: "dotenv", comment: []string{
			"compose: the project's .env, as compose interpolates ${VAR} with it: values that come",
			"from it are read from it again whenever ferry.star is evaluated (the environment wins).",
		}}
		if p := t.rel(filepath.Join(t.p.WorkingDir, ".env")); p != "./.env" {
			c.args = []arg{{value: str(strings.TrimPrefix(p, "./"))}}
		}
		t.calls = slices.Insert(t.calls, 0, c)
	}
	return parts.expr(t.dotenvVar)
}

// lookup is a variable as compose interpolated it: the environment's, or
// the .env's.
func (t *translator) lookup(name string) (string, bool) {
	v, ok := t.p.Environment[name]
	return v, ok
}

// A templatePart is a piece of an interpolated value: text, or a variable
// with compose's modifier (":-" or "-" and a default; "" for none).
type templatePart struct {
	text     string
	variable string
	modifier string
	fallback string
	live     bool // read from .env by dotenv()
}

type templateParts []templatePart

// varReference is $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
// ${VAR:?message} or ${VAR?message}, with a default without variables.
var varReference = regexp.MustCompile(`\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}$]*)|:?\?[^}$]*)?\})`)

// templateParts splits raw into parts; live says whether one reads .env.
// A form it does not know (${VAR:+x}, a nested default) is no part:
// then live is false and the value is written as imported.
func (t *translator) templateParts(raw string) (templateParts, bool) {
	var parts templateParts
	live, at := false, 0
	text := func(s string) {
		if n := len(parts); n > 0 && parts[n-1].variable == "" {
			parts[n-1].text += s
			return
		}
		parts = append(parts, templatePart{text: s})
	}
	for _, m := range varReference.FindAllStringSubmatchIndex(raw, -1) {
		if strings.Contains(raw[at:m[0]], "$") {
			return nil, false
		}
		text(raw[at:m[0]])
		at = m[1]
		sub := func(i int) string {
			if m[2*i] < 0 {
				return ""
			}
			return raw[m[2*i]:m[2*i+1]]
		}
		if sub(1) != "" {
			text("$")
			continue
		}
		p := templatePart{variable: sub(2) + sub(3), modifier: sub(4), fallback: sub(5)}
		if secretName.MatchString(p.variable) {
			return nil, false
		}
		if _, inFile := t.p.dotenv[p.variable]; inFile {
			p.live, live = true, true
		} else {
			v, _ := p.valueWith(t.lookup)
			text(v)
			continue
		}
		parts = append(parts, p)
	}
	if strings.Contains(raw[at:], "$") {
		return nil, false
	}
	text(raw[at:])
	return parts, live
}

func (p templatePart) valueWith(lookup func(string) (string, bool)) (string, bool) {
	v, ok := lookup(p.variable)
	switch {
	case p.modifier == ":-" && v == "", p.modifier == "-" && !ok:
		return p.fallback, true
	}
	return v, ok
}

// value is what compose makes of the parts.
func (ps templateParts) value(lookup func(string) (string, bool)) string {
	var sb strings.Builder
	for _, p := range ps {
		if p.variable == "" {
			sb.WriteString(p.text)
			continue
		}
		v, _ := p.valueWith(lookup)
		sb.WriteString(v)
	}
	return sb.String()
}

// expr writes the parts as a Starlark expression that reads the live
// variables from the dict vars.
func (ps templateParts) expr(vars string) expr {
	var terms []string
	for _, p := range ps {
		switch {
		case p.variable == "" && p.text == "":
		case p.variable == "":
			terms = append(terms, strconv.Quote(p.text))
		case p.modifier == ":-":
			terms = append(terms, fmt.Sprintf("%s.get(%q) or %q", vars, p.variable, p.fallback))
		case p.modifier == "-":
			terms = append(terms, fmt.Sprintf("%s.get(%q, %q)", vars, p.variable, p.fallback))
		default:
			terms = append(terms, fmt.Sprintf("%s[%q]", vars, p.variable))
		}
	}
	if len(terms) > 1 {
		for i, term := range terms {
			if strings.Contains(term, " or ") && !strings.HasPrefix(term, `"`) {
				terms[i] = "(" + term + ")"
			}
		}
	}
	return lit(strings.Join(terms, " + "))
}

// rawEnv is the raw value of the environment entry k of a workload,
// whether the file writes environment: as a mapping or as a list of
// VAR=value.
func rawEnv(raw map[string]any, kind, name, k string) any {
	switch env := rawValue(raw, kind, name, "environment").(type) {
	case map[string]any:
		return env[k]
	case []any:
		for _, e := range env {
			if s, ok := e.(string); ok {
				if key, v, ok := strings.Cut(s, "="); ok && key == k {
					return v
				}
			}
		}
	}
	return nil
}

// secretInside returns the variable that names a secret among the
// variables raw refers to, when raw is more than that reference (a whole
// reference becomes a secret(), see secretVar); "".
func (t *translator) secretInside(raw any) string {
	s, ok := raw.(string)
	if !ok || wholeRef.MatchString(s) {
		return ""
	}
	for _, m := range varReference.FindAllStringSubmatch(s, -1) {
		if v := m[2] + m[3]; v != "" && secretName.MatchString(v) {
			return v
		}
	}
	return ""
}
