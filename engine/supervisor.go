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

// An ExitError reports a command that exited with a non-zero code or was
// killed by a signal.
type ExitError struct {
	Status syscall.WaitStatus
}

func (e *ExitError) Error() string {
	if e.Status.Signaled() {
		return "killed by signal " + e.Status.Signal().String()
	}
	return fmt.Sprintf("exit code %d", e.Status.ExitStatus())
}

// A Supervisor keeps the long-running processes of serve rules (dev servers)
// for one watch session: at most one process per rule, each started with
// StartProcess. Replacing or stopping a process sends SIGTERM to all its
// processes, SIGKILL after its grace period, and waits until none is left
// before anything else starts.
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
	proc   *Process
	done   chan struct{} // closed once the process and all it started are gone
	tail   *tailLines
	mu     sync.Mutex
	asked  bool // stop was requested: its exit is not news
	output []*OutputWriter
}

// serverTail is how many of a server's last output lines are reported when
// it exits on its own.
const serverTail = 10

// NewSupervisor returns a Supervisor that reports through events.
func NewSupervisor(events *Bus) *Supervisor {
	return &Supervisor{events: events, slots: map[string]*slot{}}
}

// Start replaces the process of rule with cmd, started for key: it stops
// the running one first, if any (see Supervisor), and waits for it to be
// gone. cmd must not be started; Start runs it with StartProcess and
// streams its output as the rule's output events. It returns once
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
	srv := &server{rule: rule, key: key, done: make(chan struct{}), tail: &tailLines{max: serverTail}}
	for _, stream := range []string{"stdout", "stderr"} {
		w := s.events.Output(func(l string) {
			srv.tail.add(l)
			s.events.EmitLine(Event{Kind: EventOutput, Rule: rule, Stream: stream, Text: l})
		})
		srv.output = append(srv.output, w)
	}
	cmd.Stdout, cmd.Stderr = srv.output[0], srv.output[1]
	p, err := StartProcess(cmd, grace)
	if err != nil {
		return err
	}
	srv.proc = p
	s.mu.Lock()
	sl.cur = srv
	s.mu.Unlock()
	go s.wait(srv)
	s.events.Logf(LevelInfo, "%s: server started (pid %d)", rule, p.Pid())
	return nil
}

// current returns the slot's process, if any.
func (s *Supervisor) current(sl *slot) *server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sl.cur
}

// wait waits until srv and all it started are gone, and reports an exit
// that no stop asked for.
func (s *Supervisor) wait(srv *server) {
	err := srv.proc.Wait()
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

// stop ends srv: SIGTERM to its processes, SIGKILL after its grace, and
// waits until they are gone.
func (srv *server) stop() {
	srv.mu.Lock()
	srv.asked = true
	srv.mu.Unlock()
	srv.proc.Stop()
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
	if err == nil {
		return "exit code 0"
	}
	return err.Error()
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
