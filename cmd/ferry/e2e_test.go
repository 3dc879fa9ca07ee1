package main

// End-to-end tests on temporary workspaces, checking exit codes, stdout and
// stderr. A command that runs to its end (ws.ferry) runs in this process,
// through run(); one that a test signals, feeds or watches while it runs
// (ws.start, startFerry) runs as a process of its own: the test binary itself,
// which TestMain turns into ferry when FERRY_TEST_AS_FERRY is set, so no
// separate build is needed. Assertions on what ran use `--log-format json
// --log-level debug`, whose events are classified by their fields (see
// logEvent below), not by the wording of their messages.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ferryBin is ferry as a program: this test binary, which TestMain runs as
// ferry in every process started with asFerryEnv set (it is set in this
// process's environment, so children inherit it).
var ferryBin string

// asFerryEnv, set, makes the test binary ferry.
const asFerryEnv = "FERRY_TEST_AS_FERRY"

// waitLimit bounds anything a test waits for; it is never a timing assertion.
// It is generous: a `ferry up` that compiles the app, builds its image and
// waits for its health may take well over 30s on a loaded 2-core CI
// machine with a cold build cache, and a passing test returns as soon as
// what it waits for happens.
const waitLimit = 2 * time.Minute

func TestMain(m *testing.M) {
	if os.Getenv(asFerryEnv) != "" {
		main()
		return
	}
	bin, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ferryBin = bin
	dir, err := os.MkdirTemp("", "ferry-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(asFerryEnv, "1")
	os.Setenv("NO_COLOR", "1")
	// The secret of the leak tests; a test that changes its secret has one
	// of its own (secretEnv).
	os.Setenv("FERRY_TEST_SECRET", leakValue)
	// ferry keeps its secret keys here, not in the home folder.
	os.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	code := m.Run()
	if err := stopAPICluster(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// secretEnv sets an environment variable of the test's own to value, for a
// secret(env = ...) to read, and returns its name. A test that changes its
// secret (a rotation) then runs in parallel with the others, which the
// shared FERRY_TEST_SECRET or t.Setenv would not allow; the name is the
// test's alone, so no other test sees the change.
func secretEnv(t *testing.T, value string) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "FERRY_TEST_SECRET_" + strings.ToUpper(hex.EncodeToString(b))
	os.Setenv(name, value)
	t.Cleanup(func() { os.Unsetenv(name) })
	return name
}

// ---------------------------------------------------------------------------
// Helpers

type testWorkspace struct{ dir string }

// newWorkspace writes files (slash paths, relative to the workspace) into a
// fresh temporary folder.
func newWorkspace(t *testing.T, files map[string]string) *testWorkspace {
	t.Helper()
	ws := &testWorkspace{dir: t.TempDir()}
	for name, content := range files {
		ws.write(t, name, content)
	}
	return ws
}

func (ws *testWorkspace) path(name string) string {
	return filepath.Join(ws.dir, filepath.FromSlash(name))
}

func (ws *testWorkspace) write(t *testing.T, name, content string) {
	t.Helper()
	p := ws.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// save writes name as an editor's atomic save does (a file written
// outside the workspace, renamed over it): a watch sees one change, never
// the file truncated and not yet written, which a loaded machine can show
// it in a batch of its own.
func (ws *testWorkspace) save(t *testing.T, name, content string) {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), filepath.Base(name))
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, ws.path(name)); err != nil {
		t.Fatal(err)
	}
}

func (ws *testWorkspace) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(ws.path(name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (ws *testWorkspace) exists(name string) bool {
	_, err := os.Stat(ws.path(name))
	return err == nil
}

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ferryProc is a running ferry process.
type ferryProc struct {
	args           []string
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	waitErr        error
}

// startFerry runs ferry with args in dir (the workspace folder unless args say
// otherwise) without waiting for it.
func startFerry(t *testing.T, dir string, args ...string) *ferryProc {
	t.Helper()
	cmd := exec.Command(ferryBin, args...)
	cmd.Dir = dir
	return startCmd(t, cmd)
}

// startCmd starts cmd, a ferry command made ready by the caller (its binary,
// folder, environment, credentials), without waiting for it.
func startCmd(t *testing.T, cmd *exec.Cmd) *ferryProc {
	t.Helper()
	p := &ferryProc{args: cmd.Args[1:], cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (ws *testWorkspace) start(t *testing.T, args ...string) *ferryProc {
	t.Helper()
	return startFerry(t, ws.dir, args...)
}

// wait waits (at most waitLimit) for ferry to exit and returns its result.
func (p *ferryProc) wait(t *testing.T) *runResult {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(waitLimit):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("ferry %s did not exit within %s\nstderr:\n%s", strings.Join(p.args, " "), waitLimit, p.stderr.String())
	}
	r := &runResult{args: p.args, code: p.cmd.ProcessState.ExitCode(), stdout: p.stdout.String(), stderr: p.stderr.String()}
	if r.code < 0 {
		t.Fatalf("ferry %s: %v\nstderr:\n%s", strings.Join(p.args, " "), p.waitErr, r.stderr)
	}
	r.parseEvents()
	return r
}

// ferry runs ferry in the workspace with args, as they are, in this process
// (see runFerry).
func (ws *testWorkspace) ferry(t *testing.T, args ...string) *runResult {
	t.Helper()
	return runFerry(t, append([]string{"-C", ws.dir}, args...)...)
}

// ferryProcess runs ferry in the workspace with args as a process of its
// own, and waits: for a run whose effects reach beyond itself in a process,
// such as the memory cap, which watches the whole heap.
func (ws *testWorkspace) ferryProcess(t *testing.T, args ...string) *runResult {
	t.Helper()
	return ws.start(t, args...).wait(t)
}

// runFerry runs ferry with args in this process, as main would, and waits at
// most waitLimit. Relative paths in args are taken from the folder that -C
// names, as they are when ferry is a process of its own.
func runFerry(t *testing.T, args ...string) *runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	var stdout, stderr syncBuffer
	r := &runResult{args: args}
	r.code = run(ctx, args, &stdout, &stderr)
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("ferry %s did not end within %s\nstderr:\n%s", strings.Join(args, " "), waitLimit, r.stderr)
	}
	r.parseEvents()
	return r
}

// jsonArgs are put in front of the arguments of ferryJSON.
var jsonArgs = []string{"--log-format", "json", "--log-level", "debug"}

// ferryJSON runs ferry with JSON logs at debug level, so every rule's fate
// is an event.
func (ws *testWorkspace) ferryJSON(t *testing.T, args ...string) *runResult {
	t.Helper()
	return ws.ferry(t, append(slices.Clone(jsonArgs), args...)...)
}

// runResult is what one ferry run did.
type runResult struct {
	args           []string
	code           int
	stdout, stderr string
	events         []logEvent // JSON log lines of stderr, when --log-format json
}

// logEvent is one JSON log line.
type logEvent map[string]any

func (e logEvent) str(k string) string { s, _ := e[k].(string); return s }
func (e logEvent) has(k string) bool   { _, ok := e[k]; return ok }

func (e logEvent) isStart() bool {
	return e.str("rule") != "" && e.str("level") == "info" && e.has("reason")
}
func (e logEvent) isSkip() bool {
	return e.str("rule") != "" && e.str("level") == "warn" && e.has("reason")
}
func (e logEvent) isFail() bool {
	return e.str("rule") != "" && e.str("level") == "error" && e.has("error")
}
func (e logEvent) isRetry() bool {
	return e.str("rule") != "" && e.str("level") == "warn" && e.has("error")
}
func (e logEvent) isOutput() bool { return e.str("rule") != "" && e.has("stream") }
func (e logEvent) isDone() bool {
	return e.str("rule") != "" && e.str("level") == "info" && e.has("duration") && !e.has("error")
}
func (e logEvent) isCached() bool {
	return e.str("rule") != "" && e.str("level") == "debug" && strings.Contains(e.str("message"), "up to date")
}

func (r *runResult) parseEvents() {
	for _, line := range strings.Split(r.stderr, "\n") {
		var e logEvent
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &e) == nil {
			r.events = append(r.events, e)
		}
	}
}

func (r *runResult) String() string {
	return fmt.Sprintf("ferry %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// rules returns, in order and without repeats, the rules of the events that
// match.
func (r *runResult) rules(match func(logEvent) bool) []string {
	var out []string
	for _, e := range r.events {
		if match(e) && !slices.Contains(out, e.str("rule")) {
			out = append(out, e.str("rule"))
		}
	}
	return out
}

func (r *runResult) started() []string { return r.rules(logEvent.isStart) }
func (r *runResult) done() []string    { return r.rules(logEvent.isDone) }
func (r *runResult) cached() []string  { return r.rules(logEvent.isCached) }
func (r *runResult) failed() []string  { return r.rules(logEvent.isFail) }
func (r *runResult) skipped() []string { return r.rules(logEvent.isSkip) }

// first returns the first event of rule that matches, or nil.
func (r *runResult) first(rule string, match func(logEvent) bool) logEvent {
	for _, e := range r.events {
		if e.str("rule") == rule && match(e) {
			return e
		}
	}
	return nil
}

// output returns the lines a rule wrote, in order.
func (r *runResult) output(rule string) []string {
	var out []string
	for _, e := range r.events {
		if e.isOutput() && e.str("rule") == rule {
			out = append(out, e.str("message"))
		}
	}
	return out
}

// summary returns the run's summary logEvent.
func (r *runResult) summary(t *testing.T) logEvent {
	t.Helper()
	for _, e := range r.events {
		if b, _ := e["summary"].(bool); b {
			return e
		}
	}
	t.Fatalf("no summary event\n%s", r)
	return nil
}

func (r *runResult) wantCode(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit code %d\n%s", code, r)
	}
}

// wantStderr checks that stderr contains every substring.
func (r *runResult) wantStderr(t *testing.T, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q\n%s", s, r)
		}
	}
}

// wantStderrMatch checks that stderr matches every regular expression.
func (r *runResult) wantStderrMatch(t *testing.T, res ...string) {
	t.Helper()
	for _, re := range res {
		if !regexp.MustCompile(re).MatchString(r.stderr) {
			t.Errorf("stderr does not match %s\n%s", re, r)
		}
	}
}

// wantSet checks that got holds exactly want, in any order.
func wantSet(t *testing.T, what string, got, want []string, r *runResult) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s: got %q, want %q\n%s", what, g, w, r)
	}
}

// wantRan checks which rules ran (started and succeeded) and which were up
// to date, and that nothing failed or was skipped.
func (r *runResult) wantRan(t *testing.T, ran, cached []string) {
	t.Helper()
	r.wantCode(t, 0)
	wantSet(t, "rules run", r.done(), ran, r)
	wantSet(t, "rules started", r.started(), ran, r)
	wantSet(t, "rules up to date", r.cached(), cached, r)
	wantSet(t, "rules failed", r.failed(), nil, r)
	wantSet(t, "rules skipped", r.skipped(), nil, r)
	s := r.summary(t)
	if s["ran"] != float64(len(ran)) || s["cached"] != float64(len(cached)) {
		t.Errorf("summary: got ran=%v cached=%v, want %d and %d\n%s", s["ran"], s["cached"], len(ran), len(cached), r)
	}
}

// eventually polls cond until it holds, failing the test after waitLimit.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processAlive reports whether a process exists and is not a zombie (an orphan
// killed by ferry may stay a zombie until init reaps it).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil && !procfsMounted()
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	state := s[i+2]
	return state != 'Z' && state != 'X'
}

func procfsMounted() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// wantDead fails the test if the process is still alive after a while: a
// SIGKILL is delivered asynchronously, so the check polls.
func wantDead(t *testing.T, pid int, what string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Errorf("%s (pid %d) is still alive", what, pid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readPID waits for a pid file to hold a number and returns it.
func (ws *testWorkspace) readPID(t *testing.T, name string) int {
	t.Helper()
	var pid int
	eventually(t, name+" to hold a pid", func() bool {
		b, err := os.ReadFile(ws.path(name))
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	return pid
}

// waitFile is a shell snippet that waits for a file, giving up after
// waitLimit so a broken ferry cannot hang the test.
func waitFile(name string) string {
	return fmt.Sprintf(`i=0; while [ ! -e %s ]; do i=$((i+1)); if [ $i -gt %d ]; then echo "gave up waiting for %s" >&2; exit 9; fi; sleep 0.05; done`,
		name, int(waitLimit/(50*time.Millisecond)), name)
}

// starQuote quotes a Go string as a Starlark string literal.
func starQuote(s string) string { return strconv.Quote(s) }

// ---------------------------------------------------------------------------
// Happy paths

// chain is a workspace with gen → use, plus an unrelated task.
func chainWorkspace(t *testing.T) *testWorkspace {
	return newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "gen", cmd = "cat a.txt > gen.txt; echo gen >> log.txt", srcs = ["a.txt"], outs = ["gen.txt"])
task(name = "use", cmd = "cat gen.txt u.txt > out.txt; echo use >> log.txt", srcs = ["u.txt"], outs = ["out.txt"], deps = ["gen"])
task(name = "other", cmd = "cat b.txt > o.txt; echo other >> log.txt", srcs = ["b.txt"], outs = ["o.txt"])
`,
		"a.txt": "a\n",
		"b.txt": "b\n",
		"u.txt": "u\n",
	})
}

func TestRunThenNoOp(t *testing.T) {
	t.Parallel()
	ws := chainWorkspace(t)
	r := ws.ferryJSON(t, "run")
	r.wantRan(t, []string{"gen", "use", "other"}, nil)
	if got := ws.read(t, "out.txt"); got != "a\nu\n" {
		t.Errorf("out.txt = %q", got)
	}
	if s := r.first("use", logEvent.isStart); s == nil || s.str("reason") != "never ran" {
		t.Errorf("use started with %v, want reason \"never ran\"", s)
	}

	r = ws.ferryJSON(t, "run")
	r.wantRan(t, nil, []string{"gen", "use", "other"})

	// The console summary says that nothing ran.
	r = ws.ferry(t, "run")
	r.wantCode(t, 0)
	r.wantStderr(t, "0 ran")
}

func TestChangedSourceRerunsTaskAndDependents(t *testing.T) {
	t.Parallel()
	ws := chainWorkspace(t)
	ws.ferryJSON(t, "run").wantCode(t, 0)

	ws.write(t, "a.txt", "a changed\n")
	r := ws.ferryJSON(t, "run")
	r.wantRan(t, []string{"gen", "use"}, []string{"other"})
	if got := r.first("gen", logEvent.isStart).str("reason"); got != "a.txt changed" {
		t.Errorf("gen reason = %q, want %q", got, "a.txt changed")
	}
	if got := r.first("use", logEvent.isStart).str("reason"); !strings.Contains(got, "dep gen changed") {
		t.Errorf("use reason = %q, want it to say %q", got, "dep gen changed")
	}
	if got := ws.read(t, "out.txt"); got != "a changed\nu\n" {
		t.Errorf("out.txt = %q", got)
	}

	// A leaf: only it reruns.
	ws.write(t, "u.txt", "u changed\n")
	ws.ferryJSON(t, "run").wantRan(t, []string{"use"}, []string{"gen", "other"})
}

func TestTouchWithoutChangeRerunsNothing(t *testing.T) {
	t.Parallel()
	ws := chainWorkspace(t)
	ws.ferryJSON(t, "run").wantCode(t, 0)
	later := time.Now().Add(time.Hour)
	for _, f := range []string{"a.txt", "b.txt", "u.txt", "ferry.star"} {
		if err := os.Chtimes(ws.path(f), later, later); err != nil {
			t.Fatal(err)
		}
	}
	ws.ferryJSON(t, "run").wantRan(t, nil, []string{"gen", "use", "other"})
	// And the same content written anew (new inode, new times) is no change either.
	ws.write(t, "a.txt", "a\n")
	ws.ferryJSON(t, "run").wantRan(t, nil, []string{"gen", "use", "other"})
}

func TestDeletedOutputReruns(t *testing.T) {
	t.Parallel()
	ws := chainWorkspace(t)
	ws.ferryJSON(t, "run").wantCode(t, 0)
	if err := os.Remove(ws.path("o.txt")); err != nil {
		t.Fatal(err)
	}
	r := ws.ferryJSON(t, "run")
	r.wantRan(t, []string{"other"}, []string{"gen", "use"})
	if got := r.first("other", logEvent.isStart).str("reason"); got != "output o.txt missing" {
		t.Errorf("reason = %q, want %q", got, "output o.txt missing")
	}
	if !ws.exists("o.txt") {
		t.Error("o.txt was not written again")
	}
}

func TestModifiedOutputReruns(t *testing.T) {
	t.Parallel()
	ws := chainWorkspace(t)
	ws.ferryJSON(t, "run").wantCode(t, 0)
	ws.write(t, "out.txt", "scribbled on\n")
	r := ws.ferryJSON(t, "run")
	r.wantRan(t, []string{"use"}, []string{"gen", "other"})
	if got := r.first("use", logEvent.isStart).str("reason"); !strings.Contains(got, "out.txt") {
		t.Errorf("reason = %q, want it to name out.txt", got)
	}
	if got := ws.read(t, "out.txt"); got != "a\nu\n" {
		t.Errorf("out.txt = %q, want it rebuilt", got)
	}
}

func TestForce(t *testing.T) {
	t.Parallel()
	ws := chainWorkspace(t)
	ws.ferryJSON(t, "run").wantCode(t, 0)
	r := ws.ferryJSON(t, "run", "--force")
	r.wantRan(t, []string{"gen", "use", "other"}, nil)
	if got := r.first("gen", logEvent.isStart).str("reason"); !strings.Contains(got, "--force") {
		t.Errorf("reason = %q, want it to mention --force", got)
	}
	// --force with a name forces only the selection.
	ws.ferryJSON(t, "run", "--force", "other").wantRan(t, []string{"other"}, nil)
}

func TestRunNamedRuleRunsItsDepsOnly(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "base", cmd = "touch base.out", outs = ["base.out"])
task(name = "mid", cmd = "touch mid.out", outs = ["mid.out"], deps = ["base"])
task(name = "top", cmd = "touch top.out", outs = ["top.out"], deps = ["mid"])
task(name = "unrelated", cmd = "touch unrelated.out", outs = ["unrelated.out"])
`,
	})
	ws.ferryJSON(t, "run", "mid").wantRan(t, []string{"base", "mid"}, nil)
	for f, want := range map[string]bool{"base.out": true, "mid.out": true, "top.out": false, "unrelated.out": false} {
		if ws.exists(f) != want {
			t.Errorf("%s exists = %v, want %v", f, !want, want)
		}
	}
	// No names: everything; what already ran is up to date.
	ws.ferryJSON(t, "run").wantRan(t, []string{"top", "unrelated"}, []string{"base", "mid"})
	// Two names.
	ws.ferryJSON(t, "run", "unrelated", "base").wantRan(t, nil, []string{"unrelated", "base"})
}

func TestParallelJobs(t *testing.T) {
	t.Parallel()
	// Each task announces itself, then waits for the other: they can only
	// both succeed if they run at the same time.
	ws := newWorkspace(t, map[string]string{
		"ferry.star": fmt.Sprintf(`
task(name = "a", cmd = %s)
task(name = "b", cmd = %s)
`, starQuote("touch a.flag; "+waitFile("b.flag")), starQuote("touch b.flag; "+waitFile("a.flag"))),
	})
	ws.ferryJSON(t, "run", "-j", "2").wantRan(t, []string{"a", "b"}, nil)
}

func TestOneJobRunsOneRuleAtATime(t *testing.T) {
	t.Parallel()
	// Each task checks for a while whether the other is running. With -j 1
	// they never overlap (the check can only miss an overlap, never invent one).
	check := func(me, other string) string {
		return fmt.Sprintf(`touch %s.running; i=0; while [ $i -lt 10 ]; do if [ -e %s.running ]; then echo overlap > overlap.txt; fi; i=$((i+1)); sleep 0.05; done; rm %s.running`, me, other, me)
	}
	ws := newWorkspace(t, map[string]string{
		"ferry.star": fmt.Sprintf(`
task(name = "a", cmd = %s)
task(name = "b", cmd = %s)
`, starQuote(check("a", "b")), starQuote(check("b", "a"))),
	})
	ws.ferryJSON(t, "run", "-j", "1").wantRan(t, []string{"a", "b"}, nil)
	if ws.exists("overlap.txt") {
		t.Error("with -j 1, two tasks ran at the same time")
	}
}

func keepGoingWorkspace(t *testing.T) *testWorkspace {
	return newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "bad", cmd = "echo oops >&2; exit 3")
task(name = "dependent", cmd = "touch dependent.out", deps = ["bad"])
task(name = "indep", cmd = "touch indep.out")
`,
	})
}

func TestStopsAfterFailure(t *testing.T) {
	t.Parallel()
	ws := keepGoingWorkspace(t)
	// With one job, bad (declared first) runs first; the run then stops.
	r := ws.ferryJSON(t, "run", "-j", "1")
	r.wantCode(t, 1)
	wantSet(t, "failed", r.failed(), []string{"bad"}, r)
	wantSet(t, "skipped", r.skipped(), []string{"dependent", "indep"}, r)
	wantSet(t, "ran", r.done(), nil, r)
	if ws.exists("indep.out") || ws.exists("dependent.out") {
		t.Error("a rule ran after the failure without --keep-going")
	}
	if e := r.first("bad", logEvent.isFail); !strings.Contains(e.str("error"), "exit code 3") {
		t.Errorf("failure = %v, want the exit code", e)
	}
	if got := r.output("bad"); !slices.Contains(got, "oops") {
		t.Errorf("bad's stderr = %q, want oops", got)
	}
	if e := r.first("indep", logEvent.isSkip); !strings.Contains(e.str("reason"), "--keep-going") {
		t.Errorf("indep skipped with %v, want the reason to point at --keep-going", e)
	}
}

func TestKeepGoing(t *testing.T) {
	t.Parallel()
	ws := keepGoingWorkspace(t)
	r := ws.ferryJSON(t, "run", "-j", "1", "--keep-going")
	r.wantCode(t, 1)
	wantSet(t, "failed", r.failed(), []string{"bad"}, r)
	wantSet(t, "ran", r.done(), []string{"indep"}, r)
	wantSet(t, "skipped", r.skipped(), []string{"dependent"}, r)
	if e := r.first("dependent", logEvent.isSkip); !strings.Contains(e.str("reason"), "bad") {
		t.Errorf("dependent skipped with %v, want the reason to name bad", e)
	}
	if !ws.exists("indep.out") || ws.exists("dependent.out") {
		t.Error("want indep.out written and dependent.out not")
	}
	// -k is the short form.
	ws.ferryJSON(t, "run", "-k").wantCode(t, 1)
}

func TestOutputLinesArePrefixedWithRuleName(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `task(name = "printer", cmd = "echo payload-out; echo payload-err >&2")`,
	})
	r := ws.ferry(t, "run")
	r.wantCode(t, 0)
	for _, text := range []string{"payload-out", "payload-err"} {
		found := false
		for _, line := range strings.Split(r.stderr, "\n") {
			i, j := strings.Index(line, "printer"), strings.Index(line, text)
			if i >= 0 && j > i {
				found = true
			}
		}
		if !found {
			t.Errorf("no line shows %q after the rule name\n%s", text, r)
		}
	}
	// In JSON, each output line carries the rule and the stream.
	r = ws.ferryJSON(t, "run", "--force")
	for _, e := range r.events {
		if e.isOutput() && e.str("message") == "payload-err" && e.str("stream") != "stderr" {
			t.Errorf("payload-err on stream %q", e.str("stream"))
		}
	}
	if got := r.output("printer"); !slices.Contains(got, "payload-out") || !slices.Contains(got, "payload-err") {
		t.Errorf("printer output = %q", got)
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
task(
    name = "flaky",
    cmd = "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo attempt $n; [ $n -ge 2 ]",
    retries = 2,
)
task(name = "hopeless", cmd = "echo x >> tries; exit 1", retries = 1)
`,
	})
	r := ws.ferryJSON(t, "run", "flaky")
	r.wantCode(t, 0)
	wantSet(t, "ran", r.done(), []string{"flaky"}, r)
	if got := strings.TrimSpace(ws.read(t, "count")); got != "2" {
		t.Errorf("flaky ran %s times, want 2", got)
	}
	if r.first("flaky", logEvent.isRetry) == nil {
		t.Errorf("no retry event\n%s", r)
	}

	r = ws.ferryJSON(t, "run", "hopeless")
	r.wantCode(t, 1)
	if got := ws.read(t, "tries"); got != "x\nx\n" {
		t.Errorf("hopeless ran %d times, want 2 (1 + 1 retry)", strings.Count(got, "x"))
	}
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `task(name = "slow", cmd = "sleep 100 & echo $! > child.pid; wait", timeout = "1s")`,
	})
	r := ws.ferryJSON(t, "run")
	r.wantCode(t, 1)
	e := r.first("slow", logEvent.isFail)
	if e == nil || !strings.Contains(e.str("error"), "timed out") {
		t.Errorf("failure = %v, want it to say the task timed out", e)
	}
	pid := ws.readPID(t, "child.pid")
	wantDead(t, pid, "the task's background child, after the timeout")
}

func TestCmdArgv(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		// No shell: the quote and the $ reach printf as they are.
		"ferry.star": `task(name = "argv", cmd = ["printf", "%s|", "a b", "$HOME", "it's"])`,
	})
	r := ws.ferryJSON(t, "run")
	r.wantCode(t, 0)
	if got := r.output("argv"); !slices.Equal(got, []string{"a b|$HOME|it's|"}) {
		t.Errorf("output = %q", got)
	}
}

func TestDirAndEnv(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "indir", cmd = "pwd > where.txt; echo \"$GREETING\" > env.txt", dir = "sub", env = {"GREETING": "hi there"},
     outs = ["sub/where.txt", "sub/env.txt"])
`,
		"sub/keep": "",
	})
	ws.ferryJSON(t, "run").wantRan(t, []string{"indir"}, nil)
	where, err := filepath.EvalSymlinks(strings.TrimSpace(ws.read(t, "sub/where.txt")))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(ws.path("sub"))
	if where != want {
		t.Errorf("ran in %s, want %s", where, want)
	}
	if got := ws.read(t, "sub/env.txt"); got != "hi there\n" {
		t.Errorf("env.txt = %q", got)
	}
	// The environment is part of the definition.
	ws.write(t, "ferry.star", strings.Replace(ws.read(t, "ferry.star"), "hi there", "hello", 1))
	r := ws.ferryJSON(t, "run")
	r.wantRan(t, []string{"indir"}, nil)
	if got := r.first("indir", logEvent.isStart).str("reason"); got != "definition changed" {
		t.Errorf("reason = %q, want definition changed", got)
	}
}

func TestCacheFalseRunsEveryTime(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "deploy", cmd = "echo x >> deploys", cache = False)
task(name = "build", cmd = "echo x >> builds")
`,
	})
	ws.ferryJSON(t, "run").wantRan(t, []string{"deploy", "build"}, nil)
	r := ws.ferryJSON(t, "run")
	r.wantRan(t, []string{"deploy"}, []string{"build"})
	if got := r.first("deploy", logEvent.isStart).str("reason"); !strings.Contains(got, "cache = False") {
		t.Errorf("reason = %q", got)
	}
	if got := ws.read(t, "deploys"); got != "x\nx\n" {
		t.Errorf("deploy ran %d times, want 2", strings.Count(got, "x"))
	}
}

func TestRunTimeAction(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
def _act(ctx):
    print("action", ctx.name, ctx.srcs)
    r = ctx.sh("echo from-sh; cat in.txt", env = {"X": "1"})
    print("sh said", r.code, r.stdout.strip().split("\n"))
    print("read", ctx.read("in.txt").strip())
    q = ctx.sh("exit 4", check = False)
    print("code", q.code)

task(name = "x", run = _act, srcs = ["in.txt"])
`,
		"in.txt": "the input\n",
	})
	r := ws.ferryJSON(t, "run")
	r.wantRan(t, []string{"x"}, nil)
	if got := r.output("x"); !slices.Equal(got, []string{"from-sh", "the input"}) {
		t.Errorf("output = %q", got)
	}
	var prints []string
	for _, e := range r.events {
		if e.str("pos") != "" && e.str("rule") == "x" {
			prints = append(prints, e.str("pos")+" "+e.str("message"))
		}
	}
	want := []string{
		`ferry.star:3:10 action x ["in.txt"]`,
		`ferry.star:5:10 sh said 0 ["from-sh", "the input"]`,
		`ferry.star:6:10 read the input`,
		`ferry.star:8:10 code 4`,
	}
	if !slices.Equal(prints, want) {
		t.Errorf("prints:\n got %q\nwant %q", prints, want)
	}
	ws.ferryJSON(t, "run").wantRan(t, nil, []string{"x"})
	ws.write(t, "in.txt", "new input\n")
	ws.ferryJSON(t, "run").wantRan(t, []string{"x"}, nil)
}

// TestRunTimeActionKeepsSecretsOpaque: text that ctx.sh and ctx.read
// return is a secret when it holds the value of a secret read this run.
func TestRunTimeActionKeepsSecretsOpaque(t *testing.T) {
	t.Parallel()
	const value = "action-secret-value-89"
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
tok = secret("tok", file = "tok.txt")
task(name = "gen", cmd = 'printf "user=%s\n" "$TOK" > out/conf', secrets = {"TOK": tok}, outs = ["out/conf"])

def _act(ctx):
    out = ctx.sh("cat out/conf").stdout
    conf = ctx.read("out/conf")
    plain = ctx.read("plain.txt")
    print("types", type(out), type(conf), type(plain), out, plain.strip())

task(name = "use", run = _act, deps = ["gen"])
`,
		"tok.txt":   value,
		"plain.txt": "nothing secret\n",
	})
	r := ws.ferryJSON(t, "run")
	r.wantRan(t, []string{"gen", "use"}, nil)
	var prints []string
	for _, e := range r.events {
		if e.str("rule") == "use" && strings.HasPrefix(e.str("message"), "types") {
			prints = append(prints, e.str("message"))
		}
	}
	if want := []string{"types secret secret string <secret tok> nothing secret"}; !slices.Equal(prints, want) {
		t.Errorf("prints = %q, want %q", prints, want)
	}
	if strings.Contains(r.stdout+r.stderr, value) {
		t.Errorf("the value is in ferry's output:\n%s", r)
	}
}

func TestRunTimeActionFailure(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
def _boom(ctx):
    fail("no good")

def _sh(ctx):
    ctx.sh("exit 4")

task(name = "boom", run = _boom)
task(name = "sh", run = _sh)
`,
	})
	r := ws.ferryJSON(t, "run", "-k")
	r.wantCode(t, 1)
	wantSet(t, "failed", r.failed(), []string{"boom", "sh"}, r)
	if got := r.first("boom", logEvent.isFail).str("error"); !regexp.MustCompile(`^ferry\.star:3:\d+: .*no good`).MatchString(got) {
		t.Errorf("boom error = %q, want the position of fail() and its message", got)
	}
	if got := r.first("sh", logEvent.isFail).str("error"); !regexp.MustCompile(`^ferry\.star:6:\d+: .*exit code 4`).MatchString(got) {
		t.Errorf("sh error = %q, want the position of ctx.sh and the exit code", got)
	}
}

func TestLoadForms(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
load("//lib/x.star", "X")
load("./local.star", "L")
load("./sub/mod.star", "M")
task(name = "t", cmd = "echo " + X + " " + L + " " + M)
`,
		"lib/x.star": `X = "x-from-lib"`,
		"local.star": `L = "l-from-local"`,
		// ../ from a module in a subfolder.
		"sub/mod.star": `
load("../lib/x.star", "X")
M = "m-with-" + X
`,
	})
	r := ws.ferryJSON(t, "run")
	r.wantRan(t, []string{"t"}, nil)
	if got := r.output("t"); !slices.Equal(got, []string{"x-from-lib l-from-local m-with-x-from-lib"}) {
		t.Errorf("output = %q", got)
	}
	// A change in a loaded module changes the definition.
	ws.write(t, "lib/x.star", `X = "x2"`)
	r = ws.ferryJSON(t, "run")
	r.wantRan(t, []string{"t"}, nil)
	if got := r.output("t"); !slices.Equal(got, []string{"x2 l-from-local m-with-x2"}) {
		t.Errorf("output = %q", got)
	}
}

// A run-time action's definition covers the code it calls, also in loaded
// modules: changing a loaded helper reruns the action.
func TestRunTimeActionHelperChange(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
load("//lib.star", "helper")

def _act(ctx):
    helper(ctx)

task(name = "x", run = _act)
`,
		"lib.star": "def helper(ctx):\n    ctx.sh(\"echo v1 > out.txt\")\n",
	})
	ws.ferryJSON(t, "run").wantRan(t, []string{"x"}, nil)
	ws.write(t, "lib.star", "def helper(ctx):\n    ctx.sh(\"echo v2 > out.txt\")\n")
	ws.ferryJSON(t, "run").wantRan(t, []string{"x"}, nil)
	if got := ws.read(t, "out.txt"); got != "v2\n" {
		t.Errorf("out.txt = %q, want v2", got)
	}
}

func TestRulesDeclaredInSubfolderModule(t *testing.T) {
	t.Parallel()
	// Paths in a task declared by sub/defs.star are relative to sub/.
	ws := newWorkspace(t, map[string]string{
		"ferry.star":    `load("//sub/defs.star", "N")`,
		"sub/defs.star": `N = task(name = "subtask", cmd = "cat in.txt > out.txt", srcs = glob(["*.txt"]), outs = ["out.txt"])`,
		"sub/in.txt":    "in sub\n",
	})
	ws.ferryJSON(t, "run").wantRan(t, []string{"subtask"}, nil)
	if got := ws.read(t, "sub/out.txt"); got != "in sub\n" {
		t.Errorf("sub/out.txt = %q", got)
	}
}

func TestLoadStd(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
load("@std//go.star", "go_binary", "go_test")
go_test(name = "unit")
go_binary(name = "api", pkg = "./cmd/api", deps = ["unit"])
`,
	})
	r := ws.ferry(t, "graph")
	r.wantCode(t, 0)
	for _, want := range []string{"api (task)", "unit (task)", "go build ./cmd/api"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("graph lacks %q\n%s", want, r)
		}
	}
}

func TestPrintAtLoadTime(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": "x = 1\nprint(\"hello\", x)\nload(\"//lib.star\", \"y\")\n",
		"lib.star":   "y = 2\n\nprint(\"from lib\")\n",
	})
	r := ws.ferryJSON(t, "plan")
	r.wantCode(t, 0)
	got := map[string]string{}
	for _, e := range r.events {
		if e.has("pos") {
			got[e.str("message")] = e.str("pos")
		}
	}
	if !regexp.MustCompile(`^ferry\.star:2:\d+$`).MatchString(got["hello 1"]) {
		t.Errorf("print in ferry.star at %q, want ferry.star:2:COL\n%s", got["hello 1"], r)
	}
	if !regexp.MustCompile(`^lib\.star:3:\d+$`).MatchString(got["from lib"]) {
		t.Errorf("print in lib.star at %q, want lib.star:3:COL\n%s", got["from lib"], r)
	}
	// On the console the position leads the message.
	r = ws.ferry(t, "plan")
	r.wantStderrMatch(t, `ferry\.star:2:\d+: hello 1`)
}

func TestConfigFlag(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
who = config.flag("who", "world")
n = config.flag("n", 1)
loud = config.flag("loud", False)
task(name = "greet", cmd = "echo hello %s %d %s" % (who, n * 2, loud))
`,
	})
	r := ws.ferryJSON(t, "run")
	r.wantCode(t, 0)
	if got := r.output("greet"); !slices.Equal(got, []string{"hello world 2 False"}) {
		t.Errorf("defaults: output = %q", got)
	}
	r = ws.ferryJSON(t, "run", "--", "--who=you", "--n=21", "--loud")
	r.wantRan(t, []string{"greet"}, nil)
	if got := r.output("greet"); !slices.Equal(got, []string{"hello you 42 True"}) {
		t.Errorf("flags: output = %q", got)
	}
	// plan takes the flags too.
	r = ws.ferry(t, "plan", "--", "--who=you", "--n=21", "--loud")
	r.wantCode(t, 0)
	if !regexp.MustCompile(`up to date\s+greet`).MatchString(r.stdout) {
		t.Errorf("plan with the same flags should be up to date\n%s", r)
	}

	r = ws.ferry(t, "run", "--", "--nope=1")
	r.wantCode(t, 2)
	r.wantStderr(t, "--nope", `config.flag("nope")`)

	r = ws.ferry(t, "run", "--", "--n=many")
	r.wantCode(t, 2)
	r.wantStderrMatch(t, `ferry\.star:3:\d+: .*--n=many is not a valid int`)

	r = ws.ferry(t, "run", "--", "who=x")
	r.wantCode(t, 2)
	r.wantStderr(t, "--name=value")
}

// ---------------------------------------------------------------------------
// plan, graph, init, version, -C, -f

var planLine = regexp.MustCompile(`(?m)^(would run|up to date|error)[ \t]+(\S+)[ \t]*(.*?)[ \t]*$`)

// plan parses `ferry plan` output into rule → "status: reasons".
func runPlan(t *testing.T, ws *testWorkspace, args ...string) map[string]string {
	t.Helper()
	r := ws.ferry(t, append([]string{"plan"}, args...)...)
	r.wantCode(t, 0)
	out := map[string]string{}
	for _, m := range planLine.FindAllStringSubmatch(r.stdout, -1) {
		out[m[2]] = strings.TrimSpace(m[1] + ": " + m[3])
	}
	return out
}

func wantPlan(t *testing.T, got, want map[string]string) {
	t.Helper()
	for rule, w := range want {
		if got[rule] != w {
			t.Errorf("plan for %s: got %q, want %q", rule, got[rule], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("plan: got %q, want %q", got, want)
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	ws := chainWorkspace(t)
	wantPlan(t, runPlan(t, ws), map[string]string{
		"gen": "would run: never ran", "use": "would run: never ran", "other": "would run: never ran",
	})
	r := ws.ferry(t, "plan")
	if !strings.Contains(r.stdout, "3 of 3 rules would run") {
		t.Errorf("plan total\n%s", r)
	}
	if ws.exists(".ferry/state") || ws.exists("gen.txt") {
		t.Error("plan ran something or wrote state")
	}

	ws.ferryJSON(t, "run").wantCode(t, 0)
	wantPlan(t, runPlan(t, ws), map[string]string{"gen": "up to date:", "use": "up to date:", "other": "up to date:"})

	ws.write(t, "a.txt", "changed\n")
	if err := os.Remove(ws.path("o.txt")); err != nil {
		t.Fatal(err)
	}
	wantPlan(t, runPlan(t, ws), map[string]string{
		"gen":   "would run: a.txt changed",
		"use":   "would run: dep gen changed",
		"other": "would run: output o.txt missing",
	})
	// A selection plans it and its deps only.
	wantPlan(t, runPlan(t, ws, "use"), map[string]string{
		"gen": "would run: a.txt changed",
		"use": "would run: dep gen changed",
	})
	// Plan runs nothing.
	if ws.exists("o.txt") {
		t.Error("plan wrote an output")
	}

	ws.ferryJSON(t, "run").wantCode(t, 0)
	ws.write(t, "ferry.star", strings.Replace(ws.read(t, "ferry.star"), "cat b.txt > o.txt", "cat b.txt b.txt > o.txt", 1))
	wantPlan(t, runPlan(t, ws), map[string]string{
		"gen": "up to date:", "use": "up to date:", "other": "would run: definition changed",
	})
	wantPlan(t, runPlan(t, ws, "--force", "gen"), map[string]string{"gen": "would run: forced (--force)"})

	r = ws.ferry(t, "plan", "nope")
	r.wantCode(t, 2)
	r.wantStderr(t, `no rule named "nope"`)
}

func TestPlanJSON(t *testing.T) {
	t.Parallel()
	ws := chainWorkspace(t)
	ws.ferryJSON(t, "run").wantCode(t, 0)
	ws.write(t, "b.txt", "bb\n")
	r := ws.ferry(t, "plan", "--json")
	r.wantCode(t, 0)
	var items []struct {
		Rule    string   `json:"rule"`
		Kind    string   `json:"kind"`
		Run     bool     `json:"run"`
		Reasons []string `json:"reasons"`
		Error   string   `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &items); err != nil {
		t.Fatalf("plan --json is not a JSON list: %v\n%s", err, r)
	}
	got := map[string]string{}
	for _, it := range items {
		if it.Kind != "task" || it.Error != "" {
			t.Errorf("item %+v", it)
		}
		got[it.Rule] = fmt.Sprint(it.Run, it.Reasons)
	}
	want := map[string]string{"gen": "false []", "use": "false []", "other": "true [b.txt changed]"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("plan --json: got %v, want %v", got, want)
	}
	// Deps come before the rules that need them.
	order := []string{}
	for _, it := range items {
		order = append(order, it.Rule)
	}
	if slices.Index(order, "gen") > slices.Index(order, "use") {
		t.Errorf("order %q: gen should come before use", order)
	}
}

// A rule whose src is written by a dep cannot be keyed before the dep runs;
// plan must still say it would run, not report an error.
func TestPlanGeneratedSource(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "gen", cmd = "cp a.txt gen.txt", srcs = ["a.txt"], outs = ["gen.txt"])
task(name = "use", cmd = "cp gen.txt out.txt", srcs = ["gen.txt"], outs = ["out.txt"], deps = ["gen"])
`,
		"a.txt": "a\n",
	})
	r := ws.ferry(t, "plan")
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "2 of 2 rules would run") {
		t.Errorf("the plan total should count every rule that will run\n%s", r)
	}
	wantPlan(t, runPlan(t, ws), map[string]string{"gen": "would run: never ran", "use": "would run: never ran"})
}

func TestGraph(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "base", cmd = "true", doc = "the base")
task(name = "left", cmd = "true", deps = ["base"])
task(name = "right", cmd = "true", deps = ["base"])
task(name = "top", cmd = "true", deps = ["left", "right"])
task(name = "alone", cmd = "true")
`,
	})
	r := ws.ferry(t, "graph")
	r.wantCode(t, 0)
	want := `top (task)
├── left (task)
│   └── base (task) — the base
└── right (task)
    └── base (task) — the base
alone (task)
`
	if r.stdout != want {
		t.Errorf("graph:\n%s\nwant:\n%s", r.stdout, want)
	}

	r = ws.ferry(t, "graph", "--format", "dot")
	r.wantCode(t, 0)
	for _, line := range []string{"digraph ferry {", `"top" -> "left";`, `"top" -> "right";`, `"left" -> "base";`, `"right" -> "base";`, `"alone" [label=`, "}"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("dot lacks %q\n%s", line, r.stdout)
		}
	}
	if strings.Count(r.stdout, "->") != 4 {
		t.Errorf("dot: want 4 edges\n%s", r.stdout)
	}

	// A selection shows it and its deps.
	r = ws.ferry(t, "graph", "left")
	r.wantCode(t, 0)
	if r.stdout != "left (task)\n└── base (task) — the base\n" {
		t.Errorf("graph left:\n%s", r.stdout)
	}

	r = ws.ferry(t, "graph", "--format", "svg")
	r.wantCode(t, 2)
	r.wantStderr(t, "text or dot")
}

func TestInit(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, nil)
	r := ws.ferry(t, "init")
	r.wantCode(t, 0)
	if !ws.exists("ferry.star") {
		t.Fatalf("no ferry.star\n%s", r)
	}
	r = ws.ferryJSON(t, "run")
	r.wantCode(t, 0)
	if len(r.done()) == 0 {
		t.Errorf("the starter ferry.star ran nothing\n%s", r)
	}
	ws.ferryJSON(t, "run").wantRan(t, nil, r.done())
	// The state folder stays out of git.
	if got := ws.read(t, ".gitignore"); got != ".ferry/\n" {
		t.Errorf(".gitignore after init: %q, want \".ferry/\\n\"", got)
	}
	if got := ws.read(t, ".ferry/.gitignore"); got != "*\n" {
		t.Errorf(".ferry/.gitignore after run: %q, want \"*\\n\"", got)
	}

	// It does not overwrite without --force.
	ws.write(t, "ferry.star", "# mine\n")
	r = ws.ferry(t, "init")
	r.wantCode(t, 2)
	r.wantStderr(t, "already exists", "--force")
	if ws.read(t, "ferry.star") != "# mine\n" {
		t.Error("init overwrote ferry.star")
	}
	ws.ferry(t, "init", "--force").wantCode(t, 0)
	if ws.read(t, "ferry.star") == "# mine\n" {
		t.Error("init --force did not overwrite ferry.star")
	}
	if got := ws.read(t, ".gitignore"); got != ".ferry/\n" {
		t.Errorf(".gitignore after a second init: %q, want it unchanged", got)
	}

	// -C DIR writes there.
	other := t.TempDir()
	startFerry(t, ws.dir, "-C", other, "init").wait(t).wantCode(t, 0)
	if _, err := os.Stat(filepath.Join(other, "ferry.star")); err != nil {
		t.Error(err)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"version", "--version"} {
		r := newWorkspace(t, nil).ferry(t, arg)
		r.wantCode(t, 0)
		if !regexp.MustCompile(`^ferry \S+ go1\.\S+ \w+/\w+\n$`).MatchString(r.stdout) {
			t.Errorf("%s output %q", arg, r.stdout)
		}
	}
}

func TestDoc(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, nil)
	r := ws.ferry(t, "doc", "task")
	r.wantCode(t, 0)
	if !strings.HasPrefix(r.stdout, "### `task(") {
		t.Errorf("doc task:\n%s", r.stdout)
	}
	r = ws.ferry(t, "doc", "tsk")
	r.wantCode(t, 2)
	r.wantStderr(t, `did you mean "task"`)
	// A module's name gives each of its builtins.
	r = ws.ferry(t, "doc", "metrics")
	r.wantCode(t, 0)
	if !strings.HasPrefix(r.stdout, "### `metrics.scrape(") {
		t.Errorf("doc metrics:\n%s", r.stdout)
	}
	r = ws.ferry(t, "doc", "health")
	r.wantCode(t, 0)
	for _, b := range []string{"### `health.http(", "### `health.tcp(", "### `health.exec("} {
		if !strings.Contains(r.stdout, b) {
			t.Errorf("doc health lacks %s:\n%s", b, r.stdout)
		}
	}
}

func TestWorkspaceDiscovery(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star":      `task(name = "where", cmd = "pwd > where.txt", outs = ["where.txt"])`,
		"deep/er/keep":    "",
		"alt/other.star":  `task(name = "alt", cmd = "echo alt > alt.txt", outs = ["alt.txt"])`,
		"alt/ferry.star":  `fail("alt/ferry.star must not be read with -f alt/other.star")`,
		"elsewhere/.keep": "",
	})
	// Walking up from a subfolder finds the root; commands run there.
	r := startFerry(t, ws.path("deep/er"), jsonArgs[0], jsonArgs[1], "run").wait(t)
	r.wantCode(t, 0)
	if !ws.exists("where.txt") || !ws.exists(".ferry/state") || ws.exists("deep/er/where.txt") {
		t.Errorf("want where.txt and .ferry at the root\n%s", r)
	}
	// -C DIR.
	startFerry(t, t.TempDir(), append(slices.Clone(jsonArgs), "-C", ws.path("deep"), "run")...).wait(t).wantRan(t, nil, []string{"where"})
	// -f FILE: its folder is the root.
	r = startFerry(t, ws.path("elsewhere"), append(slices.Clone(jsonArgs), "-f", ws.path("alt/other.star"), "run")...).wait(t)
	r.wantRan(t, []string{"alt"}, nil)
	if !ws.exists("alt/alt.txt") {
		t.Error("alt.txt not written next to other.star")
	}
	// -f relative to -C.
	startFerry(t, t.TempDir(), append(slices.Clone(jsonArgs), "-C", ws.dir, "-f", "alt/other.star", "run")...).wait(t).wantRan(t, nil, []string{"alt"})

	r = ws.ferry(t, "-f", "missing.star", "run")
	r.wantCode(t, 2)
	r.wantStderr(t, "missing.star")
}

// ---------------------------------------------------------------------------
// Bad input

func TestNoWorkspace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "ferry.star")); err == nil {
			t.Skipf("%s has a ferry.star above it", dir)
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, cmd := range []string{"run", "plan", "graph"} {
		r := startFerry(t, dir, cmd).wait(t)
		r.wantCode(t, 2)
		r.wantStderr(t, "no ferry.star", "ferry init")
	}
}

func TestMissingDirFlag(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope")
	r := startFerry(t, t.TempDir(), "-C", missing, "run").wait(t)
	r.wantCode(t, 2)
	r.wantStderr(t, missing)
	r.wantStderr(t, "does not exist")
}

// badCase is one broken workspace: the exit code, and what stderr must say.
type badCase struct {
	name  string
	files map[string]string
	args  []string // default: run
	code  int
	want  []string // substrings of stderr
	re    []string // regular expressions stderr must match
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	cases := []badCase{
		{
			name:  "syntax error",
			files: map[string]string{"ferry.star": "task(name = \"a\" cmd = \"true\")\n"},
			code:  2,
			re:    []string{`ferry\.star:1:\d+: syntax error: got identifier, want ','`},
		},
		{
			name:  "syntax error at end of file",
			files: map[string]string{"ferry.star": "x = 1\ntask(name = \"a\", cmd = \"true\"\n"},
			code:  2,
			re:    []string{`ferry\.star:3:\d+: syntax error: .*want '\)'`},
		},
		{
			name:  "unknown keyword",
			files: map[string]string{"ferry.star": "\ntask(name = \"a\", cmd = \"true\", srcz = [\"x\"])\n"},
			code:  2,
			want:  []string{`unexpected keyword argument "srcz"`, `did you mean "srcs"`},
			re:    []string{`ferry\.star:2:\d+: task "a"`},
		},
		{
			name:  "wrong argument type",
			files: map[string]string{"ferry.star": "x = 1\ntask(name = \"api\", cmd = \"true\", srcs = 1)\n"},
			code:  2,
			re:    []string{`ferry\.star:2:\d+: task "api": srcs: got int, want list of strings`},
		},
		{
			name:  "wrong type in a list",
			files: map[string]string{"ferry.star": "task(name = \"api\", cmd = \"true\", deps = [1])\n"},
			code:  2,
			re:    []string{`ferry\.star:1:\d+: task "api": deps: got list, want list of strings`},
		},
		{
			name:  "missing name",
			files: map[string]string{"ferry.star": "task(cmd = \"true\")\n"},
			code:  2,
			re:    []string{`ferry\.star:1:\d+: task: missing required argument "name"`},
		},
		{
			name:  "neither cmd nor run",
			files: map[string]string{"ferry.star": "task(name = \"a\")\n"},
			code:  2,
			re:    []string{`ferry\.star:1:\d+: task "a": missing cmd .* or run`},
		},
		{
			name:  "cmd and run",
			files: map[string]string{"ferry.star": "def f(ctx):\n    pass\ntask(name = \"a\", cmd = \"true\", run = f)\n"},
			code:  2,
			re:    []string{`ferry\.star:3:\d+: task "a": give cmd or run, not both`},
		},
		{
			name:  "path outside the workspace",
			files: map[string]string{"ferry.star": "task(name = \"a\", cmd = \"true\", outs = [\"../x\"])\n"},
			code:  2,
			re:    []string{`ferry\.star:1:\d+: task "a": outs: "\.\./x" leaves the workspace`},
		},
		{
			name: "duplicate rule name",
			files: map[string]string{"ferry.star": `task(name = "a", cmd = "true")

task(name = "a", cmd = "false")
`},
			code: 2,
			want: []string{`duplicate rule name "a"`},
			re:   []string{`ferry\.star:3:\d+: `, `already declared at ferry\.star:1:\d+`},
		},
		{
			name: "duplicate rule name across modules",
			files: map[string]string{
				"ferry.star": "load(\"//lib.star\", \"x\")\ntask(name = \"a\", cmd = \"true\")\n",
				"lib.star":   "x = task(name = \"a\", cmd = \"true\")\n",
			},
			code: 2,
			want: []string{`duplicate rule name "a"`},
			re:   []string{`ferry\.star:2:\d+: `, `already declared at lib\.star:1:\d+`},
		},
		{
			name: "unknown dep",
			files: map[string]string{"ferry.star": `task(name = "build", cmd = "true")
task(name = "b", cmd = "true", deps = ["biuld"])
`},
			code: 2,
			want: []string{`unknown dep "biuld"`, `did you mean "build"`},
			re:   []string{`ferry\.star:2:\d+: task "b"`},
		},
		{
			name:  "unknown rule on the command line",
			files: map[string]string{"ferry.star": `task(name = "build", cmd = "true")`},
			args:  []string{"run", "buidl"},
			code:  2,
			want:  []string{`no rule named "buidl"`, `did you mean "build"`},
		},
		{
			name: "dependency cycle",
			files: map[string]string{"ferry.star": `task(name = "a", cmd = "true", deps = ["b"])
task(name = "b", cmd = "true", deps = ["c"])
task(name = "c", cmd = "true", deps = ["a"])
`},
			code: 2,
			want: []string{"dependency cycle: a → b → c → a"},
			re:   []string{`ferry\.star:\d+:\d+: dependency cycle`},
		},
		{
			name: "load cycle",
			files: map[string]string{
				"ferry.star": `load("//x.star", "X")`,
				"x.star":     "load(\"//y.star\", \"Y\")\nX = 1\n",
				"y.star":     "load(\"//x.star\", \"X\")\nY = 1\n",
			},
			code: 2,
			want: []string{"load cycle", "//x.star loads //y.star loads //x.star"},
			re:   []string{`[xy]\.star:1:\d+: `},
		},
		{
			name:  "load of a missing module",
			files: map[string]string{"ferry.star": "\nload(\"//lib/missing.star\", \"x\")\n"},
			code:  2,
			want:  []string{"//lib/missing.star", "does not exist"},
			re:    []string{`ferry\.star:2:\d+: `},
		},
		{
			name:  "load of a missing std module",
			files: map[string]string{"ferry.star": `load("@std//nope.star", "x")`},
			code:  2,
			want:  []string{"@std//nope.star", "@std//go.star"},
			re:    []string{`ferry\.star:1:\d+: `},
		},
		{
			name:  "load of a name the module lacks",
			files: map[string]string{"ferry.star": `load("//lib.star", "nope")`, "lib.star": "x = 1\n"},
			code:  2,
			want:  []string{"nope", "//lib.star"},
			re:    []string{`ferry\.star:1:\d+: `},
		},
		{
			name:  "bad load form",
			files: map[string]string{"ferry.star": `load("lib.star", "x")`, "lib.star": "x = 1\n"},
			code:  2,
			want:  []string{"//path", "./path"},
			re:    []string{`ferry\.star:1:\d+: `},
		},
		{
			name:  "undefined name",
			files: map[string]string{"ferry.star": "x = 1\ny = undefined_thing\n"},
			code:  2,
			re:    []string{`ferry\.star:2:\d+: undefined: undefined_thing`},
		},
		{
			name:  "fail",
			files: map[string]string{"ferry.star": "x = 1\nfail(\"set REGION first\")\n"},
			code:  2,
			re:    []string{`ferry\.star:2:\d+: .*set REGION first`},
		},
		{
			name:  "fail in a function",
			files: map[string]string{"ferry.star": "def check():\n    fail(\"bad config\")\n\ncheck()\n"},
			code:  2,
			re:    []string{`ferry\.star:2:\d+: .*bad config`, `ferry\.star:4:\d+`},
		},
		{
			name:  "runaway loop",
			files: map[string]string{"ferry.star": "x = 0\nwhile True:\n    x += 1\n"},
			code:  2,
			want:  []string{"exceeded 200000000 steps"},
			re:    []string{`ferry\.star:\d+:\d+: `},
		},
		{
			name:  "runaway loop is positioned and explained",
			files: map[string]string{"ferry.star": "x = 0\nwhile True:\n    x += 1\n"},
			code:  2,
			re:    []string{`ferry\.star:3:\d+: `, `loop`},
		},
		{
			name: "error inside a std macro points at the caller",
			files: map[string]string{"ferry.star": `load("@std//go.star", "go_binary")
go_binary(name = "x", bogus = 1)
`},
			code: 2,
			re:   []string{`ferry\.star:2:\d+: task "x": unexpected keyword argument "bogus"`},
		},
		{
			name:  "command not found (shell)",
			files: map[string]string{"ferry.star": `task(name = "a", cmd = "nosuch-command-xyz --flag")`},
			code:  1,
			want:  []string{"exit code 127", "could not find", "nosuch-command-xyz", "PATH"},
		},
		{
			name:  "command not found (argv)",
			files: map[string]string{"ferry.star": `task(name = "a", cmd = ["nosuch-command-xyz", "--flag"])`},
			code:  1,
			want:  []string{`"nosuch-command-xyz" not found`, "PATH"},
		},
		{
			name:  "declared output not written",
			files: map[string]string{"ferry.star": "\ntask(name = \"a\", cmd = \"true\", outs = [\"never.txt\"])\n"},
			code:  1,
			want:  []string{"never.txt", "did not write"},
			re:    []string{`ferry\.star:2:\d+`},
		},
		{
			name:  "missing source",
			files: map[string]string{"ferry.star": `task(name = "a", cmd = "true", srcs = ["missing.txt"])`},
			code:  1,
			want:  []string{"missing.txt", "does not exist"},
			re:    []string{`ferry\.star:1:\d+`},
		},
		{
			name:  "missing source is named relative to the workspace",
			files: map[string]string{"ferry.star": `task(name = "a", cmd = "true", srcs = ["sub/missing.txt"])`},
			code:  1,
			re:    []string{`input sub/missing\.txt does not exist`},
		},
		{
			name:  "unknown log format",
			files: map[string]string{"ferry.star": `task(name = "a", cmd = "true")`},
			args:  []string{"--log-format", "xml", "run"},
			code:  2,
			want:  []string{`"xml"`, "console or json"},
		},
		{
			name:  "unknown command",
			files: map[string]string{"ferry.star": `task(name = "a", cmd = "true")`},
			args:  []string{"rnu"},
			code:  2,
			want:  []string{`unknown command "rnu"`},
		},
		{
			name:  "folder that does not exist",
			files: map[string]string{"ferry.star": `task(name = "a", cmd = "true", dir = "nodir")`},
			code:  1,
			want:  []string{"nodir"},
		},
		{
			name:  "empty cmd",
			files: map[string]string{"ferry.star": `task(name = "a", cmd = "")`},
			code:  2,
			re:    []string{`ferry\.star:1:\d+: task "a": cmd .*empty`},
		},
		{
			name: "two tasks declare the same output",
			files: map[string]string{"ferry.star": `task(name = "a", cmd = "echo a > x.txt", outs = ["x.txt"])
task(name = "b", cmd = "echo b > x.txt", outs = ["x.txt"])
`},
			code: 2,
			want: []string{"x.txt", `"a"`, `"b"`},
			re:   []string{`ferry\.star:2:\d+`},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ws := newWorkspace(t, c.files)
			args := c.args
			if args == nil {
				args = []string{"run"}
			}
			r := ws.ferry(t, args...)
			r.wantCode(t, c.code)
			r.wantStderr(t, c.want...)
			r.wantStderrMatch(t, c.re...)
		})
	}
}

func TestCorruptState(t *testing.T) {
	t.Parallel()
	for _, damage := range []string{"garbage", "truncated", "empty"} {
		t.Run(damage, func(t *testing.T) {
			t.Parallel()
			ws := chainWorkspace(t)
			ws.ferryJSON(t, "run").wantCode(t, 0)
			state := ws.path(".ferry/state")
			b, err := os.ReadFile(state)
			if err != nil {
				t.Fatal(err)
			}
			switch damage {
			case "garbage":
				b = []byte("this is not a state file\x00\xff")
			case "truncated":
				b = b[:len(b)/2]
			case "empty":
				b = nil
			}
			if err := os.WriteFile(state, b, 0o644); err != nil {
				t.Fatal(err)
			}
			r := ws.ferryJSON(t, "run")
			r.wantRan(t, []string{"gen", "use", "other"}, nil)
			warned := false
			for _, e := range r.events {
				if e.str("level") == "warn" && strings.Contains(e.str("message"), "corrupt") {
					warned = true
				}
			}
			if !warned {
				t.Errorf("no warning about the corrupt state\n%s", r)
			}
			// The state is good again.
			ws.ferryJSON(t, "run").wantRan(t, nil, []string{"gen", "use", "other"})
		})
	}
}

func TestConcurrentRunsWaitForTheLock(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": fmt.Sprintf(`task(name = "hold", cmd = %s)`, starQuote("touch started; "+waitFile("release"))),
	})
	first := ws.start(t, append(slices.Clone(jsonArgs), "run")...)
	eventually(t, "the first run's task to start", func() bool { return ws.exists("started") })

	second := ws.start(t, append(slices.Clone(jsonArgs), "run")...)
	want := fmt.Sprintf("pid %d", first.cmd.Process.Pid)
	eventually(t, "the second run to say it waits for "+want, func() bool {
		return strings.Contains(second.stderr.String(), want)
	})
	select {
	case <-second.done:
		t.Fatalf("the second run did not wait\n%s", second.stderr.String())
	default:
	}
	ws.write(t, "release", "")

	r1 := first.wait(t)
	r1.wantRan(t, []string{"hold"}, nil)
	r2 := second.wait(t)
	r2.wantRan(t, nil, []string{"hold"})
}

func TestInterrupt(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "quick", cmd = "echo q > quick.txt", outs = ["quick.txt"])
task(name = "long", cmd = "sleep 100 & echo $! > child.pid; wait", deps = ["quick"])
`,
	})
	p := ws.start(t, append(slices.Clone(jsonArgs), "run")...)
	pid := ws.readPID(t, "child.pid")
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	r.wantCode(t, 130)
	wantSet(t, "ran", r.done(), []string{"quick"}, r)
	wantDead(t, pid, "the task's child, after ferry was interrupted")
	if s := r.summary(t); s.str("level") != "error" {
		t.Errorf("summary %v", s)
	}

	if err := os.Remove(ws.path("child.pid")); err != nil {
		t.Fatal(err)
	}
	// The next run keeps quick's success and reruns long.
	p = ws.start(t, append(slices.Clone(jsonArgs), "run")...)
	pid = ws.readPID(t, "child.pid")
	p.cmd.Process.Signal(os.Interrupt)
	r = p.wait(t)
	r.wantCode(t, 130)
	wantSet(t, "up to date", r.cached(), []string{"quick"}, r)
	wantSet(t, "started", r.started(), []string{"long"}, r)
	wantDead(t, pid, "the task's child, after ferry was interrupted")
}

func TestInterruptDuringEvaluation(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": "print(\"evaluating\")\nx = 0\nwhile True:\n    x += 1\n",
	})
	p := ws.start(t, "plan")
	eventually(t, "evaluation to start", func() bool { return strings.Contains(p.stderr.String(), "evaluating") })
	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	r.wantStderr(t, "interrupted")
}

// The step limit also stops a runaway run-time action.
func TestRunawayActionIsStopped(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs 200M Starlark steps")
	}
	ws := newWorkspace(t, map[string]string{
		"ferry.star": "def _spin(ctx):\n    while True:\n        pass\n\ntask(name = \"spin\", run = _spin)\n",
	})
	r := ws.ferryJSON(t, "run")
	r.wantCode(t, 1)
	if e := r.first("spin", logEvent.isFail); e == nil || !strings.Contains(e.str("error"), "run-time action exceeded") {
		t.Errorf("failure %v", e)
	}
}

// A plan with no rule named plans the build rules, and says which services
// and jobs it left to `ferry up` and how to plan them: a file of services
// alone no longer plans "0 of 0 rules" without a word about them.
func TestPlanNamesServicesLeftToUp(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": `service(name = "db", image = "postgres:16")
service(name = "api", image = "example/api:1", depends_on = ["db"])
job(name = "migrate", image = "example/api:1", command = ["migrate"])
`})
	r := ws.ferry(t, "plan")
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "3 services and jobs are left to `ferry up`: `ferry plan db api migrate` plans them") {
		t.Errorf("plan does not name the services left to up:\n%s", r)
	}
	r = ws.ferry(t, "plan", "db")
	r.wantCode(t, 0)
	if strings.Contains(r.stdout, "left to `ferry up`") {
		t.Errorf("a plan of named rules speaks of the services it left out:\n%s", r)
	}
}
