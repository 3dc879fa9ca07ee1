package core

import (
	"path"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/ferryhq/ferry/engine"
)

var watchSettingsBuiltin = &engine.Builtin{
	Name:     "watch_settings",
	Reusable: true,
	Doc: "Sets how `ferry watch` batches and filters file changes. Call it at most once, at load time. " +
		"The `--debounce` and `--max-batch-age` flags override it; a change takes effect when the watch starts again.",
	Params: []engine.Param{
		{Name: "debounce", Type: engine.Duration, Default: `"30ms"`, Doc: "Quiet window: run once no file has changed for this long. A lone save (one file, after a quiet spell) does not wait for it: it runs after 4 ms of quiet on that file (see docs/watch.md)."},
		{Name: "max_batch_age", Type: engine.Duration, Default: `"500ms"`, Doc: "While files keep changing, run at least this often; at least `debounce`."},
		{Name: "ignore", Type: engine.StringList, Default: "[]", Doc: "Paths whose changes start nothing, as patterns relative to the workspace root in `.gitignore` syntax " +
			"(`\"tmp/\"`, `\"*.log\"`, `\"!keep.log\"`); they rank above `.ferryignore` and the `.gitignore` files, on top of `.git`, `.ferry` and editors' temporary files."},
	},
	Impl: watchSettings,
}

func watchSettings(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
	ev := engine.EvaluationOf(thread)
	if ev == nil || engine.IsRunTime(thread) {
		return nil, c.Errorf("call it while ferry.star is evaluated, not inside a run-time action")
	}
	s := &engine.WatchSettings{
		Debounce:    c.Duration("debounce", 0),
		MaxBatchAge: c.Duration("max_batch_age", 0),
		Ignore:      c.Strings("ignore"),
		Pos:         c.Pos,
	}
	const least = time.Millisecond
	if c.Has("debounce") && s.Debounce < least {
		return nil, c.Errorf("debounce: got %s, want at least %s", s.Debounce, least)
	}
	if c.Has("max_batch_age") && s.MaxBatchAge < least {
		return nil, c.Errorf("max_batch_age: got %s, want at least %s", s.MaxBatchAge, least)
	}
	if s.Debounce > 0 && s.MaxBatchAge > 0 && s.MaxBatchAge < s.Debounce {
		return nil, c.Errorf("max_batch_age (%s) is shorter than debounce (%s); make it at least as long", s.MaxBatchAge, s.Debounce)
	}
	for _, p := range s.Ignore {
		if _, err := path.Match(strings.TrimPrefix(p, "!"), ""); err != nil {
			return nil, c.Errorf("ignore: bad pattern %q: %v", p, err)
		}
	}
	if err := ev.SetWatchSettings(s); err != nil {
		return nil, err
	}
	return starlark.None, nil
}
