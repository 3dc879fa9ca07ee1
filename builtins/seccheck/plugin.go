package seccheck

import (
	"fmt"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/engine"
)

// Settings are what lint_settings() declared in one evaluation: the
// Plugin's state (engine.EvaluationState[*Settings] reads it).
type Settings struct {
	mu     sync.Mutex
	ignore []string
	pos    syntax.Position // of the call; invalid when there was none
}

// Ignore returns the rule ids that lint_settings(ignore = …) leaves out.
func (s *Settings) Ignore() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.ignore...)
}

// Plugin declares lint_settings(), which fills the evaluation's Settings.
type Plugin struct{}

// NewState returns the Settings of one evaluation.
func (Plugin) NewState() any { return &Settings{} }

// Builtins returns lint_settings.
func (p Plugin) Builtins() []*engine.Builtin {
	return []*engine.Builtin{{
		Name:          "lint_settings",
		WorkspaceOnly: true,
		Doc: "Sets how `ferry lint` (and the security checks `ferry plan` shows) treat this workspace. Call it at most once, at load time. " +
			"`--ignore` adds to `ignore`; a `ferry:ignore ID` comment ignores a rule at one place only (see docs/security.md).",
		Params: []engine.Param{
			{Name: "ignore", Type: engine.StringList, Default: "[]", Doc: "Ids of rules whose findings to leave out everywhere, such as `\"FERRY-DF005\"`."},
		},
		Impl: p.lintSettings,
	}}
}

func (Plugin) lintSettings(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
	if engine.EvaluationOf(thread) == nil || engine.IsRunTime(thread) {
		return nil, c.Errorf("call it while ferry.star is evaluated, not inside a run-time action")
	}
	ids := c.Strings("ignore")
	for _, id := range ids {
		if err := checkID(id); err != nil {
			return nil, c.Errorf("ignore: %v", err)
		}
	}
	s := engine.StateOf[*Settings](thread)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pos.IsValid() {
		return nil, c.Errorf("lint_settings is called a second time (first at %s); merge the calls", s.pos)
	}
	s.ignore, s.pos = ids, c.Pos
	return starlark.None, nil
}

// checkID returns an error, with a suggestion, when id names no rule.
func checkID(id string) error {
	if Known(id) {
		return nil
	}
	msg := fmt.Sprintf("unknown rule id %q", id)
	if s := engine.Suggest(id, IDs()); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return fmt.Errorf("%s; docs/security.md lists the rules", msg)
}
