package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// A Secret is the Starlark value secret() returns. It stands for a value
// that is read only when a rule that needs it runs; its String is a
// placeholder, SecretPlaceholder(name).
type Secret interface {
	starlark.Value
	// SecretName is the name given to secret().
	SecretName() string
	// Source says where the value comes from ("environment variable
	// DB_PASSWORD"), never the value; rule keys include it.
	Source() string
	// Reveal reads the value and, before returning it, hands it to the
	// redactor so that no output of ferry shows it. For an optional
	// secret whose source has no value, its error wraps ErrSecretAbsent.
	Reveal(ctx context.Context) (string, error)
	// Keyed returns an HMAC of the value under the workspace's secret key,
	// for keys and labels that must change when the value does.
	Keyed(ctx context.Context, ws *Workspace) (string, error)
}

// A SecretFile is a workspace file that holds a secret's value in clear:
// the file of secret(file = ...), or the .env file of secret(dotenv = ...).
// An age-encrypted file holds ciphertext, and is none. Evaluation records
// them (see RecordSecretFile) without reading them, so that image rules can
// refuse to copy them into an image.
type SecretFile struct {
	Secret string          // the secret's name
	Path   string          // workspace-relative slash path
	Pos    syntax.Position // where secret() was called
}

// ErrSecretAbsent is the error Reveal wraps for an optional secret whose
// source has no value: the variable or file it would fill is left out.
var ErrSecretAbsent = errors.New("secret absent")

// A SecretUser is a rule that passes secrets on, so that commands which
// show what such rules made (logs, exec) can teach the redactor them.
type SecretUser interface {
	Secrets() []Secret
}

// A SecretFinder recognises secret values in what ferry reads back from
// elsewhere (a command's output, a file, a container's environment), so
// that they reach Starlark as secrets, never as strings.
type SecretFinder interface {
	// Find returns a secret standing for value when value holds the
	// value of a secret that ferry has read; from says where value was
	// read ("the standard output of ctx.sh").
	Find(value, from string) (Secret, bool)
}

// SecretPlaceholder is what str() and print() show for the secret name.
func SecretPlaceholder(name string) string { return "<secret " + name + ">" }

// Case does not matter: str(tok).upper() is the same mistake.
var placeholderRE = regexp.MustCompile(`(?i)<secret [^<>\s]+>`)

// Argument types that hold secrets.
var (
	// SecretDict is a dict of names to secret() values.
	SecretDict Type = secretDictType{}
	// EnvDict is a dict of names to strings or secret() values.
	EnvDict Type = envDictType{}
)

type secretDictType struct{}

func (secretDictType) Describe() string { return "dict of string to secret" }
func (secretDictType) acceptsSecrets()  {}
func (secretDictType) Convert(v starlark.Value) (any, bool) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, false
	}
	out := make(map[string]Secret, d.Len())
	for _, item := range d.Items() {
		k, ok1 := item[0].(starlark.String)
		s, ok2 := item[1].(Secret)
		if !ok1 || !ok2 {
			return nil, false
		}
		out[string(k)] = s
	}
	return out, true
}

// An EnvValue is a plain string or a Secret.
type EnvValue struct {
	Plain  string
	Secret Secret // nil for a plain string
}

type envDictType struct{}

func (envDictType) Describe() string { return "dict of string to string or secret" }
func (envDictType) acceptsSecrets()  {}
func (envDictType) Convert(v starlark.Value) (any, bool) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, false
	}
	out := make(map[string]EnvValue, d.Len())
	for _, item := range d.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			return nil, false
		}
		switch val := item[1].(type) {
		case starlark.String:
			out[string(k)] = EnvValue{Plain: string(val)}
		case Secret:
			out[string(k)] = EnvValue{Secret: val}
		default:
			return nil, false
		}
	}
	return out, true
}

// checkSecrets refuses a secret, or a string built from a secret's
// placeholder, in an argument that is not meant to hold secrets.
func checkSecrets(p Param, v starlark.Value) error {
	_, accepts := p.Type.(interface{ acceptsSecrets() })
	return walkSecrets(v, 0, func(s Secret, str string) error {
		if s != nil && accepts {
			return nil
		}
		const how = "a secret reaches a process only as an environment variable or a file: pass it in task(secrets = {...}) or service(env = {...}, secret_files = {...}) and read it there"
		if s != nil {
			return fmt.Errorf("%s: secret %s cannot be used here: %s would be stored or shown where ferry cannot hide it; %s", p.Name, s.SecretName(), p.Name, how)
		}
		m := placeholderRE.FindString(str)
		return fmt.Errorf("%s: %q holds the placeholder %s, so it was built from a secret with str(), and would send the placeholder instead of the value; %s", p.Name, str, m, how)
	})
}

// walkSecrets calls found for each secret, and each string holding a
// secret placeholder, in v and the lists, tuples and dicts it holds.
func walkSecrets(v starlark.Value, depth int, found func(Secret, string) error) error {
	if depth > 8 {
		return nil
	}
	switch v := v.(type) {
	case Secret:
		return found(v, "")
	case starlark.String:
		if placeholderRE.MatchString(string(v)) {
			return found(nil, string(v))
		}
	case *starlark.List, starlark.Tuple:
		seq := v.(starlark.Indexable)
		for i := range seq.Len() {
			if err := walkSecrets(seq.Index(i), depth+1, found); err != nil {
				return err
			}
		}
	case *starlark.Dict:
		for _, kv := range v.Items() {
			for _, x := range kv {
				if err := walkSecrets(x, depth+1, found); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
