package secret

import (
	"context"
	"errors"

	"github.com/ferryhq/ferry/engine"
)

// Held learns, through learn, the values that what runs for rule r (the
// containers of a service, say) holds for its secrets, which differ from
// what their sources hold after a rotation. It does nothing for a rule
// that nothing runs for.
type Held func(ctx context.Context, r engine.Rule, learn func(name, value string)) error

// RevealDeclared reads the secrets of every rule of g that uses some, so
// that the redactor knows them (Reveal teaches it), and hands add the
// values that held (nil: none) finds, so that output ferry shows without
// running the rules (logs, exec, status) is redacted too, even where a
// secret's source is gone. What cannot be read is reported through warnf:
// it does not stop the command.
func RevealDeclared(ctx context.Context, g *engine.Graph, held Held, add func(name, value string) error, warnf func(format string, args ...any)) {
	for _, n := range g.Names() {
		r := g.Rule(n)
		u, ok := r.(engine.SecretUser)
		if !ok {
			continue
		}
		secrets := u.Secrets()
		if len(secrets) > 0 && held != nil {
			kind := r.Info().Kind
			err := held(ctx, r, func(name, value string) {
				if err := add(name, value); err != nil {
					warnf("%s %s: the value a container holds is not redacted: %v", kind, n, err)
				}
			})
			if err != nil {
				warnf("%s %s: could not read the secret values its containers hold (%v); output that shows an older value of one is not redacted", kind, n, err)
			}
		}
		for _, s := range secrets {
			if _, err := s.Reveal(ctx); err != nil && !errors.Is(err, engine.ErrSecretAbsent) {
				warnf("%v; output that shows its value is redacted only where the project's containers hold it", err)
			}
		}
	}
}
