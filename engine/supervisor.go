package engine

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A Supervisor keeps the long-running processes of serve rules (dev servers)
// for one watch session: at most one process per rule, each in a process
// group of its own. Replacing or stopping a process sends SIGTERM to its
// whole group, SIGKILL after its grace period, and waits until no process
// of the group is left before anything else starts.
type Supervisor struct {
	events *Bus

	mu      sync.Mutex
	slots   map[string]*slot
	stopped bool // Stop was called: nothing starts any more
}

// slot holds one rule's process; its lock makes a restart (stop the old
// process, start the new one) one step.
type slot struct {
	restart sync.Mutex
	cur     *server // read under Supervisor.mu; changed under both locks
}

// server is one started process.
type server struct {
	rule   string
	key    Digest
	pgid   int
	grace  time.Duration
	done   chan struct{} // closed once the process and its group are gone
	tail   *tailLines
	mu     sync.Mutex
	asked  bool // stop was requested: its exit is not news
	output []*OutputWriter
}

// serverTail is how many of a server's last output lines are reported when
// it exits on its own.
const serverTail = 10

// groupGoneWait bounds the wait, after SIGKILL, for the processes of a group
// to disappear.
const groupGoneWait = 5 * time.Second

// NewSupervisor returns a Supervisor that reports through events.
func NewSupervisor(events *Bus) *Supervisor {
	return &Supervisor{events: events, slots: map[string]*slot{}}
}

// Start replaces the process of rule with cmd, started for key: it stops
// the running one first, if any (see Supervisor), and waits for it to be
// gone. cmd must not be started; Start puts it in a process group of its
// own and streams its output as the rule's output events. It returns once
// the new process has started. If ctx ends while the old process stops,
// the new one is not started.
func (s *Supervisor) Start(ctx context.Context, rule string, key Digest, cmd *exec.Cmd, grace time.Duration) error {
	s.mu.Lock()
	sl := s.slots[rule]
	if sl == nil {
		sl = &slot{}
		s.slots[rule] = sl
	}
	s.mu.Unlock()

	sl.restart.Lock()
	defer sl.restart.Unlock()
	if old := s.current(sl); old != nil {
		old.stop()
	}
	// sl.cur changes only under sl.restart, which StopOthers takes too: a
	// process started here while the servers are being stopped is stopped
	// right after.
	s.mu.Lock()
	sl.cur = nil
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return errors.New("not started: the servers are being stopped")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	srv := &server{rule: rule, key: key, grace: grace, done: make(chan struct{}), tail: &tailLines{max: serverTail}}
	for _, stream := range []string{"stdout", "stderr"} {
		w := s.events.Output(func(l string) {
			srv.tail.add(l)
			s.events.EmitLine(Event{Kind: EventOutput, Rule: rule, Stream: stream, Text: l})
		})
		srv.output = append(srv.output, w)
	}
	cmd.Stdout, cmd.Stderr = srv.output[0], srv.output[1]
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// Once the leader has exited, its output pipes may be held open by a
	// process it left behind: stop kills the group after grace, and this
	// bounds the wait if one escaped the group.
	cmd.WaitDelay = grace + time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	srv.pgid = cmd.Process.Pid
	s.mu.Lock()
	sl.cur = srv
	s.mu.Unlock()
	go s.wait(srv, cmd)
	s.events.Logf(LevelInfo, "%s: server started (pid %d)", rule, srv.pgid)
	return nil
}

// current returns the slot's process, if any.
func (s *Supervisor) current(sl *slot) *server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sl.cur
}

// wait reaps srv, kills what it left in its group, and reports an exit that
// no stop asked for.
func (s *Supervisor) wait(srv *server, cmd *exec.Cmd) {
	err := cmd.Wait()
	syscall.Kill(-srv.pgid, syscall.SIGKILL)
	waitGroupGone(srv.pgid, groupGoneWait)
	for _, w := range srv.output {
		w.Flush()
	}
	srv.mu.Lock()
	asked := srv.asked
	srv.mu.Unlock()
	close(srv.done)
	if asked {
		return
	}
	msg := fmt.Sprintf("%s: server exited on its own (%s); it starts again at the next change to its inputs", srv.rule, exitText(err))
	if lines := srv.tail.lines(); len(lines) > 0 {
		msg += "; its last lines:\n  " + strings.Join(lines, "\n  ")
	}
	s.events.Logf(LevelError, "%s", msg)
}

// stop ends srv: SIGTERM to its group, SIGKILL after its grace, and waits
// until the group is gone.
func (srv *server) stop() {
	srv.mu.Lock()
	srv.asked = true
	srv.mu.Unlock()
	select {
	case <-srv.done:
		return
	default:
	}
	syscall.Kill(-srv.pgid, syscall.SIGTERM)
	t := time.NewTimer(srv.grace)
	defer t.Stop()
	select {
	case <-srv.done:
		return
	case <-t.C:
	}
	syscall.Kill(-srv.pgid, syscall.SIGKILL)
	<-srv.done
}

// Running reports whether rule's process, started for key, is still
// running. A nil Supervisor runs nothing.
func (s *Supervisor) Running(rule string, key Digest) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	sl := s.slots[rule]
	var srv *server
	if sl != nil {
		srv = sl.cur
	}
	s.mu.Unlock()
	if srv == nil || srv.key != key {
		return false
	}
	select {
	case <-srv.done:
		return false
	default:
		return true
	}
}

// Stop stops every process, all at once, and waits until they are gone.
// Nothing starts afterwards.
func (s *Supervisor) Stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.StopOthers(nil)
}

// StopOthers stops the process of every rule not in keep, all at once, and
// waits until they are gone: for rules that are no longer declared.
func (s *Supervisor) StopOthers(keep map[string]bool) {
	s.mu.Lock()
	var slots []*slot
	for rule, sl := range s.slots {
		if !keep[rule] {
			slots = append(slots, sl)
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, sl := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sl.restart.Lock()
			defer sl.restart.Unlock()
			if srv := s.current(sl); srv != nil {
				srv.stop()
				s.mu.Lock()
				sl.cur = nil
				s.mu.Unlock()
				s.events.Logf(LevelInfo, "%s: server stopped", srv.rule)
			}
		}()
	}
	wg.Wait()
}

// exitText says how a process ended.
func exitText(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit code 0"
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + ws.Signal().String()
		}
		return fmt.Sprintf("exit code %d", ee.ExitCode())
	}
	return err.Error()
}

// waitGroupGone waits, at most limit, until no process of group pgid is
// left (zombies waiting to be reaped do not count).
func waitGroupGone(pgid int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for groupAlive(pgid) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// tailLines keeps the last lines written.
type tailLines struct {
	mu  sync.Mutex
	max int
	buf []string
}

func (t *tailLines) add(l string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, l)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
}

func (t *tailLines) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.buf...)
}
