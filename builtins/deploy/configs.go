package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"slices"

	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

// A Config is a file mounted read-only into the service's containers, as
// compose's configs: its content is part of the service's definition, so
// a changed config replaces the containers.
type Config struct {
	Target  string // the absolute container path
	Source  string // the workspace-relative file it was read from; "" for content =
	Content string
	Mode    os.FileMode // permissions of the file in the container
}

// DefaultConfigMode is a config's mode unless it gives one, as compose's.
const DefaultConfigMode os.FileMode = 0o444

// Digest is the SHA-256 of the config's content, in hex: configs are no
// secrets, and the name of a copy says which content it holds.
func (c Config) Digest() string {
	sum := sha256.Sum256([]byte(c.Content))
	return hex.EncodeToString(sum[:])
}

// configsType accepts configs = as a dict of container path to a file's
// path or to {"file": ..., "content": ..., "mode": ...}.
type configsType struct{}

func (configsType) Describe() string {
	return `dict of container path to a file's path, or to {"file": ..., "mode": 0o440} or {"content": ...}`
}

func (configsType) Convert(v starlark.Value) (any, bool) {
	d, ok := v.(*starlark.Dict)
	return d, ok
}

// declareConfigs reads configs =: each file relative to the declaring
// file's folder, recorded as an input of the evaluation.
func declareConfigs(thread *starlark.Thread, c *engine.Call, s *ServiceSpec) error {
	d, _ := c.Value("configs").(*starlark.Dict)
	if d == nil {
		return nil
	}
	ev := engine.EvaluationOf(thread)
	taken := map[string]bool{}
	for _, v := range s.Volumes {
		taken[v.Target] = true
	}
	for p := range s.SecretFiles {
		taken[p] = true
	}
	for _, item := range d.Items() {
		target, ok := starlark.AsString(item[0])
		if !ok || !path.IsAbs(target) || path.Clean(target) != target || target == "/" {
			return c.Errorf("configs: %s is not a clean absolute path of a file in the container, such as \"/etc/nginx/nginx.conf\"", item[0])
		}
		if taken[target] {
			return c.Errorf("configs: %s is mounted twice (in volumes, secret_files or configs)", target)
		}
		taken[target] = true
		cf := Config{Target: target, Mode: DefaultConfigMode}
		var file string
		hasContent := false
		switch x := item[1].(type) {
		case starlark.String:
			file = string(x)
		case *starlark.Dict:
			for _, opt := range x.Items() {
				k, _ := starlark.AsString(opt[0])
				switch k {
				case "file":
					if file, ok = starlark.AsString(opt[1]); !ok {
						return c.Errorf("configs: %s: file: got %s, want a path", target, opt[1].Type())
					}
				case "content":
					if cf.Content, ok = starlark.AsString(opt[1]); !ok {
						return c.Errorf("configs: %s: content: got %s, want a string", target, opt[1].Type())
					}
					hasContent = true
				case "mode":
					m, ok := opt[1].(starlark.Int)
					n, exact := m.Int64()
					if !ok || !exact || n < 0 || n > 0o777 {
						return c.Errorf("configs: %s: mode: got %s, want permissions such as 0o440", target, opt[1])
					}
					cf.Mode = os.FileMode(n)
				default:
					return c.Errorf("configs: %s: unknown option %s; want file, content or mode", target, opt[0])
				}
			}
			if (file == "") == !hasContent {
				return c.Errorf("configs: %s: give file (a path) or content (the text), one of them", target)
			}
		default:
			return c.Errorf("configs: %s: got %s, want a file's path, or a dict such as {\"file\": \"nginx.conf\", \"mode\": 0o440}", target, item[1].Type())
		}
		if file != "" {
			if err := engine.Permit(thread, "files", "configs (a file)"); err != nil {
				return err
			}
			p, err := engine.JoinPath(engine.ModuleDir(thread), file)
			if err != nil {
				return c.Errorf("configs: %s: %v", target, err)
			}
			b, err := ev.Workspace().Tree().ReadFile(p)
			if err != nil {
				return c.Errorf("configs: %s: cannot read %s: %v; configs take a file of the workspace, relative to the file declaring the service", target, p, err)
			}
			ev.RecordFile(ev.Workspace().Path(p))
			cf.Source, cf.Content = p, string(b)
		}
		s.Configs = append(s.Configs, cf)
	}
	slices.SortFunc(s.Configs, func(a, b Config) int {
		if a.Target < b.Target {
			return -1
		}
		return 1
	})
	return nil
}

// configsKey writes the configs for the config hash: their paths, modes
// and contents, not where they were read from.
func (s *ServiceSpec) configsKey(h *engine.Hasher) {
	for _, cf := range s.Configs {
		h.String("config").String(cf.Target).String(fmt.Sprintf("%o", cf.Mode)).String(cf.Digest())
	}
}
