package secret

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

const value = "hunter2-s3cr3t-value"

// garbage is a secret that was never encrypted, at an encrypted = path.
const garbage = "MyPlaintextPassw0rd-oo\n" + value

// capture is a test plugin whose keep(secrets = {...}) hands the secrets
// it gets to the test.
type capture struct{ got map[string]engine.Secret }

func (c *capture) Builtins() []*engine.Builtin {
	return []*engine.Builtin{{
		Name:   "keep",
		Params: []engine.Param{{Name: "secrets", Type: engine.SecretDict, Required: true}},
		Impl: func(_ *starlark.Thread, call *engine.Call) (starlark.Value, error) {
			c.got = call.Value("secrets").(map[string]engine.Secret)
			return starlark.None, nil
		},
	}}
}

// eval evaluates ferry.star (with files beside it) and returns what keep()
// got, the redactor, and the evaluation's error.
func eval(t testing.TB, p *Plugin, files map[string]string) (map[string]engine.Secret, string, error) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if p.Redactor == nil {
		p.Redactor = redact.New()
	}
	c := &capture{}
	var printed strings.Builder
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) { printed.WriteString(e.Text + "\n") }))
	_, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, engine.FileName)},
		Plugins:   []engine.Plugin{core.Plugin{}, p, c},
		Events:    bus,
	})
	return c.got, printed.String(), err
}

func TestSecretIsOpaque(t *testing.T) {
	t.Setenv("FERRY_TEST_TOK", value)
	head := "tok = secret(\"tok\", env = \"FERRY_TEST_TOK\")\n"
	ok := []string{
		`print(tok)`,
		`print("tok is", tok)`,
		`if str(tok) != "<secret tok>": fail(str(tok))`,
		`if type(tok) != "secret": fail(type(tok))`,
		`keep(secrets = {"A": tok})`,
		`x = [tok, tok]`,
		`x = "%d%%" % 50`,
		`x = 7 % 3`,
		`x = "{} {n}".format("a", n = [1])`,
	}
	for _, src := range ok {
		_, printed, err := eval(t, &Plugin{}, map[string]string{"ferry.star": head + src})
		if err != nil {
			t.Errorf("%s: %v", src, err)
		}
		if strings.Contains(printed, value) {
			t.Errorf("%s printed the value: %s", src, printed)
		}
	}
	bad := map[string]string{
		`x = "Bearer " + tok`:         "secret tok cannot be used with +",
		`x = tok + "!"`:               "secret tok cannot be used with +",
		`x = tok * 2`:                 "secret tok cannot be used with *",
		`x = tok < tok`:               "secret tok cannot be used with <",
		`x = json.encode({"t": tok})`: "secret tok cannot be used with json.encode",
		`x = {tok: 1}`:                "cannot be a dict key",
		`task(name = "t", cmd = ["curl", "Bearer %s" % tok])`:                         "ferry.star:2:47: secret tok cannot be formatted with % or format()",
		`x = "%s-%s" % ("a", tok)`:                                                    "secret tok cannot be formatted with % or format()",
		`x = "%(t)s" % {"t": tok}`:                                                    "secret tok cannot be formatted with % or format()",
		`x = "a"; x %= tok`:                                                           "ferry.star:2:15: secret tok cannot be formatted",
		`task(name = "t", cmd = "x", env = {"A": "{}".format(tok)})`:                  "ferry.star:2:53: secret tok cannot be formatted with % or format()",
		`x = "{t}".format(t = tok)`:                                                   "secret tok cannot be formatted with % or format()",
		`x = "{}{}".format(*["a", tok])`:                                              "secret tok cannot be formatted with % or format()",
		`x = "{t}".format(**{"t": [tok]})`:                                            "secret tok cannot be formatted with % or format()",
		`def f(v):` + "\n" + `    return "Bearer {}".format(v)` + "\n" + `x = f(tok)`: "ferry.star:3:31: secret tok cannot be formatted",
		`task(name = "t", cmd = "x", env = {"A": "<%s>" % str(tok)})`:                 `env: "<<secret tok>>" holds the placeholder <secret tok>`,
		`task(name = "t", cmd = "x", env = {"A": str(tok).upper()})`:                  "env: \"<SECRET TOK>\" holds the placeholder <SECRET TOK>",
		`task(name = "t", cmd = ["echo", tok])`:                                       "cmd: secret tok cannot be used here",
		`task(name = "t", cmd = "x", env = {"A": tok})`:                               "env: secret tok cannot be used here",
		`task(name = "t", cmd = "x", env = {"A": "1"}, secrets = {"A": tok})`:         "A is in both env and secrets",
		`task(name = "t", run = print, secrets = {"A": tok})`:                         "run = fn runs no command",
		`fail(tok)`:        "<secret tok>",
		`x = secret("t2")`: "give exactly one source",
		`x = secret("t2", env = "A", file = "b")`:         "give exactly one source",
		`x = secret("t 2", env = "A")`:                    "name must be",
		`x = secret("t2", file = "../../etc/shadow")`:     "leaves the workspace",
		`task(name = "t", cmd = "x", secrets = {"A": 1})`: "secrets: got dict, want dict of string to secret",
	}
	for src, want := range bad {
		_, printed, err := eval(t, &Plugin{}, map[string]string{"ferry.star": head + src})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", src, err, want)
			continue
		}
		if !strings.Contains(err.Error(), "ferry.star:2:") && !strings.Contains(want, "ferry.star:") {
			t.Errorf("%s: %v does not say where", src, err)
		}
		if strings.Contains(err.Error(), value) || strings.Contains(printed, value) {
			t.Errorf("%s: the value leaked: %v %s", src, err, printed)
		}
	}
}

func TestEvaluationReadsNoSecret(t *testing.T) {
	// Every source is broken: declaring them must still succeed.
	got, _, err := eval(t, &Plugin{}, map[string]string{"ferry.star": `keep(secrets = {
    "E": secret("e", env = "FERRY_TEST_UNSET"),
    "F": secret("f", file = "missing.txt"),
    "A": secret("a", encrypted = "missing.age"),
    "C": secret("c", cmd = "exit 3"),
    "D": secret("d", dotenv = ".env"),
})`})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("got %d secrets", len(got))
	}
}

// reveal declares one secret from src and reads it.
func reveal(t *testing.T, p *Plugin, src string, files map[string]string) (string, error) {
	t.Helper()
	if files == nil {
		files = map[string]string{}
	}
	files["ferry.star"] = "keep(secrets = {\"S\": " + src + "})"
	got, _, err := eval(t, p, files)
	if err != nil {
		t.Fatal(err)
	}
	return got["S"].Reveal(context.Background())
}

func TestSources(t *testing.T) {
	t.Setenv("FERRY_TEST_TOK", value)
	id, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	enc, err := Encrypt([]byte(value), []age.Recipient{id.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "age.key")
	os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600)
	otherFile := filepath.Join(t.TempDir(), "other.key")
	os.WriteFile(otherFile, []byte(other.String()+"\n"), 0o600)
	corrupt := append([]byte{}, enc...)
	corrupt[len(corrupt)-5] ^= 0xff
	// damage returns enc with the byte at offset off of the first
	// occurrence of marker changed.
	damage := func(marker string, off int) string {
		b := append([]byte{}, enc...)
		i := strings.Index(string(b), marker) + off
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	files := map[string]string{
		"tok.txt":      value,
		"pin.txt":      "1234",
		"sub/tok.txt":  value,
		".env":         "# comment\nTOK=" + value + "\nOTHER=other-long-value\n",
		".env.staging": "TOK=staging-" + value + "\n",
		"bad.env":      "TOK=\"" + value + "\n'x",
		"tok.age":      string(enc),
		"corrupt.age":  string(corrupt),
		"garbage.age":  garbage,
		"empty.age":    "",
		"armored.age":  "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n",
		"type.age":     damage("-> X25519 ", 3),
		"stanza.age":   damage("-> X25519 ", 10),
		"mac.age":      damage("\n--- ", 5),
		"intro.age":    damage("age-encryption.org", 0),
	}
	cases := []struct {
		name, src string
		p         Plugin
		want      string // the value, or a part of the error
	}{
		{"env", `secret("tok", env = "FERRY_TEST_TOK")`, Plugin{}, value},
		{"env missing", `secret("tok", env = "FERRY_TEST_UNSET")`, Plugin{}, `secret "tok" (from environment variable FERRY_TEST_UNSET, declared at ferry.star:1:28): environment variable FERRY_TEST_UNSET is not set: export it`},
		{"file", `secret("tok", file = "tok.txt")`, Plugin{}, value},
		{"file missing", `secret("tok", file = "nope.txt")`, Plugin{}, "file nope.txt does not exist: create it or fix the path"},
		{"file unreadable", `secret("tok", file = "sub")`, Plugin{}, "cannot read file sub (not a regular file): give a readable regular file"},
		{"dotenv", `secret("tok", dotenv = ".env", env = "TOK")`, Plugin{}, value},
		{"dotenv per environment", `secret("tok", dotenv = ".env", env = "TOK")`, Plugin{Env: "staging"}, "staging-" + value},
		{"dotenv falls back", `secret("OTHER", dotenv = ".env")`, Plugin{Env: "staging"}, "other-long-value"},
		{"dotenv no such variable", `secret("tok", dotenv = ".env", env = "NOPE")`, Plugin{}, ".env has no variable NOPE: add a line NOPE=... to it"},
		{"dotenv broken", `secret("tok", dotenv = "bad.env", env = "TOK")`, Plugin{}, "bad.env is not a valid .env file"},
		{"cmd", `secret("tok", cmd = "cat sub/tok.txt; echo")`, Plugin{}, value},
		{"cmd argv", `secret("tok", cmd = ["printenv", "FERRY_TEST_TOK"])`, Plugin{}, value},
		{"cmd fails", `secret("tok", cmd = "cat tok.txt >&2; exit 3")`, Plugin{}, "failed (exit status 3): run it by hand to see why"},
		{"cmd prints nothing", `secret("tok", cmd = "true")`, Plugin{}, "printed nothing"},
		{"encrypted", `secret("tok", encrypted = "tok.age")`, Plugin{Identity: keyFile}, value},
		{"encrypted wrong key", `secret("tok", encrypted = "tok.age")`, Plugin{Identity: otherFile}, "tok.age was not encrypted for this age identity (public key " + other.Recipient().String() + "): ask someone who can read it to add your public key to the recipients file and run `ferry secret rekey tok.age`"},
		{"encrypted corrupted", `secret("tok", encrypted = "corrupt.age")`, Plugin{Identity: keyFile}, "corrupt.age is corrupted (its encrypted content is damaged or cut short)"},
		{"encrypted garbage", `secret("tok", encrypted = "garbage.age")`, Plugin{Identity: keyFile}, "garbage.age is not an age-encrypted file: it may hold the secret in the clear. Encrypt it in place with `ferry secret encrypt --in garbage.age garbage.age`; if it was ever committed or shared unencrypted, treat the secret as exposed and rotate it"},
		{"encrypted empty", `secret("tok", encrypted = "empty.age")`, Plugin{Identity: keyFile}, "empty.age is empty: encrypt the secret into it with `ferry secret encrypt empty.age`"},
		{"encrypted armored", `secret("tok", encrypted = "armored.age")`, Plugin{Identity: keyFile}, "armored.age is an ASCII-armored age file (age -a), which ferry does not read"},
		{"encrypted damaged stanza type", `secret("tok", encrypted = "type.age")`, Plugin{Identity: keyFile}, "type.age has a damaged age header (it does not parse or does not authenticate): restore it from version control"},
		{"encrypted damaged stanza", `secret("tok", encrypted = "stanza.age")`, Plugin{Identity: keyFile}, "stanza.age was not encrypted for this age identity (public key " + id.Recipient().String() + "): ask someone who can read it to add your public key to the recipients file and run `ferry secret rekey stanza.age`; if your key was a recipient when it was last encrypted, its header is damaged: restore it from version control"},
		{"encrypted damaged MAC", `secret("tok", encrypted = "mac.age")`, Plugin{Identity: keyFile}, "mac.age has a damaged age header"},
		{"encrypted damaged intro", `secret("tok", encrypted = "intro.age")`, Plugin{Identity: keyFile}, "intro.age has a damaged age header"},
		{"encrypted not a file", `secret("tok", encrypted = "sub")`, Plugin{Identity: keyFile}, "not a regular file"},
		{"encrypted bad identity", `secret("tok", encrypted = "tok.age")`, Plugin{Identity: filepath.Join(t.TempDir())}, "age identity"},
		{"too short", `secret("pin", cmd = "cat pin.txt")`, Plugin{}, "secret pin is 4 bytes long; ferry cannot redact values shorter than 8 bytes safely"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := map[string]string{}
			for k, v := range files {
				fs[k] = v
			}
			p := tc.p
			got, err := reveal(t, &p, tc.src, fs)
			if err != nil {
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got error %v, want %q", err, tc.want)
				}
				for _, plain := range []string{value, garbage} {
					if part := leakedPart(err.Error(), plain); part != "" {
						t.Fatalf("error shows %q of a value: %v", part, err)
					}
				}
				if strings.Contains(err.Error(), "1234") {
					t.Fatalf("error shows the value: %v", err)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if r := p.Redactor.String(got); !strings.HasPrefix(r, "[redacted ") {
				t.Fatalf("the redactor does not know the value: %q", r)
			}
		})
	}
}

// A dotenv secret's source, part of rule keys and of the reasons they
// rerun, names the environment's file under --env.
func TestDotenvSourceNamesTheFilesRead(t *testing.T) {
	for env, want := range map[string]string{"": "variable TOK of .env", "staging": "variable TOK of .env.staging or .env"} {
		got, _, err := eval(t, &Plugin{Env: env}, map[string]string{"ferry.star": `keep(secrets = {"S": secret("tok", dotenv = ".env", env = "TOK")})`})
		if err != nil {
			t.Fatal(err)
		}
		if src := got["S"].Source(); src != want {
			t.Errorf("--env %q: source %q, want %q", env, src, want)
		}
	}
}

func TestKeyedUsesAPrivateWorkspaceKey(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	t.Setenv("FERRY_TEST_TOK", value)
	got, _, err := eval(t, &Plugin{}, map[string]string{"ferry.star": `keep(secrets = {"S": secret("tok", env = "FERRY_TEST_TOK")})`})
	if err != nil {
		t.Fatal(err)
	}
	ws1, ws2 := &engine.Workspace{Root: t.TempDir()}, &engine.Workspace{Root: t.TempDir()}
	a, err := got["S"].Keyed(context.Background(), ws1)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := got["S"].Keyed(context.Background(), ws1)
	other, _ := got["S"].Keyed(context.Background(), ws2)
	if a != again || a == other || len(a) != 64 {
		t.Fatalf("keyed: %s, again %s, other workspace %s", a, again, other)
	}
}

// BenchmarkKeyed measures what a secret adds to a rule's key check on
// every run (the value is read once per process): an HMAC under the
// workspace key, which is read once too. The baseline is reading the key
// file, as each check did before.
func BenchmarkKeyed(b *testing.B) {
	b.Setenv("XDG_STATE_HOME", b.TempDir())
	b.Setenv("FERRY_TEST_TOK", value)
	got, _, err := eval(b, &Plugin{}, map[string]string{"ferry.star": `keep(secrets = {"S": secret("tok", env = "FERRY_TEST_TOK")})`})
	if err != nil {
		b.Fatal(err)
	}
	ws := &engine.Workspace{Root: b.TempDir()}
	ctx := context.Background()
	if _, err := got["S"].Keyed(ctx, ws); err != nil {
		b.Fatal(err)
	}
	b.Run("key file read", func(b *testing.B) {
		for b.Loop() {
			if _, err := readWorkspaceKey(ws.Root); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("keyed", func(b *testing.B) {
		for b.Loop() {
			if _, err := got["S"].Keyed(ctx, ws); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestOptionalSecret(t *testing.T) {
	files := map[string]string{".env": "OTHER=other-long-value\n", "bad.age": "not an age file"}
	for src, absent := range map[string]bool{
		`secret("tok", env = "FERRY_TEST_UNSET", required = False)`: true,
		`secret("tok", file = "nope.txt", required = False)`:        true,
		`secret("tok", dotenv = ".env", required = False)`:          true,
		`secret("tok", dotenv = "nope.env", required = False)`:      true,
		`secret("tok", encrypted = "bad.age", required = False)`:    false,
		`secret("tok", cmd = "exit 1", required = False)`:           false,
		`secret("tok", env = "FERRY_TEST_UNSET")`:                   false,
	} {
		fs := map[string]string{}
		for k, v := range files {
			fs[k] = v
		}
		_, err := reveal(t, &Plugin{Identity: "/nonexistent"}, src, fs)
		if got := errors.Is(err, engine.ErrSecretAbsent); got != absent || err == nil {
			t.Errorf("%s: got %v, want absent %v", src, err, absent)
		}
	}
}

// Values read back from elsewhere come wrapped, and the redactor learns
// them at once.
func TestWrapAndFind(t *testing.T) {
	p := &Plugin{Redactor: redact.New()}
	if _, ok := p.Find(value, "here"); ok {
		t.Fatal("Find found a value no secret holds")
	}
	w := p.Wrap("tok", value, "the environment of container c")
	if w.String() != "<secret tok>" || w.Source() != "the environment of container c" {
		t.Errorf("Wrap gave %s from %s", w, w.Source())
	}
	if got, err := w.Reveal(context.Background()); got != value || err != nil {
		t.Errorf("Reveal: %q, %v", got, err)
	}
	if got := p.Redactor.String("x " + value); got != "x [redacted tok]" {
		t.Errorf("the redactor did not learn the value: %q", got)
	}
	s, ok := p.Find("url://u:"+value+"@db", "the labels of container c")
	if !ok || s.String() != "<secret tok>" {
		t.Errorf("Find: %v, %v", s, ok)
	}
	if got, err := s.Reveal(context.Background()); got != "url://u:"+value+"@db" || err != nil {
		t.Errorf("Reveal of a found secret: %q, %v", got, err)
	}
	// The rest of a text that holds a value is not hidden from then on.
	file := "listen: 0.0.0.0:8080\nlog_level: debug\ntoken: " + value + "\n"
	if _, ok := p.Find(file, "file config.yml"); !ok {
		t.Fatal("Find missed the value in a file")
	}
	if got := p.Redactor.String("log_level: debug"); got != "log_level: debug" {
		t.Errorf("after Find, another line of the file is hidden: %q", got)
	}
	if _, err := starlark.Binary(syntax.PLUS, s, starlark.String("x")); err == nil {
		t.Error("a found secret can be added to a string")
	}
	if _, ok := (&Plugin{}).Find(value, "here"); ok {
		t.Error("Find without a redactor found a value")
	}
}

// leakedPart returns a part of secret, of 6 bytes or more, that out shows,
// or "".
func leakedPart(out, secret string) string {
	for i := 0; i+6 <= len(secret); i++ {
		if strings.Contains(out, secret[i:i+6]) {
			return secret[i : i+6]
		}
	}
	return ""
}

// TestSecretFilesRecorded: the evaluation learns which files hold a value
// in clear (file =, dotenv = and its --env variant), and not the
// ciphertext of encrypted =, without reading any of them.
func TestSecretFilesRecorded(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, engine.FileName), []byte(`load("//sub/s.star", "x")
a = secret("a", file = "conf/a.token")
b = secret("b", dotenv = ".env", env = "B")
c = secret("c", encrypted = "c.age")
d = secret("d", env = "D")
`), 0o644)
	os.WriteFile(filepath.Join(dir, "sub/s.star"), []byte(`x = secret("x", file = "x.token")`+"\n"), 0o644)
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, engine.FileName)},
		Plugins:   []engine.Plugin{&Plugin{Env: "staging"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Eval.SecretFiles() {
		got = append(got, fmt.Sprintf("%s %s %s:%d", f.Secret, f.Path, filepath.Base(f.Pos.Filename()), f.Pos.Line))
	}
	want := []string{"x sub/x.token s.star:1", "a conf/a.token ferry.star:2", "b .env.staging ferry.star:3", "b .env ferry.star:3"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestWeakValueWarned(t *testing.T) {
	for _, c := range []struct {
		value string
		warn  string
	}{
		{"password", `secret "db_password" (declared at ferry.star:1:28): its value is a word`},
		{"x9-Q2_z7", `secret "db_password" (declared at ferry.star:1:28): its value is only 8 bytes long`},
		{value, ""},
	} {
		red := redact.New()
		var warnings []string
		red.SetWarn(func(msg string) { warnings = append(warnings, msg) })
		p := &Plugin{Redactor: red}
		files := map[string]string{"pw.txt": c.value, "ferry.star": `keep(secrets = {"S": secret("db_password", file = "pw.txt")})`}
		got, _, err := eval(t, p, files)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := got["S"].Reveal(context.Background()); err != nil {
			t.Fatal(err)
		}
		got["S"].Reveal(context.Background())
		switch {
		case c.warn == "" && len(warnings) > 0:
			t.Errorf("%q: unexpected warnings %q", c.value, warnings)
		case c.warn != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], c.warn) || strings.Contains(warnings[0], "="+c.value)):
			t.Errorf("%q: got %q, want one warning with %q", c.value, warnings, c.warn)
		}
	}
}
