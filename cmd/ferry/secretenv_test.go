package main

// End-to-end tests of secrets read from ferry's own environment: the
// variable reaches only the processes given it, the redactor knows its
// value from the declaration on, and os.env gives the secret, not the value.

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// envSecretVar is the environment variable the tests' secret is read from.
const envSecretVar = "FERRY_TEST_ENV_SECRET"

func TestEnvSecretReachesOnlyTheTasksGivenIt(t *testing.T) {
	t.Setenv(envSecretVar, leakValue)
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `tok = secret("tok", env = "` + envSecretVar + `")
probe = secret("probe", cmd = "if [ -n \"${` + envSecretVar + `+x}\" ]; then echo inherited-the-variable; else echo clean-environment; fi")
task(name = "undeclared", cmd = "env", cache = False)
def _act(ctx):
    ctx.sh("env")
task(name = "action", run = _act, cache = False)
task(name = "declared", cmd = "test \"$TOK\" = \"$` + envSecretVar + `\" || echo TOK-differs; test \"$TOK\" = \"$(cat value.txt)\" && echo TOK-given", secrets = {"TOK": tok, "` + envSecretVar + `": tok}, cache = False)
task(name = "probed", cmd = "test \"$PROBE\" = clean-environment && echo probe-clean", secrets = {"PROBE": probe}, cache = False)
`,
		"value.txt": leakValue,
	})
	events := filepath.Join(t.TempDir(), "events.json")
	r := ws.ferryJSON(t, "--events", events, "run", "-k", "undeclared", "action", "declared", "probed")
	if r.code != 0 {
		t.Errorf("exit %d, want 0: %v failed", r.code, r.failed())
	}
	ev, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	for where, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "--events": string(ev)} {
		wantNoLeak(t, where, out)
		// Not redacted: not there at all.
		if strings.Contains(out, envSecretVar+"=") {
			t.Errorf("%s: a task that was not given %s got it:\n%s", where, envSecretVar, out)
		}
	}
	if len(r.output("undeclared")) == 0 || len(r.output("action")) == 0 {
		t.Fatalf("env printed nothing\n%s", r)
	}
	if got := strings.Join(r.output("declared"), ","); got != "TOK-given" {
		t.Errorf("a task given the secret (as TOK and as %s) did not get the value: %q\n%s", envSecretVar, got, r)
	}
	if got := strings.Join(r.output("probed"), ","); got != "probe-clean" {
		t.Errorf("the command of a cmd source: %q\n%s", got, r)
	}
}

// A value that leaks through a path ferry cannot foresee (here a file the
// task reads) is redacted although no selected rule uses the secret: the
// redactor learned the value when secret() was declared.
func TestEnvSecretRedactedFromDeclaration(t *testing.T) {
	t.Setenv(envSecretVar, leakValue)
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `tok = secret("tok", env = "` + envSecretVar + `")
task(name = "unforeseen", cmd = "cat value.txt; echo", cache = False)
`,
		"value.txt": leakValue,
	})
	events := filepath.Join(t.TempDir(), "events.json")
	r := ws.ferryJSON(t, "--events", events, "run", "unforeseen")
	r.wantCode(t, 0)
	ev, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	for where, out := range map[string]string{"stderr": r.stderr, "--events": string(ev)} {
		wantNoLeak(t, where, out)
	}
	if got := strings.Join(r.output("unforeseen"), ","); got != "[redacted tok]" {
		t.Errorf("output of unforeseen: got %q, want [redacted tok]\n%s", got, r)
	}
}

func TestOsEnvOfSecretSource(t *testing.T) {
	t.Setenv(envSecretVar, leakValue)
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `tok = secret("tok", env = "` + envSecretVar + `")
v = os.env("` + envSecretVar + `")
print("os.env gives", v, type(v))
task(name = "t", cmd = "true", secrets = {"TOK": v})
`,
	})
	for _, args := range [][]string{{"plan"}, {"lint", "--no-history"}} {
		r := ws.ferry(t, args...)
		wantNoLeak(t, args[0]+" stdout", r.stdout)
		wantNoLeak(t, args[0]+" stderr", r.stderr)
		r.wantStderr(t, "os.env gives <secret tok> secret")
	}

	// Read as a string before the secret is declared, the value may
	// already be printed or in a rule: ferry refuses.
	ws.write(t, "ferry.star", `v = os.env("`+envSecretVar+`")
tok = secret("tok", env = "`+envSecretVar+`")
`)
	r := ws.ferry(t, "plan")
	r.wantCode(t, exitConfig)
	r.wantStderr(t, `ferry.star:2:13: secret "tok": variable `+envSecretVar+` is read as a string by os.env at ferry.star:1:11, before this secret() declares it a secret's source`)
	wantNoLeak(t, "stderr", r.stderr)

	// A print of it before the declaration does not show it either: what
	// evaluation prints is held until it ends, when the redactor knows the
	// value.
	ws.write(t, "ferry.star", `print("early", os.env("`+envSecretVar+`"))
tok = secret("tok", env = "`+envSecretVar+`")
`)
	r = ws.ferry(t, "plan")
	r.wantCode(t, exitConfig)
	r.wantStderr(t, "early [redacted tok]")
	wantNoLeak(t, "stderr", r.stderr)

	// Unset, it reads as unset (None) either way, and nothing is refused.
	ws.write(t, "ferry.star", `print("before", os.env("FERRY_TEST_UNSET_VAR"))
tok = secret("tok", env = "FERRY_TEST_UNSET_VAR", required = False)
print("after", os.env("FERRY_TEST_UNSET_VAR", "dflt"))
`)
	r = ws.ferry(t, "plan")
	r.wantCode(t, 0)
	r.wantStderr(t, "before None", "after dflt")
}

// A secret read from a named pipe, a device or a huge file, as a ferry.star
// from a pull request may declare, fails its rule with what to do, instead
// of hanging ferry or exhausting its memory.
func TestSecretFileNotRegularOrHuge(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `task(name = "pipe", cmd = "true", secrets = {"T": secret("p", file = "pipe")}, cache = False)
task(name = "zero", cmd = "true", secrets = {"T": secret("z", file = "zero")}, cache = False)
task(name = "huge", cmd = "true", secrets = {"T": secret("h", dotenv = "huge.env", env = "T")}, cache = False)
`,
	})
	if err := syscall.Mkfifo(ws.path("pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", ws.path("zero")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ws.path("huge.env"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(ws.path("huge.env"), 64<<20); err != nil {
		t.Fatal(err)
	}
	r := ws.ferry(t, "run", "--keep-going")
	r.wantCode(t, 1)
	r.wantStderr(t,
		"cannot read file pipe (not a regular file): give a readable regular file of at most 1024 KiB",
		"cannot read file zero (not a regular file)",
		"cannot read file huge.env (larger than 1024 KiB)")
}
