package deploy

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

// An EnvFile is a file of environment variables a service reads, as
// compose's env_file.
type EnvFile struct {
	Path string            // workspace-relative
	Vars map[string]string // as the file sets them; nil when it is missing (and not required)
}

// envFileRef is one entry of env_file =: a path, and whether a missing
// file is an error.
type envFileRef struct {
	path     string
	required bool
}

// envFilesType accepts env_file = as a path, or a list of paths and of
// compose's long form, {"path": "...", "required": False}.
type envFilesType struct{}

func (envFilesType) Describe() string {
	return `path, or list of paths and of {"path": ..., "required": False}`
}

func (envFilesType) Convert(v starlark.Value) (any, bool) {
	if s, ok := v.(starlark.String); ok {
		return []envFileRef{{path: string(s), required: true}}, true
	}
	l, ok := v.(*starlark.List)
	if !ok {
		return nil, false
	}
	var out []envFileRef
	for i := range l.Len() {
		switch x := l.Index(i).(type) {
		case starlark.String:
			out = append(out, envFileRef{path: string(x), required: true})
		case *starlark.Dict:
			ref := envFileRef{required: true}
			for _, item := range x.Items() {
				k, _ := starlark.AsString(item[0])
				switch k {
				case "path":
					s, ok := starlark.AsString(item[1])
					if !ok {
						return nil, false
					}
					ref.path = s
				case "required":
					b, ok := item[1].(starlark.Bool)
					if !ok {
						return nil, false
					}
					ref.required = bool(b)
				default:
					return nil, false
				}
			}
			if ref.path == "" {
				return nil, false
			}
			out = append(out, ref)
		default:
			return nil, false
		}
	}
	return out, true
}

// declareEnvFiles reads the env_file = files, relative to the declaring
// file's folder, as inputs of the evaluation (a change re-evaluates), and
// adds their variables to s.Env: a later file's over an earlier one's, and
// env ='s over them all, as in compose.
func declareEnvFiles(thread *starlark.Thread, c *engine.Call, s *ServiceSpec) error {
	refs, _ := c.Value("env_file").([]envFileRef)
	if len(refs) == 0 {
		return nil
	}
	if err := engine.Permit(thread, "files", "env_file"); err != nil {
		return err
	}
	ev := engine.EvaluationOf(thread)
	merged := map[string]string{}
	for _, ref := range refs {
		p, err := engine.JoinPath(engine.ModuleDir(thread), ref.path)
		if err != nil {
			return c.Errorf("env_file: %v", err)
		}
		ev.RecordFile(ev.Workspace().Path(p))
		b, err := ev.Workspace().Tree().ReadFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !ref.required:
			s.EnvFiles = append(s.EnvFiles, EnvFile{Path: p})
			continue
		case errors.Is(err, fs.ErrNotExist):
			return c.Errorf("env_file: %s does not exist; create it, fix the path (relative to the file declaring the service), or write {\"path\": %q, \"required\": False} to go on without it", p, ref.path)
		case err != nil:
			return c.Errorf("env_file: %v", err)
		}
		// ${VAR} of the environment: a module needs "env" to read it, as
		// with dotenv(); without it, only the file's own variables fill
		// ${VAR}s, and one that only the environment sets is an error.
		var noEnv []string
		vars, err := dotenv.UnmarshalBytesWithLookup(b, func(name string) (string, bool) {
			if engine.Permit(thread, "env", "env_file") != nil {
				noEnv = append(noEnv, name)
				return "", false
			}
			return ev.GetenvPlain(name, c.Pos)
		})
		for _, name := range noEnv {
			if _, inFile := vars[name]; !inFile && err == nil {
				return engine.Permit(thread, "env", fmt.Sprintf("env_file (%s fills ${%s} from the environment)", p, name))
			}
		}
		if err != nil {
			return c.Errorf("env_file: %s: %v; write one VAR=VALUE a line, as compose reads them", p, err)
		}
		for k := range vars {
			if !validEnvName(k) {
				return c.Errorf("env_file: %s: %q is not a variable name", p, k)
			}
		}
		s.EnvFiles = append(s.EnvFiles, EnvFile{Path: p, Vars: vars})
		maps.Copy(merged, vars)
	}
	for _, k := range slices.Sorted(maps.Keys(merged)) {
		if _, set := s.Env[k]; set {
			continue
		}
		if _, set := s.Secrets[k]; set {
			continue
		}
		if s.Env == nil {
			s.Env = map[string]string{}
		}
		s.Env[k] = merged[k]
	}
	return nil
}

func validEnvName(k string) bool {
	for i, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '.' || r == '-')) {
			return false
		}
	}
	return k != ""
}
