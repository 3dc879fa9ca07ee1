package core

import (
	"errors"
	"io/fs"
	"maps"
	"slices"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

// dotenvBuiltin is compose's .env, opt-in: the variables of a file, with
// those of ferry's environment over them, as compose interpolates a
// compose file. Starlark has no ${VAR}: the dict it returns is indexed.
var dotenvBuiltin = &engine.Builtin{
	Name:       "dotenv",
	Permission: "files",
	Doc: "Reads a `.env` file as compose does for `${VAR}` in a compose file, with compose's parser: `VAR=value` lines, `#` comments, quotes, `${VAR}` and `${VAR:-default}` of a variable set above in the file or in the environment. " +
		"A variable also set in the environment ferry runs in takes that value, as in compose (the shell wins over `.env`). " +
		"The file and the variables are recorded as inputs of the evaluation, so a change re-evaluates ferry.star (`ferry watch` re-reads it). " +
		"Use the dict where compose would interpolate: `cfg = dotenv()`, then `image = \"postgres:\" + cfg.get(\"PG_VERSION\", \"16\")`. " +
		"A variable that a `secret(env = ...)` declared before gives that secret, never its value. See [services](services.md#env-env_file-and-dotenv).",
	Params: []engine.Param{
		{Name: "path", Type: engine.String, Default: `".env"`, Positional: true, Doc: "Path relative to the calling file's folder."},
		{Name: "required", Type: engine.Bool, Default: "False", Doc: "Fail when the file is missing; by default a missing file gives an empty dict, as a missing `.env` is nothing to compose."},
		{Name: "environ", Type: engine.Bool, Default: "True", Doc: "Let the environment ferry runs in override the file's values and fill its `${VAR}`; `False`: the file alone."},
	},
	Returns: "a dict of the variables' values (strings, or secrets).",
	Impl: func(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
		ev := engine.EvaluationOf(thread)
		if c.Bool("environ", true) {
			if err := engine.Permit(thread, "env", "dotenv (environ = True reads the environment; environ = False does not)"); err != nil {
				return nil, err
			}
		}
		rel := c.String("path")
		if rel == "" {
			rel = ".env"
		}
		p, err := engine.JoinPath(engine.ModuleDir(thread), rel)
		if err != nil {
			return nil, c.Errorf("%v", err)
		}
		ev.RecordFile(ev.Workspace().Path(p))
		var vars map[string]string
		b, err := ev.Workspace().Tree().ReadFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !c.Bool("required", false):
		case err != nil:
			return nil, c.Errorf("%v", readError(p, err))
		default:
			lookup := func(string) (string, bool) { return "", false }
			if c.Bool("environ", true) {
				lookup = func(name string) (string, bool) { return ev.GetenvPlain(name, c.Pos) }
			}
			if vars, err = dotenv.UnmarshalBytesWithLookup(b, lookup); err != nil {
				return nil, c.Errorf("%s: %v; write one VAR=VALUE a line, as compose reads them", p, err)
			}
		}
		d := starlark.NewDict(len(vars))
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			var v starlark.Value = starlark.String(vars[k])
			if c.Bool("environ", true) {
				if env, ok := ev.Getenv(k, c.Pos); ok {
					v = env
				}
			}
			d.SetKey(starlark.String(k), v)
		}
		return d, nil
	},
}
