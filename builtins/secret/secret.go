// Package secret provides secret(): values read from the environment, a
// file, a .env file, an age-encrypted file or a command, only when a rule
// that needs them runs. A secret is opaque in Starlark, and every value
// read is handed to the redactor before anything else sees it.
package secret

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// Plugin provides secret().
type Plugin struct {
	// Redactor receives every value read, before any rule sees it.
	Redactor *redact.Redactor
	// Env is the selected environment (--env), "" for none: a .env file
	// F is then looked up as F.ENV first.
	Env string
	// Identity is the --identity file, "" for the default places.
	Identity string
}

// Builtins returns secret().
func (p *Plugin) Builtins() []*engine.Builtin {
	return []*engine.Builtin{{
		Name:       "secret",
		Permission: "secrets",
		Doc: "Declares a secret: a value read only when a rule that needs it runs (`plan`, `graph` and evaluation never read it, but for handing an `env` value, already in memory, to the redactor). " +
			"Give exactly one source: `env`, `file`, `encrypted`, `cmd`, or `dotenv` (with `env` naming the variable in it). " +
			"The value is opaque: `str()` and `print()` show `<secret NAME>`; `+`, `%`, `format()` and `json.encode` are errors. " +
			"Pass it to `task(secrets = ...)`, `service(env = ...)` or `service(secret_files = ...)`; " +
			"ferry removes it, and its JSON, base64, hex and URL-encoded forms, from all its output. See [secrets](secrets.md).",
		Params: []engine.Param{
			{Name: "name", Type: engine.String, Required: true, Positional: true, Doc: "Name shown in placeholders, messages and redacted output."},
			{Name: "env", Type: engine.String, Doc: "Environment variable holding the value; with `dotenv`, the variable to read from that file. " +
				"Without `dotenv`, no process ferry starts gets the variable unless given it (`task(secrets = ...)`), `os.env` of it gives this secret, " +
				"and the redactor learns its value at once. See [secrets](secrets.md#environment-variables)."},
			{Name: "file", Type: engine.String, Doc: "File holding the value (read as is), relative to the declaring file's folder."},
			{Name: "encrypted", Type: engine.String, Doc: "age-encrypted file (made with `ferry secret encrypt`), decrypted with the identity from `--identity`, `$FERRY_AGE_KEY` or the user's `ferry/age.key`."},
			{Name: "cmd", Type: engine.Command, Doc: "Command whose standard output (less one trailing newline) is the value, such as a password manager's; run at most once per ferry process."},
			{Name: "required", Type: engine.Bool, Default: "True", Doc: "False: when the source has no value (the variable is not set, the file or `.env` variable does not exist), the environment variable or file the secret would fill is left out instead of failing the rule. A source that is there but unreadable, or cannot be decrypted, still fails."},
			{Name: "dotenv", Type: engine.String, Doc: "A `.env` file to read variable `env` (default: `name`) from; with `--env E`, the file's `.E` variant (`.env.staging`) is read first when it exists."},
		},
		Returns: "a secret value.",
		Impl:    p.declare,
	}}
}

func (p *Plugin) declare(thread *starlark.Thread, c *engine.Call) (starlark.Value, error) {
	name := c.String("name")
	if name == "" || !validName(name) {
		return nil, c.Errorf("name must be letters, digits, '_', '-' or '.', got %q", name)
	}
	dir := engine.ModuleDir(thread)
	var root string
	ev := engine.EvaluationOf(thread)
	if ev != nil {
		root = ev.Workspace().Root
	}
	var clear []string // files that hold the value in clear
	var srcs []source
	if c.Has("env") && !c.Has("dotenv") {
		srcs = append(srcs, envSource(c.String("env")))
	}
	for _, param := range []string{"file", "encrypted", "dotenv"} {
		if !c.Has(param) {
			continue
		}
		rel, err := engine.JoinPath(dir, c.String(param))
		if err != nil {
			return nil, c.Errorf("%s: %v", param, err)
		}
		switch param {
		case "file":
			srcs = append(srcs, fileSource{root: root, rel: rel})
			clear = append(clear, rel)
		case "encrypted":
			srcs = append(srcs, ageSource{root: root, rel: rel, identity: p.Identity})
		case "dotenv":
			key := name
			if c.Has("env") {
				key = c.String("env")
			}
			srcs = append(srcs, dotenvSource{root: root, rel: rel, key: key, env: p.Env})
			if p.Env != "" {
				clear = append(clear, rel+"."+p.Env)
			}
			clear = append(clear, rel)
		}
	}
	if c.Has("cmd") {
		srcs = append(srcs, cmdSource{cmd: c.Value("cmd").(engine.Cmd), dir: filepath.Join(root, dir), ev: ev})
	}
	if len(srcs) != 1 {
		return nil, c.Errorf("give exactly one source: env, file, encrypted, cmd, or dotenv (with env naming the variable); got %d", len(srcs))
	}
	if ev != nil {
		for _, f := range clear {
			ev.RecordSecretFile(engine.SecretFile{Secret: name, Path: f, Pos: c.Pos})
		}
	}
	s := &Secret{name: name, pos: c.Pos, src: srcs[0], redactor: p.Redactor, optional: !c.Bool("required", true)}
	if env, ok := s.src.(envSource); ok {
		if err := declareEnv(ev, string(env), s); err != nil {
			return nil, c.Errorf("%v", err)
		}
	}
	return s, nil
}

// declareEnv makes environment variable name the source of s: it reaches
// no process that is not given it explicitly, os.env gives s, and the
// redactor learns its value at once. The value is in ferry's memory already,
// and a path ferry does not foresee may print it.
func declareEnv(ev *engine.Evaluation, name string, s *Secret) error {
	// An error (the variable is not set, or too short to redact) is the
	// error of every rule that uses the secret; the declaration stands.
	// The redactor learns the value even when the declaration is refused
	// below, for what evaluation printed before it.
	s.Reveal(context.Background())
	if ev != nil {
		return ev.DeclareSecretEnv(name, s)
	}
	return nil
}

func validName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// A source reads a secret's value.
type source interface {
	// String says where the value comes from, never the value.
	String() string
	// read returns the value; its errors never contain the value.
	read(ctx context.Context) (string, error)
}

// Secret is the value secret() returns. It implements engine.Secret.
type Secret struct {
	name     string
	pos      syntax.Position
	src      source
	redactor *redact.Redactor
	optional bool // required = False

	mu    sync.Mutex
	read  bool
	value string
	err   error
}

var (
	_ engine.Secret       = (*Secret)(nil)
	_ starlark.HasBinary  = (*Secret)(nil)
	_ starlark.HasUnary   = (*Secret)(nil)
	_ starlark.Comparable = (*Secret)(nil)
)

// String returns the placeholder <secret NAME>.
func (s *Secret) String() string { return engine.SecretPlaceholder(s.name) }

// Type returns "secret".
func (s *Secret) Type() string { return "secret" }

// Freeze does nothing: a Secret is immutable.
func (s *Secret) Freeze() {}

// Truth is True.
func (s *Secret) Truth() starlark.Bool { return starlark.True }

// Hash refuses: a secret is not a dict key.
func (s *Secret) Hash() (uint32, error) {
	return 0, fmt.Errorf("secret %s cannot be a dict key or set member: use its name instead", s.name)
}

// SecretName returns the name given to secret().
func (s *Secret) SecretName() string { return s.name }

// Source says where the value comes from.
func (s *Secret) Source() string { return s.src.String() }

func (s *Secret) misuse(what string) error {
	return fmt.Errorf("secret %s cannot be used with %s: that would put its value (or, through str(), its placeholder) into a plain string ferry cannot hide; "+
		"pass the secret whole to task(secrets = {...}) or service(env = {...}, secret_files = {...}) and build the string in the process that receives it", s.name, what)
}

// Binary refuses every operator, so "Bearer " + tok fails instead of
// sending a placeholder.
func (s *Secret) Binary(op syntax.Token, _ starlark.Value, _ starlark.Side) (starlark.Value, error) {
	return nil, s.misuse(op.String())
}

// Unary refuses every operator.
func (s *Secret) Unary(op syntax.Token) (starlark.Value, error) { return nil, s.misuse(op.String()) }

// CompareSameType refuses: comparing would reveal the value bit by bit.
func (s *Secret) CompareSameType(op syntax.Token, _ starlark.Value, _ int) (bool, error) {
	return false, s.misuse(op.String())
}

// MarshalJSON refuses, so json.encode cannot reveal or misrepresent it.
func (s *Secret) MarshalJSON() ([]byte, error) { return nil, s.misuse("json.encode") }

// Reveal reads the value once, hands it to the redactor and returns it.
// Its errors name the secret, its source and where it was declared.
func (s *Secret) Reveal(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.read {
		s.value, s.err = s.src.read(ctx)
		if s.err == nil && s.redactor != nil {
			s.err = s.redactor.Add(s.name, s.value)
			s.warnWeak()
		}
		switch {
		case s.optional && errors.As(s.err, new(*missingError)):
			s.value = ""
			s.err = fmt.Errorf("optional secret %q (from %s, declared at %s) has no value: %w", s.name, s.src, s.pos, engine.ErrSecretAbsent)
		case s.err != nil:
			s.value = ""
			s.err = fmt.Errorf("secret %q (from %s, declared at %s): %w", s.name, s.src, s.pos, s.err)
		}
		// A read cut short by cancellation is tried again next time.
		s.read = ctx.Err() == nil || s.err == nil
	}
	return s.value, s.err
}

// warnWeak warns, once the value is read, when it is hard to redact well
// (see redact.Weak). A value read back from elsewhere was warned about
// when it was read from its source.
func (s *Secret) warnWeak() {
	if _, back := s.src.(readBack); back || s.err != nil {
		return
	}
	if why := redact.Weak(s.value); why != "" {
		s.redactor.Warn(fmt.Sprintf("secret %q (declared at %s): %s; ferry redacts it wherever it turns up, which hides ordinary text, and what is around it may give it away: use a longer, random value", s.name, s.pos, why))
	}
}

// Keyed returns the HMAC-SHA256 of the value under the workspace's secret
// key (see WorkspaceKey), in hex.
func (s *Secret) Keyed(ctx context.Context, ws *engine.Workspace) (string, error) {
	v, err := s.Reveal(ctx)
	if err != nil {
		return "", err
	}
	key, err := WorkspaceKey(ws.Root)
	if err != nil {
		return "", err
	}
	return hmacHex(key, v), nil
}

// Wrap returns a secret named name that stands for value: a secret's value
// that ferry read back from elsewhere (from says where, such as "the
// environment of container shop-web-1"), so that it reaches Starlark as
// opaque as the secret it came from. The redactor learns the value at once.
func (p *Plugin) Wrap(name, value, from string) engine.Secret {
	s := &Secret{name: name, src: readBack{from: from, value: value}, redactor: p.Redactor}
	// A value too short to redact is refused by the redactor, and stays
	// opaque in Starlark all the same.
	s.Reveal(context.Background())
	return s
}

// Find returns a secret standing for value, named as the secret whose
// value it holds (whole, encoded, or within a longer string, as the
// redactor finds values), when it holds the value of a secret that ferry
// has read. Unlike Wrap, it does not teach the redactor value: what value
// reveals is redacted already, and the rest of it (the other lines of a
// file, say) is no secret.
func (p *Plugin) Find(value, from string) (engine.Secret, bool) {
	if p.Redactor == nil {
		return nil, false
	}
	name, ok := p.Redactor.Find(value)
	if !ok {
		return nil, false
	}
	return &Secret{name: name, src: readBack{from: from, value: value}}, true
}

// Matcher finds the values of the secrets read so far in bytes, such as
// the files of a build context; it is nil when none has been read.
func (p *Plugin) Matcher() *redact.Matcher {
	if p.Redactor == nil {
		return nil
	}
	return p.Redactor.Matcher()
}

// readBack is the source of a value that ferry read back from elsewhere.
type readBack struct{ from, value string }

func (r readBack) String() string                       { return r.from }
func (r readBack) read(context.Context) (string, error) { return r.value, nil }
