package core

import (
	"errors"
	"maps"
	"slices"

	"github.com/ferryhq/ferry/engine"
)

// secretsOf returns task(secrets=), or nil.
func secretsOf(c *engine.Call) map[string]engine.Secret {
	s, _ := c.Value("secrets").(map[string]engine.Secret)
	return s
}

// Secrets returns the secrets the task passes to its command.
func (t *Task) Secrets() []engine.Secret {
	return slices.Collect(maps.Values(t.secrets))
}

// checkSecrets refuses secrets a task cannot pass on.
func checkSecrets(c *engine.Call, t *Task) error {
	if len(t.secrets) == 0 {
		return nil
	}
	if t.fn != nil {
		return c.Errorf("secrets reach a command as environment variables, and run = fn runs no command; use cmd, or remove secrets")
	}
	for name := range t.secrets {
		if _, ok := t.env[name]; ok {
			return c.Errorf("%s is in both env and secrets: keep one", name)
		}
	}
	return nil
}

// environ returns the task's environment with its secrets read, which
// hands their values to the redactor before the command can print them.
func (t *Task) environ(rc *engine.RunContext) (map[string]string, error) {
	if len(t.secrets) == 0 {
		return t.env, nil
	}
	env := maps.Clone(t.env)
	if env == nil {
		env = map[string]string{}
	}
	for name, s := range t.secrets {
		v, err := s.Reveal(rc)
		if errors.Is(err, engine.ErrSecretAbsent) {
			continue
		}
		if err != nil {
			return nil, err
		}
		env[name] = v
	}
	return env, nil
}
