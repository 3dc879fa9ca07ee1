package compose

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// envFiles returns the env_file = of w (nil for none): a path, or a list
// of paths and of {"path": ..., "required": False}. A variable of a file
// whose name says it holds a secret is read with a secret() into env
// instead, which wins over the file, so that its value stays out of the
// service's settings.
func (t *translator) envFiles(w *workload, env dict) expr {
	var files list
	for i, f := range w.EnvFiles {
		p := w.path("env_file", strconv.Itoa(i))
		rel, inside := t.inside(f.Path)
		if f.Format != "" {
			continue // reported with the attribute
		}
		if !inside {
			t.note(p, fmt.Sprintf("%s lies outside the folder of ferry.star, where env_file reads: move it there, or give its variables in env", rel))
			continue
		}
		if bool(f.Required) {
			files = append(files, str(rel))
		} else {
			files = append(files, dict{"path": str(rel), "required": boolean(false)})
		}
		vars, err := dotenv.Read(f.Path)
		if err != nil {
			continue // missing and not required, or ferry plan says what is wrong
		}
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			if _, set := w.Environment[k]; set || !secretName.MatchString(k) {
				continue
			}
			env[k] = lit(t.fileSecret(rel, k))
		}
	}
	switch {
	case len(files) == 0:
		return nil
	case len(files) == 1:
		if s, ok := files[0].(lit); ok {
			return s
		}
	}
	return files
}

// fileSecret declares the secret() that reads variable k of the env file
// at rel, once, and returns its Starlark variable.
func (t *translator) fileSecret(rel, k string) string {
	key := rel + "\x00" + k
	if v, ok := t.envSecrets[key]; ok {
		return v
	}
	v := t.freeVar(strings.ToLower(k))
	t.calls = append(t.calls, call{
		assign:  v,
		fn:      "secret",
		args:    []arg{{value: str(v)}, {"dotenv", str(rel)}, {"env", str(k)}},
		comment: []string{fmt.Sprintf("compose: %s of env_file %s (read when a service starts; never written here)", k, rel)},
	})
	t.envSecrets[key] = v
	return v
}

// inside writes a host path relative to the folder of ferry.star, and
// says whether it lies in it (where ferry reads env files and configs).
func (t *translator) inside(p string) (string, bool) {
	rel := t.rel(p)
	if r, ok := strings.CutPrefix(rel, "./"); ok {
		return r, true
	}
	return rel, false
}

// configs returns the configs = of w: container path to a file, or to
// {"file": ..., "mode": ...} or {"content": ...}.
func (t *translator) configs(w *workload) dict {
	d := dict{}
	for i, ref := range w.Configs {
		p := w.path("configs", strconv.Itoa(i))
		target := ref.Target
		if target == "" {
			target = "/" + ref.Source
		}
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		c, ok := t.p.Configs[ref.Source]
		opts := dict{}
		switch {
		case !ok || bool(c.External) || c.Environment != "":
			t.note(p, fmt.Sprintf("config %q has neither a file nor content ferry reads (see configs.%s); give configs = {%q: ...} by hand", ref.Source, ref.Source, target))
			continue
		case c.File != "":
			rel, inside := t.inside(c.File)
			if !inside {
				t.note(p, fmt.Sprintf("%s lies outside the folder of ferry.star, where configs are read: move it there", rel))
				continue
			}
			opts["file"] = str(rel)
		default:
			opts["content"] = t.interpolated(rawValue(t.p.raw, "configs", ref.Source, "content"), c.Content)
		}
		if ref.Mode != nil && uint32(*ref.Mode) != uint32(deploy.DefaultConfigMode) {
			opts["mode"] = lit(fmt.Sprintf("0o%o", uint32(*ref.Mode)))
		}
		if f, ok := opts["file"]; ok && len(opts) == 1 {
			d[target] = f
		} else {
			d[target] = opts
		}
	}
	return d
}
