package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Every command ferry runs for a rule runs under a supervisor: a second copy
// of ferry's own executable, started with shimArg0 as its argv[0], that
// starts the command in a process group of its own and stays its parent.
// Ferry keeps one end of a socket whose other end the supervisor holds, so
// the supervisor learns that ferry is gone (even after SIGKILL: the kernel
// closes the socket) and then kills everything the command started. On
// Linux the supervisor is a child subreaper: processes that leave the
// command's group or session (setsid, a double fork) stay its descendants
// instead of moving to init, and are killed too. The supervisor exits only
// once the command and all it left behind are gone, and then reports the
// command's wait status over the socket.

// shimArg0 is the argv[0] that makes ferry's executable act as a supervisor.
const shimArg0 = "ferry-supervise"

// shimKillEvery is how often the supervisor repeats SIGKILL to what is
// left of a command, to catch processes forked while it was killing.
const shimKillEvery = 5 * time.Millisecond

// A Process is a command that runs under a supervisor (see StartProcess).
type Process struct {
	cmd *exec.Cmd
	ctl *os.File
}

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

// selfExecutable is the file the supervisor is started from.
var selfExecutable = sync.OnceValues(func() (string, error) {
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		// The running executable even if it was replaced or deleted.
		return "/proc/self/exe", nil
	}
	if p, err := os.Executable(); err == nil {
		return p, nil
	}
	// Linux without /proc mounted: ferry as it was started.
	p, err := exec.LookPath(os.Args[0])
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
})

// StartProcess starts cmd (unstarted; its Path, Args, Dir, Env, Stdin,
// Stdout and Stderr are used, its SysProcAttr is not) under a supervisor,
// in a process group of its own. Stop asks it to end; grace is how long its
// processes have, after SIGTERM, before SIGKILL. When the command's main
// process exits, any process it left behind is killed; when ferry dies,
// all of them are killed at once. The cost is one more short-lived
// process start per command.
func StartProcess(cmd *exec.Cmd, grace time.Duration) (*Process, error) {
	if cmd.Err != nil {
		return nil, cmd.Err
	}
	self, err := selfExecutable()
	if err != nil {
		return nil, fmt.Errorf("find ferry's own executable, which supervises commands: %w", err)
	}
	// Under ForkLock, as os/exec does, so that no other command started
	// meanwhile inherits ferry's end, which would keep it open after
	// ferry is gone.
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("socket to supervise %s: %w", cmd.Path, err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "supervisor"), os.NewFile(uintptr(fds[1]), "ferry")
	defer theirs.Close()
	shim := &exec.Cmd{
		Path:       self,
		Args:       append([]string{shimArg0, grace.String(), cmd.Path}, cmd.Args...),
		Dir:        cmd.Dir,
		Env:        cmd.Env,
		Stdin:      cmd.Stdin,
		Stdout:     cmd.Stdout,
		Stderr:     cmd.Stderr,
		ExtraFiles: []*os.File{theirs},
		// Its own group: a signal to ferry's group (Ctrl-C) does not reach
		// it; ferry stops commands itself.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
		// The supervisor exits once every process that could hold the
		// output pipes is gone; this bounds the wait for one that escaped
		// it (by passing the descriptor to an unrelated process).
		WaitDelay: time.Second,
	}
	if err := shim.Start(); err != nil {
		ours.Close()
		return nil, fmt.Errorf("start: %w", err)
	}
	return &Process{cmd: shim, ctl: ours}, nil
}

// Pid is the supervisor's process ID; SIGTERM to it stops the command as
// Stop does.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stop asks the command to end: SIGTERM to all its processes, SIGKILL to
// those left after the grace given to StartProcess. It does not wait; Wait
// returns once they are all gone. Stopping an ended command does nothing.
func (p *Process) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
}

// Wait waits until the command and every process it started are gone. It
// returns nil when the command exited with code 0, an *ExitError when it
// exited otherwise, and another error when it could not be run.
func (p *Process) Wait() error {
	err := p.cmd.Wait()
	defer p.ctl.Close()
	msg, rerr := io.ReadAll(io.LimitReader(p.ctl, 4096))
	switch {
	case rerr == nil && len(msg) == 5 && msg[0] == 'x':
		// ErrWaitDelay only says that an escaped process held the output
		// open: the command's own status is known.
		ws := syscall.WaitStatus(binary.LittleEndian.Uint32(msg[1:]))
		if ws.Exited() && ws.ExitStatus() == 0 {
			return nil
		}
		return &ExitError{Status: ws}
	case rerr == nil && len(msg) > 1 && msg[0] == 'e':
		return fmt.Errorf("start: %s", msg[1:])
	case err == nil:
		return errors.New("ferry's supervisor of the command exited without its status")
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = &ExitError{Status: ee.Sys().(syscall.WaitStatus)}
	}
	return fmt.Errorf("ferry's supervisor of the command ended (%w): what the command started may still run", err)
}

func init() {
	if len(os.Args) > 2 && os.Args[0] == shimArg0 {
		os.Exit(supervise(os.Args[1], os.Args[2], os.Args[3:]))
	}
}

// supervise is the supervisor's main: it runs path with argv and reports
// its status on descriptor 3 (see StartProcess).
func supervise(grace, path string, argv []string) int {
	syscall.CloseOnExec(3)
	ctl := os.NewFile(3, "ferry")
	report := func(msg []byte) int {
		ctl.Write(msg)
		return 0
	}
	g, err := time.ParseDuration(grace)
	if err != nil {
		return report([]byte("e" + err.Error()))
	}
	stops := make(chan os.Signal, 4)
	signal.Notify(stops, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if err := becomeSubreaper(); err != nil {
		return report([]byte("e" + err.Error()))
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		return report([]byte(fmt.Sprintf("e%s: %v", strings.Join(argv, " "), err)))
	}

	// One reaper for every child, orphans included: it keeps the
	// command's status, closes exited when the command has exited, and
	// gone when no child is left (on Linux, no descendant either, as
	// orphans come to the subreaper).
	var status syscall.WaitStatus
	exited, gone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(gone)
		for {
			var ws syscall.WaitStatus
			p, err := syscall.Wait4(-1, &ws, 0, nil)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return
			}
			if p == pid {
				status = ws
				close(exited)
			}
		}
	}()
	orphaned := make(chan struct{})
	go func() {
		ctl.Read(make([]byte, 1)) // ferry never writes: this returns when it is gone
		close(orphaned)
	}()

	var deadline <-chan time.Time
	var killing <-chan time.Time
	kill := func() {
		signalTree(pid, syscall.SIGKILL)
		if killing == nil {
			killing = time.NewTicker(shimKillEvery).C
		}
	}
	for {
		select {
		case <-exited:
			// The command's group is killed at once; the rest of the tree,
			// which takes a walk of /proc to find, at the first tick unless
			// the command left no process at all (gone comes first).
			exited = nil
			syscall.Kill(-pid, syscall.SIGKILL)
			if killing == nil {
				killing = time.NewTicker(shimKillEvery).C
			}
		case <-stops:
			if deadline == nil && killing == nil {
				signalTree(pid, syscall.SIGTERM)
				deadline = time.After(g)
			}
		case <-deadline:
			kill()
		case <-orphaned:
			orphaned = nil
			kill()
		case <-killing:
			signalTree(pid, syscall.SIGKILL)
		case <-gone:
			var msg [5]byte
			msg[0] = 'x'
			binary.LittleEndian.PutUint32(msg[1:], uint32(status))
			return report(msg[:])
		}
	}
}

// signalTree sends sig to the process group of the command pid and to every
// other descendant of this process.
func signalTree(pid int, sig syscall.Signal) {
	syscall.Kill(-pid, sig)
	for _, d := range descendants() {
		syscall.Kill(d, sig)
	}
}
