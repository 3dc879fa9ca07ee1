package main

// End-to-end tests of secrets: every leak attempt through every output of
// ferry, lazy reading, the age commands, and the container sinks.

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ferryhq/ferry/engine/redact"
)

const leakValue = `hunter2-"s3cr3t"/value&more`

// wantNoLeak fails when any form of leakValue appears in out.
func wantNoLeak(t *testing.T, where, out string) {
	t.Helper()
	for _, f := range redact.Forms(leakValue) {
		if strings.Contains(out, f) {
			t.Errorf("%s shows the secret (as %q):\n%s", where, f, out)
		}
	}
}

func TestSecretLeakAttempts(t *testing.T) {
	t.Parallel()
	attempts := map[string]string{
		"echo":        `echo "token: $TOK"`,
		"env":         `env | grep TOK`,
		"stderr":      `echo "$TOK" >&2`,
		"split":       `printf %s "${TOK%%/*}"; sleep 0.2; printf '%s\n' "/${TOK#*/}"`,
		"base64":      `printf %s "$TOK" | base64 -w0; echo; printf 'xy%s' "$TOK" | base64 -w0; echo; printf 'x%s' "$TOK" | base64 -w0; echo`,
		"basic-auth":  `printf 'user:%s' "$TOK" | base64 -w0; echo`,
		"hex":         `printf %s "$TOK" | od -An -tx1 | tr -d ' \n'; echo`,
		"json":        `printf '{"token": "%s"}\n' "$(printf %s "$TOK" | sed 's/"/\\"/g')"`,
		"urlencoded":  `python3 -c 'import os, urllib.parse; print(urllib.parse.quote(os.environ["TOK"], safe=""))'`,
		"fails":       `echo "bad token $TOK"; exit 3`,
		"multi-write": `for i in 1 2 3; do printf '%s' "$TOK"; done; echo`,
		// A line over 64 KiB is cut; the value straddles the cut.
		"long-line": `head -c 65530 /dev/zero | tr '\0' a; printf %s "${TOK%%\"*}"; sleep 0.2; printf '%s\n' "\"${TOK#*\"}"`,
		// base64 wraps at 76 columns: the encoded value crosses the break.
		"base64-wrapped": `printf '%s%s' 0123456789012345678901234567890123456789012345678901 "$TOK" | base64`,
		"urlencoded-lc":  `python3 -c 'import os, re, urllib.parse; print(re.sub("%..", lambda m: m.group(0).lower(), urllib.parse.quote(os.environ["TOK"], safe="")))'`,
		"json-slash":     `python3 -c 'import json, os; print(json.dumps({"t": os.environ["TOK"]}).replace("/", "\\/"))'`,
	}
	var star strings.Builder
	star.WriteString("tok = secret(\"tok\", env = \"FERRY_TEST_SECRET\")\nprint(\"the token is\", tok)\n")
	for name, cmd := range attempts {
		b, _ := json.Marshal(cmd)
		star.WriteString("task(name = \"" + name + "\", cmd = " + string(b) + ", secrets = {\"TOK\": tok}, cache = False)\n")
	}
	ws := newWorkspace(t, map[string]string{"ferry.star": star.String()})
	for _, format := range []string{"console", "json"} {
		events := filepath.Join(t.TempDir(), "events.json")
		r := ws.ferry(t, "--log-format", format, "--events", events, "run", "-k")
		if r.code != exitFailed {
			t.Fatalf("%s: exit %d, want %d (the failing task)\n%s", format, r.code, exitFailed, r.stderr)
		}
		ev, err := os.ReadFile(events)
		if err != nil {
			t.Fatal(err)
		}
		for where, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "--events": string(ev)} {
			wantNoLeak(t, format+" "+where, out)
			if where != "stdout" && strings.Count(out, "[redacted tok]") < len(attempts) {
				t.Errorf("%s %s: want [redacted tok] for each attempt:\n%s", format, where, out)
			}
		}
		if !strings.Contains(r.stderr, "<secret tok>") {
			t.Errorf("print(tok) did not show the placeholder:\n%s", r.stderr)
		}
		// Each attempt's output shows [redacted tok], and no piece of
		// the value.
		redacted := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(string(ev)), "\n") {
			var e struct{ Rule, Text string }
			json.Unmarshal([]byte(line), &e)
			if strings.Contains(e.Text, "[redacted tok]") {
				redacted[e.Rule] = true
			}
		}
		for name := range attempts {
			if !redacted[name] {
				t.Errorf("%s: no output of %s shows [redacted tok]", format, name)
			}
		}
		for where, out := range map[string]string{"stderr": r.stderr, "--events": string(ev)} {
			if strings.Contains(out, "s3cr3t") {
				t.Errorf("%s %s shows part of the secret", format, where)
			}
		}
	}
}

func TestSecretErrorsShowNoValue(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `tok = secret("tok", env = "FERRY_TEST_SECRET")
task(name = "t", cmd = ["curl", "-H", "Bearer %s" % tok])
`})
	r := ws.ferry(t, "run")
	r.wantCode(t, exitConfig)
	r.wantStderr(t, `ferry.star:2:53: secret tok cannot be formatted with % or format(): that would put its placeholder <secret tok> in the string instead of the value`)
	wantNoLeak(t, "stderr", r.stderr)

	ws.write(t, "ferry.star", `task(name = "t", cmd = "true", secrets = {"A": secret("db", env = "FERRY_TEST_UNSET_VAR")})`)
	r = ws.ferry(t, "run")
	r.wantCode(t, exitFailed)
	r.wantStderr(t, `secret "db" (from environment variable FERRY_TEST_UNSET_VAR, declared at ferry.star:1:54): environment variable FERRY_TEST_UNSET_VAR is not set: export it before running ferry`)
}

func TestSecretsReadOnlyWhenNeeded(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `tok = secret("tok", cmd = "touch read.marker; echo long-enough-value")
task(name = "use", cmd = "test \"$TOK\" = long-enough-value && echo ok", secrets = {"TOK": tok})
task(name = "other", cmd = "true")
`})
	for _, args := range [][]string{{"plan"}, {"graph"}, {"lint"}, {"run", "other"}} {
		r := ws.ferry(t, args...)
		r.wantCode(t, 0)
		if ws.exists("read.marker") {
			t.Fatalf("ferry %s read the secret", args[0])
		}
	}
	r := ws.ferryJSON(t, "run", "use")
	r.wantCode(t, 0)
	if !ws.exists("read.marker") || strings.Join(r.output("use"), "") != "ok" {
		t.Fatalf("the task did not get the secret: %v\n%s", r.output("use"), r.stderr)
	}
}

func TestSecretAgeCommands(t *testing.T) {
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `tok = secret("tok", encrypted = "secrets/tok.age")
task(name = "use", cmd = "printf %s \"$TOK\" > got.txt", secrets = {"TOK": tok}, cache = False)
`})
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("FERRY_AGE_KEY", "")
	// Alice's key in the default place, Bob's in a file.
	alice := ws.ferry(t, "secret", "keygen")
	alice.wantCode(t, 0)
	bobFile := filepath.Join(t.TempDir(), "bob.key")
	bob := ws.ferry(t, "secret", "keygen", "-o", bobFile)
	bob.wantCode(t, 0)
	if r := ws.ferry(t, "secret", "keygen"); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("keygen replaced an identity: %s", r.stderr)
	}
	if fi, err := os.Stat(bobFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file: %v %v", fi, err)
	}
	ws.write(t, "ferry.recipients", "# alice\n"+alice.stdout)
	os.MkdirAll(ws.path("secrets"), 0o755)

	enc := exec.Command(ferryBin, "secret", "encrypt", "secrets/tok.age")
	enc.Dir, enc.Stdin = ws.dir, strings.NewReader(leakValue)
	if out, err := enc.CombinedOutput(); err != nil {
		t.Fatalf("encrypt: %v\n%s", err, out)
	}
	if strings.Contains(ws.read(t, "secrets/tok.age"), "s3cr3t") {
		t.Fatal("the .age file holds the plaintext")
	}
	dec := ws.ferry(t, "secret", "decrypt", "secrets/tok.age")
	if dec.code != 0 || dec.stdout != leakValue {
		t.Fatalf("decrypt: %q %s", dec.stdout, dec.stderr)
	}
	// Bob cannot read it until he is a recipient and it is encrypted again.
	r := ws.ferry(t, "--identity", bobFile, "run")
	r.wantCode(t, exitFailed)
	r.wantStderr(t, "secrets/tok.age was not encrypted for this age identity (public key ", "): ask someone who can read it to add your public key")
	ws.write(t, "ferry.recipients", "# alice\n"+alice.stdout+"# bob\n"+bob.stdout)

	// edit: the editor appends to the plaintext, which is then re-encrypted
	// for both; the private copy is gone afterwards.
	edit := exec.Command(ferryBin, "secret", "edit", "secrets/tok.age")
	edit.Dir = ws.dir
	edit.Env = append(os.Environ(), `EDITOR=sh -c 'printf -- -edited >> "$1"; dirname "$1" > `+ws.path("editdir")+`' sh`)
	if out, err := edit.CombinedOutput(); err != nil {
		t.Fatalf("edit: %v\n%s", err, out)
	}
	d := strings.TrimSpace(ws.read(t, "editdir"))
	if _, err := os.Stat(d); d == "" || err == nil {
		t.Fatalf("the plaintext folder %q was not removed", d)
	}
	r = ws.ferry(t, "--identity", bobFile, "run")
	r.wantCode(t, 0)
	if got := ws.read(t, "got.txt"); got != leakValue+"-edited" {
		t.Fatalf("bob read %q", got)
	}
	// FERRY_AGE_KEY holds the identity itself.
	key, _ := os.ReadFile(bobFile)
	t.Setenv("FERRY_AGE_KEY", string(key))
	ws.ferry(t, "run").wantCode(t, 0)

	// A corrupted file.
	b := []byte(ws.read(t, "secrets/tok.age"))
	b[len(b)-3] ^= 0xff
	ws.write(t, "secrets/tok.age", string(b))
	r = ws.ferry(t, "run")
	r.wantCode(t, exitFailed)
	r.wantStderr(t, "secrets/tok.age is corrupted")
	wantNoLeak(t, "stderr", r.stderr)
}

// wantNoPart fails when out shows any part of secret 6 bytes or longer.
func wantNoPart(t *testing.T, where, out, secret string) {
	t.Helper()
	for i := 0; i+6 <= len(secret); i++ {
		if strings.Contains(out, secret[i:i+6]) {
			t.Errorf("%s shows %q of the secret:\n%s", where, secret[i:i+6], out)
			return
		}
	}
}

// ageWorkspace returns a workspace whose ferry.star reads secret tok from
// secrets/tok.age, with files, and the identity file of its one recipient.
func ageWorkspace(t *testing.T, files map[string]string) (*testWorkspace, string) {
	t.Helper()
	files["ferry.star"] = `tok = secret("tok", encrypted = "secrets/tok.age")
task(name = "use", cmd = "printf %s \"$TOK\" > got.txt", secrets = {"TOK": tok}, cache = False)
`
	ws := newWorkspace(t, files)
	t.Setenv("FERRY_AGE_KEY", "")
	key := filepath.Join(t.TempDir(), "alice.key")
	r := ws.ferry(t, "secret", "keygen", "-o", key)
	r.wantCode(t, 0)
	ws.write(t, "ferry.recipients", r.stdout)
	return ws, key
}

// A secret committed in the clear at an encrypted = path is reported as
// such, and no command quotes it.
func TestSecretNotAgeFile(t *testing.T) {
	const plain = "MyPlaintextPassw0rd-oo\nsecond-line-of-it\n"
	ws, key := ageWorkspace(t, map[string]string{"secrets/tok.age": plain})
	want := "secrets/tok.age is not an age-encrypted file: it may hold the secret in the clear. " +
		"Encrypt it in place with `ferry secret encrypt --in secrets/tok.age secrets/tok.age`; " +
		"if it was ever committed or shared unencrypted, treat the secret as exposed and rotate it"
	for _, args := range [][]string{{"run"}, {"secret", "decrypt", "secrets/tok.age"}, {"secret", "edit", "secrets/tok.age"}} {
		r := ws.ferry(t, append([]string{"--identity", key}, args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("ferry %s: exit %d, want %q:\n%s", strings.Join(args, " "), r.code, want, r.stderr)
		}
		wantNoPart(t, "ferry "+strings.Join(args, " "), r.stdout+r.stderr, plain)
	}
	if got := ws.read(t, "secrets/tok.age"); got != plain {
		t.Fatalf("edit changed the file: %q", got)
	}
}

// With -C DIR, the age commands resolve every path they are given in DIR,
// as if ferry had been started there.
func TestSecretCommandsUnderDirFlag(t *testing.T) {
	ws, key := ageWorkspace(t, map[string]string{"plain.txt": leakValue})
	b, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	ws.write(t, "keys/alice.key", string(b))
	ws.write(t, "other.recipients", ws.read(t, "ferry.recipients"))
	os.MkdirAll(ws.path("secrets"), 0o755)
	parent, dir := filepath.Split(ws.dir)
	ferry := func(args ...string) *runResult {
		return startFerry(t, parent, append([]string{"-C", dir, "--identity", "keys/alice.key"}, args...)...).wait(t)
	}
	ferry("secret", "encrypt", "--in", "plain.txt", "--recipients", "other.recipients", "secrets/tok.age").wantCode(t, 0)
	if !ws.exists("secrets/tok.age") {
		t.Fatal("encrypt did not write secrets/tok.age in DIR")
	}
	if r := ferry("secret", "decrypt", "secrets/tok.age"); r.code != 0 || r.stdout != leakValue {
		t.Fatalf("decrypt: %s", r)
	}
	t.Setenv("EDITOR", `sh -c 'printf -- -edited >> "$1"' sh`)
	ferry("secret", "edit", "secrets/tok.age").wantCode(t, 0)
	ferry("run").wantCode(t, 0)
	if got := ws.read(t, "got.txt"); got != leakValue+"-edited" {
		t.Fatalf("after edit, the task got %q", got)
	}
}

// Adding a recipient takes a rekey: an edit that changes nothing says so.
func TestSecretRekey(t *testing.T) {
	ws, alice := ageWorkspace(t, map[string]string{"plain.txt": leakValue})
	aliceKey := ws.read(t, "ferry.recipients")
	bob := filepath.Join(t.TempDir(), "bob.key")
	r := ws.ferry(t, "secret", "keygen", "-o", bob)
	r.wantCode(t, 0)
	bobKey := r.stdout
	os.MkdirAll(ws.path("secrets"), 0o755)
	ws.ferry(t, "secret", "encrypt", "--in", "plain.txt", "secrets/tok.age").wantCode(t, 0)
	decrypts := func(key string) bool {
		r := ws.ferry(t, "--identity", key, "secret", "decrypt", "secrets/tok.age")
		return r.code == 0 && r.stdout == leakValue
	}
	if !decrypts(alice) || decrypts(bob) {
		t.Fatal("before bob is added: alice should decrypt, bob not")
	}

	ws.write(t, "ferry.recipients", aliceKey+bobKey)
	t.Setenv("EDITOR", "true")
	r = ws.ferry(t, "--identity", alice, "secret", "edit", "secrets/tok.age")
	r.wantCode(t, 0)
	r.wantStderr(t, "secrets/tok.age unchanged; to re-encrypt it for the current recipients, run `ferry secret rekey secrets/tok.age`")
	if decrypts(bob) {
		t.Fatal("an unchanged edit encrypted the file again")
	}
	r = ws.ferry(t, "--identity", alice, "secret", "edit", "secrets/new.age")
	r.wantCode(t, 0)
	r.wantStderr(t, "secrets/new.age not created: nothing was saved")
	if ws.exists("secrets/new.age") {
		t.Fatal("an edit that saved nothing created the file")
	}
	r = ws.ferry(t, "--identity", alice, "secret", "rekey", "secrets/tok.age")
	r.wantCode(t, 0)
	r.wantStderr(t, "re-encrypted secrets/tok.age for the current recipients")
	if !decrypts(alice) || !decrypts(bob) {
		t.Fatal("after rekey, alice and bob should both decrypt")
	}

	// Bob leaves; a file bob cannot read stops a rekey, which says why.
	ws.write(t, "ferry.recipients", aliceKey)
	ws.ferry(t, "--identity", alice, "secret", "rekey", "secrets/tok.age").wantCode(t, 0)
	if decrypts(bob) {
		t.Fatal("after bob left and a rekey, bob still decrypts")
	}
	r = ws.ferry(t, "--identity", bob, "secret", "rekey", "secrets/tok.age")
	if r.code == 0 || !strings.Contains(r.stderr, "secrets/tok.age was not encrypted for this age identity") {
		t.Fatalf("rekey by bob: %s", r)
	}
}

// A signal that stops ferry secret edit while the editor runs removes the
// plaintext's folder, and leaves the file as it was.
func TestSecretEditCleansUpOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ws, key := ageWorkspace(t, map[string]string{"plain.txt": leakValue})
			os.MkdirAll(ws.path("secrets"), 0o755)
			ws.ferry(t, "secret", "encrypt", "--in", "plain.txt", "secrets/tok.age").wantCode(t, 0)
			// The editor says where the plaintext is and sleeps, as sleep
			// (same PID), without ferry's output.
			ws.write(t, "editor.sh", "#!/bin/sh\necho $$ > "+ws.path("editor.pid")+"\ndirname \"$1\" > "+ws.path("editdir.tmp")+
				"\nmv "+ws.path("editdir.tmp")+" "+ws.path("editdir")+"\nexec sleep 60 </dev/null >/dev/null 2>&1\n")
			os.Chmod(ws.path("editor.sh"), 0o755)
			t.Setenv("EDITOR", ws.path("editor.sh"))
			p := ws.start(t, "--identity", key, "secret", "edit", "secrets/tok.age")
			eventually(t, "the editor runs", func() bool { return ws.exists("editdir") })
			d := strings.TrimSpace(ws.read(t, "editdir"))
			t.Cleanup(func() { os.RemoveAll(d) })
			t.Cleanup(func() {
				if pid, err := strconv.Atoi(strings.TrimSpace(ws.read(t, "editor.pid"))); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			if _, err := os.Stat(d); err != nil {
				t.Fatalf("the plaintext folder: %v", err)
			}
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			r := p.wait(t)
			r.wantCode(t, 128+int(sig))
			if _, err := os.Stat(d); err == nil {
				t.Fatalf("after %s, the plaintext folder %s is still there", sig, d)
			}
			if r := ws.ferry(t, "--identity", key, "secret", "decrypt", "secrets/tok.age"); r.stdout != leakValue {
				t.Fatalf("the file changed: %s", r)
			}
		})
	}
}

// The plaintext folder of a ferry secret edit killed by SIGKILL is removed
// by the next secret command, which says so; the folder of a live edit, of
// another user or of an older ferry is not.
func TestSecretEditLeftoverRemoved(t *testing.T) {
	ws, key := ageWorkspace(t, map[string]string{"plain.txt": leakValue})
	os.MkdirAll(ws.path("secrets"), 0o755)
	ws.ferry(t, "secret", "encrypt", "--in", "plain.txt", "secrets/tok.age").wantCode(t, 0)
	// The editor says where the plaintext is and sleeps, as sleep (same
	// PID), without ferry's output; $MARK tells two edits apart.
	ws.write(t, "editor.sh", "#!/bin/sh\necho $$ > "+ws.path("editor-$MARK.pid")+"\ndirname \"$1\" > "+ws.path("editdir-$MARK.tmp")+
		"\nmv "+ws.path("editdir-$MARK.tmp")+" "+ws.path("editdir-$MARK")+"\nexec sleep 60 </dev/null >/dev/null 2>&1\n")
	os.Chmod(ws.path("editor.sh"), 0o755)
	t.Setenv("EDITOR", ws.path("editor.sh"))
	edit := func(mark string) (*ferryProc, string) {
		t.Setenv("MARK", mark)
		p := ws.start(t, "--identity", key, "secret", "edit", "secrets/tok.age")
		eventually(t, "editor "+mark+" runs", func() bool { return ws.exists("editdir-" + mark) })
		d := strings.TrimSpace(ws.read(t, "editdir-"+mark))
		t.Cleanup(func() { os.RemoveAll(d) })
		t.Cleanup(func() {
			if pid, err := strconv.Atoi(strings.TrimSpace(ws.read(t, "editor-"+mark+".pid"))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		})
		return p, d
	}
	killed, left := edit("killed")
	live, liveDir := edit("live")
	// Its editor lives on, orphaned, and keeps ferry's output open.
	if err := killed.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the killed ferry is gone", func() bool { return !processAlive(killed.cmd.Process.Pid) })
	if _, err := os.Stat(filepath.Join(left, "tok")); err != nil {
		t.Fatalf("SIGKILL left no plaintext behind: %v", err)
	}
	// Folders that are not a killed edit's, next to it.
	base := filepath.Dir(left)
	older := filepath.Join(base, "ferry-secret-"+strconv.Itoa(os.Getpid())+"00") // made by a ferry that took no lock
	others := []string{older}
	if os.Getuid() == 0 {
		theirs := filepath.Join(base, "ferry-secret-"+strconv.Itoa(os.Getpid())+"-1")
		if err := os.Mkdir(theirs, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chown(theirs, 65534, 65534)
		others = append(others, theirs)
	}
	os.Mkdir(older, 0o700)
	for _, d := range others {
		t.Cleanup(func() { os.RemoveAll(d) })
	}

	t.Setenv("EDITOR", "true")
	// A later ferry, as a process of its own, as the user would start it.
	r := ws.ferryProcess(t, "--identity", key, "secret", "edit", "secrets/tok.age")
	r.wantCode(t, 0)
	r.wantStderr(t, "removed "+left+", the private folder of a `ferry secret edit` (process "+strconv.Itoa(killed.cmd.Process.Pid)+
		") that was killed before it could remove it, with a decrypted secret in it; last changed ", " ago")
	if _, err := os.Stat(left); err == nil {
		t.Fatalf("the killed edit's folder %s is still there", left)
	}
	for _, d := range append(others, liveDir) {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
		if strings.Contains(r.stderr, d) {
			t.Errorf("the note names %s:\n%s", d, r.stderr)
		}
	}
	// Another secret command has nothing left to remove; the live edit
	// ends as it would have.
	if r := ws.ferry(t, "--identity", key, "secret", "decrypt", "secrets/tok.age"); r.stdout != leakValue || strings.Contains(r.stderr, "removed") {
		t.Fatalf("decrypt: %s", r)
	}
	live.cmd.Process.Signal(syscall.SIGTERM)
	live.wait(t).wantCode(t, 128+int(syscall.SIGTERM))
	if _, err := os.Stat(liveDir); err == nil {
		t.Fatalf("the live edit's folder %s is still there", liveDir)
	}
}

// Under --env, a dotenv secret's source, in the reason a rule reruns,
// names the environment's file it is read from first.
func TestSecretDotenvSourceNamesEnvFile(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `environment("staging")
task(name = "use", cmd = "true", secrets = {"API": secret("api", dotenv = ".env", env = "API")})
`,
		".env":         "API=base-value-long\n",
		".env.staging": "API=staging-value-1\n",
	})
	ws.ferry(t, "--env", "staging", "run").wantCode(t, 0)
	ws.write(t, ".env.staging", "API=staging-value-2\n")
	r := ws.ferry(t, "--env", "staging", "run")
	r.wantCode(t, 0)
	r.wantStderr(t, "secret api from variable API of .env.staging or .env changed")
	ws.write(t, ".env", "API=base-value-longer\n")
	r = ws.ferry(t, "run")
	r.wantCode(t, 0)
	r.wantStderr(t, "use │ started: definition changed")
	ws.write(t, ".env", "API=base-value-longest\n")
	ws.ferry(t, "run").wantStderr(t, "secret api from variable API of .env changed")
}

// Encrypting into a folder that does not exist says so, and edit says it
// before the editor runs.
func TestSecretEncryptIntoMissingFolder(t *testing.T) {
	ws, _ := ageWorkspace(t, map[string]string{"plain.txt": leakValue})
	want := "cannot write nope/tok.age: folder nope does not exist; create it (mkdir -p nope) or fix the path"
	ws.ferry(t, "secret", "encrypt", "--in", "plain.txt", "nope/tok.age").wantStderr(t, want)
	t.Setenv("EDITOR", "touch "+ws.path("edited.marker")+"; true")
	r := ws.ferry(t, "secret", "edit", "nope/tok.age")
	r.wantCode(t, exitConfig)
	r.wantStderr(t, want)
	if ws.exists("edited.marker") {
		t.Fatal("edit ran the editor before finding that it could not write the file")
	}
}

func TestSecretRefusedWhereItWouldStay(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		`image(name = "i", repo = "r", context = ".", build_args = {"T": tok})`:        "build_args: secret tok cannot be used here",
		`service(name = "s", image = "busybox", labels = {"T": tok})`:                  "labels: secret tok cannot be used here",
		`service(name = "s", image = "busybox", command = ["--token", tok])`:           "command: secret tok cannot be used here",
		`service(name = "s", image = "busybox", secret_files = {"run/tok": tok})`:      `secret_files: "run/tok" is not a clean absolute path`,
		`service(name = "s", image = "busybox", env = {"T": "Bearer {}".format(tok)})`: "secret tok cannot be formatted with % or format()",
		`service(name = "s", image = "busybox", env = {"T": "Bearer " + str(tok)})`:    "holds the placeholder <secret tok>",
	} {
		ws := newWorkspace(t, map[string]string{"ferry.star": "tok = secret(\"tok\", env = \"FERRY_TEST_SECRET\")\n" + src + "\n"})
		r := ws.ferry(t, "graph")
		r.wantCode(t, exitConfig)
		r.wantStderr(t, "ferry.star:2:", want)
		wantNoLeak(t, "stderr", r.stderr)
	}
}

const secretAppMain = `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	b, err := os.ReadFile("/run/secrets/tok")
	fmt.Printf("env=%s file=%s err=%v\n", os.Getenv("TOK"), b, err)
	if len(os.Args) > 1 && os.Args[1] == "job" {
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "unhealthy" {
		os.Exit(1)
	}
	fmt.Printf("read-only: %v\n", os.WriteFile("/run/secrets/tok", []byte("x"), 0o644) != nil)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "%s|%s", os.Getenv("TOK"), b) })
	http.ListenAndServe(":8080", nil)
}
`

func TestSecretsInContainers(t *testing.T) {
	t.Parallel()
	env := secretEnv(t, leakValue)
	dw := newDockerWorkspace(t, `tok = secret("tok", env = "`+env+`")
service(name = "web", image = "app-image", env = {"TOK": tok, "PLAIN": "plain"}, secret_files = {"/run/secrets/tok": tok})
job(name = "leak", image = "app-image", command = ["job"], env = {"TOK": tok})
service(name = "sick", image = "app-image", env = {"TOK": tok}, health = health.exec(["/app", "unhealthy"], interval = "500ms", retries = 1))
`)
	dw.write(t, "app/main.go", secretAppMain)
	events := filepath.Join(t.TempDir(), "events.json")
	r := dw.run(t, "--events", events, "up")
	r.wantCode(t, 0)
	ev, _ := os.ReadFile(events)
	for where, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "--events": string(ev)} {
		wantNoLeak(t, "up "+where, out)
	}
	if !strings.Contains(string(ev), "env=[redacted tok]") {
		t.Errorf("the job's output is missing from the events:\n%s", ev)
	}
	name := dw.project + "-web-1"
	url := "http://" + containerIP(t, name) + ":8080/"
	if got := httpGet(t, url); got != leakValue+"|"+leakValue {
		t.Fatalf("the service got %q", got)
	}
	logs := dw.ferry(t, "--project", dw.project, "logs", "web")
	wantNoLeak(t, "logs", logs.stdout+logs.stderr)
	if !strings.Contains(logs.stdout, "env=[redacted tok] file=[redacted tok]") || !strings.Contains(logs.stdout, "read-only: true") {
		t.Errorf("logs:\n%s", logs.stdout)
	}
	// A failing exec check's output, which status shows.
	var st *runResult
	eventually(t, "sick is unhealthy", func() bool {
		st = dw.ferry(t, "--project", dw.project, "status")
		return strings.Contains(st.stdout, "sick is unhealthy")
	})
	wantNoLeak(t, "status", st.stdout+st.stderr)
	if !strings.Contains(st.stdout, "env=[redacted tok]") {
		t.Errorf("status does not show the check's redacted output:\n%s", st.stdout)
	}
	out, err := exec.Command("docker", "inspect", "-f", `{{range .Mounts}}{{.Source}} {{.Destination}} {{.RW}}{{end}}|{{json .Config.Labels}}`, name).Output()
	if err != nil {
		t.Fatal(err)
	}
	mount, labels, _ := strings.Cut(strings.TrimSpace(string(out)), "|")
	dir := filepath.Join("/dev/shm", "ferry-"+strconv.Itoa(os.Getuid()), dw.project)
	if f := strings.Fields(mount); len(f) != 3 || !strings.HasPrefix(f[0], dir+"/web/") || f[1] != "/run/secrets/tok" || f[2] != "false" {
		t.Errorf("mount: %s", mount)
	}
	wantNoLeak(t, "labels", labels)
	if fi, err := os.Stat(filepath.Dir(dir)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("secret folder: %v %v", fi, err)
	}

	ex := dw.ferry(t, "--project", dw.project, "exec", "web", "--", "/app", "job")
	wantNoLeak(t, "exec", ex.stdout+ex.stderr)
	if ex.code != 0 || !strings.Contains(ex.stdout, "env=[redacted tok] file=[redacted tok]") {
		t.Errorf("exec: %d\n%s%s", ex.code, ex.stdout, ex.stderr)
	}

	// Unchanged: left running. A new value: replaced, with no --force
	// (the rule's key counts an HMAC of the value), and plan, which never
	// reads a secret, does not claim to know.
	before := dw.containers(t)
	dw.run(t, "up").wantCode(t, 0)
	if after := dw.containers(t); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("an unchanged service was replaced: %v -> %v", before, after)
	}
	os.Setenv(env, leakValue+"-rotated")
	if p := dw.run(t, "plan", "web"); p.code != 0 || !strings.Contains(p.stdout, "up to date") {
		t.Errorf("plan after rotation: %d\n%s%s", p.code, p.stdout, p.stderr)
	}
	r = dw.run(t, "up")
	r.wantCode(t, 0)
	wantNoLeak(t, "up after rotation", r.stdout+r.stderr)
	if !strings.Contains(r.stdout+r.stderr, "secret tok from environment variable "+env+" changed") {
		t.Errorf("up after rotation does not say why web runs:\n%s%s", r.stdout, r.stderr)
	}
	if got := httpGet(t, "http://"+containerIP(t, name)+":8080/"); got != leakValue+"-rotated|"+leakValue+"-rotated" {
		t.Fatalf("after rotation the service got %q", got)
	}
	// The older value's file is gone from the host, and the folder of a
	// service removed from ferry.star too.
	if files, err := os.ReadDir(filepath.Join(dir, "web")); err != nil || len(files) != 1 {
		t.Errorf("web's secret files after rotation: %v, %v; want the new value's only", files, err)
	}
	dw.setRules(t, `tok = secret("tok", env = "`+env+`")
job(name = "leak", image = "app-image", command = ["job"], env = {"TOK": tok})
`)
	dw.run(t, "up").wantCode(t, 0)
	if _, err := os.Stat(filepath.Join(dir, "web")); err == nil {
		t.Errorf("the secret files of web, removed from ferry.star, are still in %s", dir)
	}

	dw.ferry(t, "--project", dw.project, "down").wantCode(t, 0)
	if _, err := os.Stat(dir); err == nil {
		t.Fatalf("ferry down left %s", dir)
	}
}

// /dev/shm is writable by everyone: a folder on the way to the secret
// files that another user made is refused, never used.
func TestSecretFolderOfAnotherUser(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("making a folder of another user's needs root")
	}
	dw := newDockerWorkspace(t, `service(name = "web", image = "app-image", secret_files = {"/run/secrets/tok": secret("tok", env = "FERRY_TEST_SECRET")})`)
	theirs := filepath.Join("/dev/shm", "ferry-0", dw.project, "web")
	if err := os.MkdirAll(theirs, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(theirs)) })
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	r := dw.run(t, "up")
	r.wantCode(t, 1)
	r.wantStderr(t, theirs+" belongs to user 65534, not to you (0): someone else made it, maybe to read the secret files ferry keeps there")
	wantNoLeak(t, "up", r.stdout+r.stderr)
	if files, _ := os.ReadDir(theirs); len(files) != 0 {
		t.Errorf("ferry wrote %v into a folder of another user's", files)
	}
	if got := dw.containers(t); len(got) != 0 {
		t.Errorf("containers started: %v", got)
	}
}

func TestOptionalSecretLeftOut(t *testing.T) {
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `task(name = "t", cmd = 'test -z "${OPT+x}" && echo unset', secrets = {"OPT": secret("opt", env = "FERRY_TEST_UNSET_OPT", required = False)})`,
	})
	r := ws.ferryJSON(t, "run")
	r.wantCode(t, 0)
	if got := strings.Join(r.output("t"), ""); got != "unset" {
		t.Fatalf("output %q, want unset\n%s", got, r.stderr)
	}
}

// TestSecretFileUnreadable runs ferry as a user who may not read a secret's
// file: as root (who reads any file), ferry runs as nobody (65534) over a
// file of root's with mode 0600; otherwise the file gets mode 000.
func TestSecretFileUnreadable(t *testing.T) {
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `tok = secret("tok", file = "secrets/tok.txt")
task(name = "use", cmd = "true", secrets = {"TOK": tok})
task(name = "other", cmd = "true")
`,
		"secrets/tok.txt": leakValue,
	})
	ferry := ws.ferry
	if os.Geteuid() == 0 {
		ferry = ws.ferryAsNobody(t)
		if err := os.Chmod(ws.path("secrets/tok.txt"), 0o600); err != nil {
			t.Fatal(err)
		}
	} else if err := os.Chmod(ws.path("secrets/tok.txt"), 0); err != nil {
		t.Fatal(err)
	}

	// Only a rule that uses the secret reads it.
	for _, args := range [][]string{{"plan"}, {"graph"}, {"run", "other"}} {
		r := ferry(t, args...)
		r.wantCode(t, 0)
		wantNoLeak(t, "ferry "+args[0]+" stderr", r.stderr+r.stdout)
	}
	r := ferry(t, "run", "use")
	r.wantCode(t, exitFailed)
	r.wantStderr(t,
		`secret "tok" (from file secrets/tok.txt, declared at ferry.star:1:13): `,
		"cannot read file secrets/tok.txt (permission denied)",
		"give the user running ferry read access to it (chmod, chown)")
	wantNoLeak(t, "stderr", r.stderr+r.stdout)
}

// ferryAsNobody returns a runner of ferry in the workspace as user and
// group 65534, with a copy of the binary that user may run, and the
// workspace folder made theirs (for .ferry/). Its files stay root's.
func (ws *testWorkspace) ferryAsNobody(t *testing.T) func(*testing.T, ...string) *runResult {
	t.Helper()
	const nobody = 65534
	bin := filepath.Join(t.TempDir(), "ferry")
	src, err := os.ReadFile(ferryBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	for _, dir := range []string{ws.dir, home} {
		if err := os.Chown(dir, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	// t.TempDir's folders lie in one made for the test, which only root
	// may enter.
	for _, dir := range []string{filepath.Dir(ws.dir), filepath.Dir(bin)} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return func(t *testing.T, args ...string) *runResult {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = ws.dir
		cmd.Env = append(os.Environ(), "NO_COLOR=1", "HOME="+home)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		return startCmd(t, cmd).wait(t)
	}
}

func TestSecretShortLineWarned(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"key.pem": "-----BEGIN KEY-----\nMIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEA\nq7B=\n-----END KEY-----\n",
		"ferry.star": `key = secret("tls", file = "key.pem")
task(name = "a", cmd = "true", secrets = {"KEY": key}, cache = False)
task(name = "b", cmd = "true", secrets = {"KEY": key}, cache = False)
`})
	r := ws.ferry(t, "run")
	r.wantCode(t, 0)
	const want = "secret tls: line 3 of its value is shorter than 8 bytes, too short to redact on its own"
	if n := strings.Count(r.stderr, want); n != 1 {
		t.Fatalf("want the warning once, got it %d times:\n%s", n, r.stderr)
	}
	if strings.Contains(r.stderr, "q7B=") {
		t.Fatalf("the warning shows the line:\n%s", r.stderr)
	}
}

// TestSecretsHeldByContainersRedacted checks that logs, exec and status
// hide the values the containers hold, which after a rotation are older
// than the secrets' values, and which are there when a source is not.
func TestSecretsHeldByContainersRedacted(t *testing.T) {
	t.Parallel()
	env := secretEnv(t, leakValue)
	dw := newDockerWorkspace(t, `tok = secret("tok", env = "`+env+`")
service(name = "web", image = "app-image", secret_files = {"/run/secrets/tok": tok})
service(name = "sick", image = "app-image", env = {"TOK": tok}, health = health.exec(["/app", "unhealthy"], interval = "500ms", retries = 1))
`)
	dw.write(t, "app/main.go", secretAppMain)
	dw.run(t, "up").wantCode(t, 0)
	check := func(when string) {
		t.Helper()
		logs := dw.ferry(t, "--project", dw.project, "logs", "web")
		wantNoLeak(t, when+": logs", logs.stdout+logs.stderr)
		// web's value is in its secret file, sick's in its environment.
		if !strings.Contains(logs.stdout, "file=[redacted tok]") {
			t.Errorf("%s: logs:\n%s%s", when, logs.stdout, logs.stderr)
		}
		ex := dw.ferry(t, "--project", dw.project, "exec", "web", "--", "/app", "job")
		wantNoLeak(t, when+": exec", ex.stdout+ex.stderr)
		if !strings.Contains(ex.stdout, "file=[redacted tok]") {
			t.Errorf("%s: exec: %d\n%s%s", when, ex.code, ex.stdout, ex.stderr)
		}
		var st *runResult
		eventually(t, "sick is unhealthy", func() bool {
			st = dw.ferry(t, "--project", dw.project, "status")
			return strings.Contains(st.stdout, "sick is unhealthy")
		})
		wantNoLeak(t, when+": status", st.stdout+st.stderr)
		if !strings.Contains(st.stdout, "env=[redacted tok]") {
			t.Errorf("%s: status:\n%s%s", when, st.stdout, st.stderr)
		}
	}
	// Rotated, but not yet brought up: the containers hold the old value.
	os.Setenv(env, "a-new-value-of-the-token")
	check("after a rotation")
	os.Unsetenv(env)
	check("with the source unset")
}

// wrappedText comes before the value that printWrapped encodes, so that
// the encoded value starts late in the first line and crosses the break.
const wrappedText = "the token, base64-encoded after some text: "

// wrappedGo is the Go source of printWrapped, which prints the base64
// encoding of wrappedText and value wrapped at 76 columns, as base64(1)
// writes it, one line per write, each ending in eol. The app that holds
// it imports encoding/base64 and fmt.
const wrappedGo = `
func printWrapped(value, eol string) {
	enc := base64.StdEncoding.EncodeToString([]byte("` + wrappedText + `" + value))
	for ; len(enc) > 76; enc = enc[76:] {
		fmt.Print(enc[:76] + eol)
	}
	fmt.Print(enc + eol)
}
`

// wrappedAppMain prints the wrapped base64 of TOK (see printWrapped),
// with "\r\n" line ends when CRLF is set; then, as "check", a failing
// health check, it exits 1, or else stays up.
const wrappedAppMain = `package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"time"
)

func main() {
	eol := "\n"
	if os.Getenv("CRLF") != "" {
		eol = "\r\n"
	}
	printWrapped(os.Getenv("TOK"), eol)
	if len(os.Args) > 1 && os.Args[1] == "check" {
		os.Exit(1)
	}
	time.Sleep(time.Hour)
}
` + wrappedGo

// wrappedLines returns the lines that printWrapped prints for value.
func wrappedLines(value string) []string {
	enc := base64.StdEncoding.EncodeToString([]byte(wrappedText + value))
	var lines []string
	for ; len(enc) > 76; enc = enc[76:] {
		lines = append(lines, enc[:76])
	}
	return append(lines, enc)
}

// wrappedRedacted is how ferry shows the first line that printWrapped
// prints for leakValue: the characters that encode wrappedText alone (and
// one that encodes its last byte with the value's first), then the value,
// which crosses the line break, as one placeholder.
var wrappedRedacted = wrappedLines(leakValue)[0][:58] + "[redacted tok]"

// wantNoWrapped fails when out shows a form of leakValue, or a line of
// what printWrapped prints for it.
func wantNoWrapped(t *testing.T, where, out string) {
	t.Helper()
	wantNoLeak(t, where, out)
	for _, line := range wrappedLines(leakValue) {
		if strings.Contains(out, line) {
			t.Errorf("%s shows a line of the wrapped base64 of the secret, %q:\n%s", where, line, out)
		}
	}
}

// TestSecretWrappedInContainerOutput checks that a value that containers
// print base64-encoded and wrapped at 76 columns (with "\n" or "\r\n")
// is redacted where ferry shows their output cut into lines and prefixed
// or indented: ferry logs, with the lines of several containers
// interleaved; a failed health wait, with the check's output and the last
// log lines; and status --json, which escapes the check's line breaks.
func TestSecretWrappedInContainerOutput(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `tok = secret("tok", env = "FERRY_TEST_SECRET")
service(name = "lf", image = "app-image", env = {"TOK": tok})
service(name = "crlf", image = "app-image", env = {"TOK": tok, "CRLF": "1"})
service(name = "sick", image = "app-image", env = {"TOK": tok}, health = health.exec(["/app", "check"], interval = "500ms", retries = 1))
`)
	dw.write(t, "app/main.go", wrappedAppMain)
	dw.run(t, "up").wantCode(t, 0)

	logs := dw.ferry(t, "--project", dw.project, "logs")
	logs.wantCode(t, 0)
	wantNoWrapped(t, "logs", logs.stdout+logs.stderr)
	for _, c := range []string{"lf-1", "crlf-1", "sick-1"} {
		if !strings.Contains(logs.stdout, c+" | "+wrappedRedacted) {
			t.Errorf("logs: want %q:\n%s%s", c+" | "+wrappedRedacted, logs.stdout, logs.stderr)
		}
	}

	r := dw.ferry(t, "--project", dw.project, "up", "--wait", "sick")
	r.wantCode(t, 1)
	wantNoWrapped(t, "up --wait", r.stdout+r.stderr)
	r.wantStderr(t, "its last failed check said:\n    "+wrappedRedacted, "its last log lines:\n    "+wrappedRedacted)

	st := dw.ferry(t, "--project", dw.project, "status", "--json")
	wantNoWrapped(t, "status --json", st.stdout+st.stderr)
	if !strings.Contains(st.stdout, wrappedRedacted) {
		t.Errorf("status --json does not show the check's redacted output:\n%s", st.stdout)
	}
}

// TestSecretBuildOutputLeakAttempt builds an image whose Dockerfile a task
// with the secret wrote with the value in it, as a careless template
// would: the build's steps, which echo the Dockerfile's lines, show
// [redacted tok] in the log, in both formats, and in --events.
func TestSecretBuildOutputLeakAttempt(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, "")
	for _, format := range []string{"console", "json"} {
		// Encoded: the value as it is in a build context is refused
		// before the build (TestImageRefusesSecretValueInContext). The
		// classic builder prints LABEL and ENV steps; BuildKit does not.
		gen := `printf 'FROM scratch\nCOPY app /app\nLABEL format=` + format + ` token=%s\nENV T64=%s\n' "$(printf %s "$TOK" | od -An -tx1 | tr -d ' \n')" "$(printf %s "$TOK" | base64 -w0)" > Dockerfile.gen`
		b, _ := json.Marshal(gen)
		dw.setRules(t, `tok = secret("tok", env = "FERRY_TEST_SECRET")
task(name = "dockerfile", cmd = `+string(b)+`, dir = "app", secrets = {"TOK": tok}, outs = ["app/Dockerfile.gen"])
image(name = "leaky", repo = "`+dw.repo+`", context = "app", dockerfile = "app/Dockerfile.gen", builder = "classic", deps = ["app-bin", "dockerfile"])
`)
		events := filepath.Join(t.TempDir(), "events.json")
		r := dw.ferry(t, "--log-format", format, "--events", events, "run", "leaky")
		r.wantCode(t, 0)
		ev, _ := os.ReadFile(events)
		for where, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "--events": string(ev)} {
			wantNoLeak(t, format+" "+where, out)
		}
		var steps []string
		for _, line := range strings.Split(strings.TrimSpace(string(ev)), "\n") {
			var e struct{ Kind, Rule, Text string }
			json.Unmarshal([]byte(line), &e)
			if e.Rule == "leaky" && e.Kind == "rule.output" && strings.Contains(e.Text, "[redacted tok]") {
				steps = append(steps, e.Text)
			}
		}
		if len(steps) != 2 || !strings.Contains(r.stderr, "token=[redacted tok]") || !strings.Contains(r.stderr, "T64=[redacted tok]") {
			t.Errorf("%s: want the LABEL and ENV steps with [redacted tok], got %q\n%s", format, steps, r.stderr)
		}
	}
}
