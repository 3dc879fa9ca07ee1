package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine/redact"
)

// These tests run real processes under a real Supervisor.

// eventLog collects a Bus's events.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) Handle(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// texts returns the text of the events of kind.
func (l *eventLog) texts(kind EventKind) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if e.Kind == kind {
			out = append(out, e.Text)
		}
	}
	return out
}

func newTestSupervisor(t *testing.T) (*Supervisor, *eventLog) {
	t.Helper()
	log := &eventLog{}
	s := NewSupervisor(NewBus(redact.New(), log))
	t.Cleanup(s.Stop)
	return s, log
}

// shell returns an unstarted sh -c script running in dir.
func shell(dir, script string) *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = dir
	return cmd
}

// alive reports whether pid is a live process (not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return f[0] != "Z" && f[0] != "X"
}

// waitFor polls cond, failing the test after a generous limit; it is not a
// timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readPIDs waits for file to hold n pids, one a line, and returns them.
func readPIDs(t *testing.T, file string, n int) []int {
	t.Helper()
	var pids []int
	waitFor(t, fmt.Sprintf("%d pids in %s", n, filepath.Base(file)), func() bool {
		b, _ := os.ReadFile(file)
		pids = nil
		for _, l := range strings.Fields(string(b)) {
			p, err := strconv.Atoi(l)
			if err != nil {
				return false
			}
			pids = append(pids, p)
		}
		return len(pids) >= n
	})
	return pids
}

func TestSupervisorKillsAfterGrace(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	s, log := newTestSupervisor(t)
	// The shell and its sleep both ignore SIGTERM (an ignored signal stays
	// ignored across exec).
	script := `trap "" TERM; sleep 100 & echo $$ $! >> pids; wait`
	if err := s.Start(context.Background(), "api", Digest{1}, shell(dir, script), 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	first := readPIDs(t, filepath.Join(dir, "pids"), 2)
	if !s.Running("api", Digest{1}) || s.Running("api", Digest{2}) {
		t.Fatalf("Running: want true for the key started, false for another")
	}
	if err := s.Start(context.Background(), "api", Digest{2}, shell(dir, script), 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// Start returned: the old group is gone, though it ignored SIGTERM.
	for _, pid := range first {
		if alive(pid) {
			t.Errorf("pid %d of the first instance is alive after the restart", pid)
		}
	}
	second := readPIDs(t, filepath.Join(dir, "pids"), 4)[2:]
	if !s.Running("api", Digest{2}) || s.Running("api", Digest{1}) {
		t.Errorf("Running: want true for the new key only")
	}
	s.Stop()
	for _, pid := range second {
		if alive(pid) {
			t.Errorf("pid %d of the second instance is alive after Stop", pid)
		}
	}
	for _, l := range log.texts(EventLog) {
		if strings.Contains(l, "on its own") {
			t.Errorf("a stopped server was reported as exiting on its own: %q", l)
		}
	}
}

func TestSupervisorStopsWholeGroup(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	s, _ := newTestSupervisor(t)
	// The grandchild leaves the shell's job control and outlives its parent
	// unless the group is killed.
	script := `(sleep 100 & echo $! >> pids) ; echo $$ >> pids; sleep 100`
	if err := s.Start(context.Background(), "api", Digest{1}, shell(dir, script), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	pids := readPIDs(t, filepath.Join(dir, "pids"), 2)
	s.Stop()
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d is alive after Stop", pid)
		}
	}
	if err := s.Start(context.Background(), "api", Digest{1}, shell(dir, script), time.Second); err == nil {
		t.Errorf("Start after Stop: no error")
	}
}

// The next instance starts only once the previous one has finished its
// shutdown.
func TestSupervisorRestartWaitsForExit(t *testing.T) {
	dir := t.TempDir()
	s, _ := newTestSupervisor(t)
	script := `trap 'sleep 0.3; echo end >> log; exit 0' TERM; echo start >> log; while :; do sleep 0.05; done`
	for i := range 3 {
		if err := s.Start(context.Background(), "api", Digest{byte(i)}, shell(dir, script), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the instance to start", func() bool {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			return strings.Count(string(b), "start") == i+1
		})
	}
	s.Stop()
	b, err := os.ReadFile(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Fields(string(b)), strings.Fields("start end start end start end"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("log: got %q, want %q", got, want)
	}
}

func TestSupervisorReportsExitOnItsOwn(t *testing.T) {
	dir := t.TempDir()
	s, log := newTestSupervisor(t)
	if err := s.Start(context.Background(), "api", Digest{1}, shell(dir, `echo listening; echo "bind: address in use" >&2; exit 3`), time.Second); err != nil {
		t.Fatal(err)
	}
	var report string
	waitFor(t, "the exit to be reported", func() bool {
		for _, l := range log.texts(EventLog) {
			if strings.Contains(l, "on its own") {
				report = l
				return true
			}
		}
		return false
	})
	for _, want := range []string{"api: server exited on its own (exit code 3)", "next change", "listening", "bind: address in use"} {
		if !strings.Contains(report, want) {
			t.Errorf("report %q lacks %q", report, want)
		}
	}
	if s.Running("api", Digest{1}) {
		t.Errorf("Running: true after the process exited")
	}
	if out := log.texts(EventOutput); len(out) != 2 {
		t.Errorf("output events: %q, want the 2 lines", out)
	}
}

func TestSupervisorStartCancelled(t *testing.T) {
	s, _ := newTestSupervisor(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Start(ctx, "api", Digest{1}, shell(t.TempDir(), "sleep 100"), time.Second); err == nil {
		t.Fatal("Start with a cancelled context: no error")
	}
	if s.Running("api", Digest{1}) {
		t.Errorf("Running: true, though nothing started")
	}
}

func TestSupervisorStopOthers(t *testing.T) {
	dir := t.TempDir()
	s, _ := newTestSupervisor(t)
	for _, rule := range []string{"keep", "drop"} {
		if err := s.Start(context.Background(), rule, Digest{1}, shell(dir, "exec sleep 100"), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	s.StopOthers(map[string]bool{"keep": true})
	if !s.Running("keep", Digest{1}) || s.Running("drop", Digest{1}) {
		t.Errorf("after StopOthers(keep): keep running %v, drop running %v; want true, false", s.Running("keep", Digest{1}), s.Running("drop", Digest{1}))
	}
}

// BenchmarkSupervisorRestart measures one restart: SIGTERM to the running
// server's group, waiting until it is gone, and starting the next one. The
// server is a shell that execs sleep, which SIGTERM ends at once.
func BenchmarkSupervisorRestart(b *testing.B) {
	dir := b.TempDir()
	s := NewSupervisor(NewBus(redact.New()))
	defer s.Stop()
	for i := 0; b.Loop(); i++ {
		if err := s.Start(context.Background(), "api", Digest{byte(i)}, shell(dir, "exec sleep 100"), 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

// When the process that started a command dies, even by SIGKILL, the
// command and all it started die too: a background job, and a daemon that
// left the session after a double fork. The parent is this test binary,
// started again to run TestProcessParent.
func TestProcessDiesWithParent(t *testing.T) {
	dir := t.TempDir()
	parent := exec.Command(os.Args[0], "-test.run=^TestProcessParent$")
	parent.Env = append(os.Environ(), "FERRY_TEST_PARENT_DIR="+dir)
	parent.Stderr = os.Stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	pids := readPIDs(t, filepath.Join(dir, "pids"), 3)
	t.Cleanup(func() {
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGKILL)
		}
	})
	parent.Process.Kill()
	parent.Wait()
	for _, p := range pids {
		waitFor(t, fmt.Sprintf("pid %d to die with its parent", p), func() bool { return !alive(p) })
	}
}

// TestProcessParent is the parent of TestProcessDiesWithParent: it starts
// the command and waits to be killed.
func TestProcessParent(t *testing.T) {
	dir := os.Getenv("FERRY_TEST_PARENT_DIR")
	if dir == "" {
		t.Skip("run by TestProcessDiesWithParent")
	}
	script := `sleep 300 & echo $! >> pids
setsid sh -c 'sleep 300 & echo $! >> pids' </dev/null >/dev/null 2>&1 &
echo $$ >> pids
sleep 300`
	p, err := StartProcess(shell(dir, script), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
}

// Wait says how the command ended, and why it could not start.
func TestProcessExit(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		cmd  *exec.Cmd
		want string
	}{
		{shell(dir, "exit 0"), ""},
		{shell(dir, "exit 3"), "exit code 3"},
		{shell(dir, "kill -SEGV $$"), "killed by signal segmentation fault"},
		{exec.Command(filepath.Join(dir, "missing")), "start: "},
	} {
		var out strings.Builder
		tc.cmd.Stdout, tc.cmd.Stderr = &out, &out
		p, err := StartProcess(tc.cmd, time.Second)
		if err == nil {
			err = p.Wait()
		}
		if got := fmt.Sprint(err); tc.want == "" && err != nil || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %v, want %q", tc.cmd, err, tc.want)
		}
	}
}

// BenchmarkProcessStart measures running `true` under the supervisor: a
// request to it and its answers, besides the start itself. The supervisor
// is started once, at the first command.
func BenchmarkProcessStart(b *testing.B) {
	for b.Loop() {
		p, err := StartProcess(exec.Command("/bin/true"), time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessStartDirect is the baseline: `true` run with os/exec.
func BenchmarkProcessStartDirect(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// A large request (a long environment, here) reaches the supervisor
// whole, and the command's output reaches a Writer that is not a file.
func TestProcessLargeRequest(t *testing.T) {
	cmd := shell(t.TempDir(), `printf %s "$BIG" | wc -c`)
	cmd.Env = append(os.Environ(), "BIG="+strings.Repeat("x", 100_000))
	var out strings.Builder
	cmd.Stdout = &out
	p, err := StartProcess(cmd, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "100000" {
		t.Errorf("the command saw $BIG of %s bytes, want 100000", got)
	}
}

// parentOf returns the parent process ID of pid, from /proc.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	ppid, err := strconv.Atoi(strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[1])
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}

// Commands run under one supervisor per ferry process, a child of ferry,
// not one each; each command is in a process group of its own.
func TestProcessesShareOneSupervisor(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	var procs []*Process
	parents := map[int]bool{}
	for i := range 3 {
		p, err := StartProcess(shell(dir, fmt.Sprintf("echo $$ >> pids%d; exec sleep 100", i)), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
		pid := readPIDs(t, filepath.Join(dir, fmt.Sprintf("pids%d", i)), 1)[0]
		parents[parentOf(t, pid)] = true
		if pgid, _ := syscall.Getpgid(pid); pgid != pid {
			t.Errorf("command %d: process group %d, want its own (%d)", i, pgid, pid)
		}
	}
	for _, p := range procs {
		p.Stop()
		p.Wait()
	}
	if len(parents) != 1 {
		t.Fatalf("the commands have %d parents, want one supervisor", len(parents))
	}
	for sup := range parents {
		if got := parentOf(t, sup); got != os.Getpid() {
			t.Errorf("the supervisor's parent is %d, want this process (%d)", got, os.Getpid())
		}
	}
}

// A command's leftovers, in its group or not, are killed when it exits,
// while another command keeps running; what the other started lives on.
func TestProcessLeftoversKilledAtExit(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	other, err := StartProcess(shell(dir, `sleep 300 & echo $! >> other; wait`), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		other.Stop()
		other.Wait()
	}()
	otherPid := readPIDs(t, filepath.Join(dir, "other"), 1)[0]
	p, err := StartProcess(shell(dir, `sleep 300 & echo $! >> pids
setsid sh -c 'sleep 300 & echo $! >> pids' </dev/null >/dev/null 2>&1
echo done`), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range readPIDs(t, filepath.Join(dir, "pids"), 2) {
		if alive(pid) {
			t.Errorf("pid %d, left behind by the command, is alive after Wait", pid)
		}
	}
	if !alive(otherPid) {
		t.Errorf("pid %d of the other command was killed", otherPid)
	}
}

// TestProcessLeftoversExecingAtExitKilled: leftovers that are still in
// their exec when the command exits show the supervisor no environment for
// a moment; they are still the command's, not shared with another command
// that runs. Under load (or with -count) this caught the supervisor
// deciding their owner from that empty environment.
func TestProcessLeftoversExecingAtExitKilled(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	other, err := StartProcess(shell(dir, `sleep 300 & echo $! >> other; wait`), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		other.Stop()
		other.Wait()
	}()
	otherPid := readPIDs(t, filepath.Join(dir, "other"), 1)[0]
	const n = 20
	p, err := StartProcess(shell(dir, fmt.Sprintf(`setsid sh -c 'for i in $(seq %d); do sleep 300 & echo $! >> pids; done' </dev/null >/dev/null 2>&1`, n)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range readPIDs(t, filepath.Join(dir, "pids"), n) {
		if alive(pid) {
			t.Errorf("pid %d, left behind by the command, is alive after Wait", pid)
		}
	}
	if !alive(otherPid) {
		t.Errorf("pid %d of the other command was killed", otherPid)
	}
}

// TestProcessStopSignalsOnce: Stop sends each process one SIGTERM. The
// group's signal reaches its members; a second one to each of them, as the
// supervisor sent while it looked for the processes outside the group, ran
// a shell's TERM trap again when it came while the first ran (dash does),
// and ferry watch's interrupted task logged "killed" twice.
func TestProcessStopSignalsOnce(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	// Many processes make the supervisor's look at them take a while;
	// the trap lasts until the second signal would have come.
	p, err := StartProcess(shell(dir, `trap 'echo term >> log; sleep 1; exit 1' TERM
for i in $(seq 50); do sleep 300 & done
echo ready > ready
wait`), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the command to start its processes", func() bool {
		_, err := os.Stat(filepath.Join(dir, "ready"))
		return err == nil
	})
	p.Stop()
	if err := p.Wait(); err == nil {
		t.Fatal("the stopped command exited with code 0, want 1 from its trap")
	}
	b, _ := os.ReadFile(filepath.Join(dir, "log"))
	if got := strings.Count(string(b), "term"); got != 1 {
		t.Errorf("the TERM trap ran %d times, want once:\n%s", got, b)
	}
}
