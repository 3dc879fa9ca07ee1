package engine

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// envSecrets are the environment variables that secrets of an evaluation
// are read from, and the variables os.env has returned as strings.
// Evaluation.mu guards them.
type envSecrets struct {
	bySource map[string]Secret          // variable → the first secret read from it
	readAt   map[string]syntax.Position // set variable → where os.env first read it
}

// DeclareSecretEnv notes that secret s is read from environment variable
// name. From then on os.env(name) returns s (see Getenv), and no process
// that ferry starts for this evaluation's rules inherits the variable (see
// Environ). It fails when os.env has already returned the variable's value
// as a string: a print or a rule may hold it, and the redactor did not know
// it yet.
func (ev *Evaluation) DeclareSecretEnv(name string, s Secret) error {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if pos, ok := ev.envSecrets.readAt[name]; ok {
		return fmt.Errorf("variable %s is read as a string by os.env at %s, before this secret() declares it a secret's source, "+
			"so its value may already be printed or in a rule; declare the secret first (os.env then returns the secret), or use the secret instead of os.env", name, pos)
	}
	if ev.envSecrets.bySource == nil {
		ev.envSecrets.bySource = map[string]Secret{}
	}
	if _, ok := ev.envSecrets.bySource[name]; !ok {
		ev.envSecrets.bySource[name] = s
	}
	return nil
}

// Getenv returns what os.env(name), called at pos, gives: the secret read
// from the variable when a secret() declared so far is, else its value,
// which is recorded as an input of the evaluation. ok is false when the
// variable is not set.
func (ev *Evaluation) Getenv(name string, pos syntax.Position) (v starlark.Value, ok bool) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	s, secret := ev.envSecrets.bySource[name]
	val, ok := os.LookupEnv(name)
	switch {
	case secret && ok:
		return s, true
	case secret:
		return nil, false
	}
	ev.env[name] = val
	if ok {
		if ev.envSecrets.readAt == nil {
			ev.envSecrets.readAt = map[string]syntax.Position{}
		}
		if _, seen := ev.envSecrets.readAt[name]; !seen {
			ev.envSecrets.readAt[name] = pos
		}
		return starlark.String(val), true
	}
	return nil, false
}

// GetenvPlain is Getenv for a file format that fills ${VAR} from the
// environment (a .env file): the value as a string, and a variable that a
// secret() reads from counts as unset, so its value never becomes plain
// configuration.
func (ev *Evaluation) GetenvPlain(name string, pos syntax.Position) (string, bool) {
	v, ok := ev.Getenv(name, pos)
	s, plain := v.(starlark.String)
	return string(s), ok && plain
}

// Environ returns the environment of a process that ferry starts for a
// rule of this evaluation (a task's command, ctx.sh, a secret's command):
// ferry's own, less every variable a secret is read from, then extra, which
// may give such a variable back on purpose, as task(secrets = ...) does.
// It is the one place ferry builds a child's environment. A nil Evaluation
// declared no secrets.
func (ev *Evaluation) Environ(extra map[string]string) []string {
	var hidden map[string]Secret
	if ev != nil {
		ev.mu.Lock()
		hidden = maps.Clone(ev.envSecrets.bySource)
		ev.mu.Unlock()
	}
	return ChildEnv(os.Environ(), func(name string) bool { _, ok := hidden[name]; return ok }, extra)
}

// ChildEnv returns environ (NAME=value entries) without the variables that
// hide reports and those that extra sets, followed by extra's, sorted.
func ChildEnv(environ []string, hide func(name string) bool, extra map[string]string) []string {
	out := make([]string, 0, len(environ)+len(extra))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if _, set := extra[name]; set || hide(name) {
			continue
		}
		out = append(out, kv)
	}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		out = append(out, k+"="+extra[k])
	}
	return out
}
