//go:build unix

package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ferryhq/ferry/engine/platform"
	"golang.org/x/sys/unix"
)

// Every command ferry runs for a rule runs under ferry's supervisor: one
// second copy of ferry's own executable per ferry process, started with
// shimArg0 as its argv[0] when the first command starts (a run that starts
// no command starts no supervisor), or earlier when a run will most likely
// start one (see Session.UpToDate). Ferry asks it over a socket to start
// each command, passing the command's standard descriptors; the supervisor
// starts it in a process group of its own, stays its parent, answers with
// its pid and later with its wait status. Ferry keeps one end of the socket
// and the supervisor the other, so the supervisor learns that ferry is gone
// (even after SIGKILL: the kernel closes the socket) and then kills every
// process it started. On Linux the supervisor is a child subreaper:
// processes that leave a command's group or session (setsid, a double fork)
// stay its descendants instead of moving to init; when a command exits,
// what it left behind is killed, and its status is reported once all of it
// is gone (see supervisor_server.go).

// shimArg0 is the argv[0] that makes ferry's executable act as the
// supervisor.
const shimArg0 = "ferry-supervise"

// processWaitDelay bounds how long Wait copies a command's output after its
// status has come: only a process that escaped the supervisor (one given
// the descriptor by a process outside the command's tree) holds it longer.
const processWaitDelay = time.Second

// A Process is a command that runs under the supervisor (see StartProcess).
type Process struct {
	sup     *supervisorConn
	id      uint64
	pid     int
	started chan startReply // the supervisor's answer to the start
	exit    chan exitReply  // the command's status, or why it is unknown
	copies  sync.WaitGroup  // goroutines copying the command's output to its Writers
	pipes   []*os.File      // ferry's ends of those pipes
}

type startReply struct {
	pid int
	err error
}

type exitReply struct {
	status syscall.WaitStatus
	err    error
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
// Stdout and Stderr are used, its SysProcAttr is not) under the supervisor,
// in a process group of its own, starting the supervisor first if this is
// the first command. Stop asks it to end; grace is how long its processes
// have, after SIGTERM, before SIGKILL. When the command's main process
// exits, any process it left behind is killed; when ferry dies, all of them
// are killed at once.
func StartProcess(cmd *exec.Cmd, grace time.Duration) (*Process, error) {
	if cmd.Err != nil {
		return nil, cmd.Err
	}
	sup, err := theSupervisor()
	if err != nil {
		return nil, err
	}
	p := &Process{sup: sup, started: make(chan startReply, 1), exit: make(chan exitReply, 1)}
	stdio, err := p.stdio(cmd)
	if err != nil {
		p.closePipes()
		return nil, err
	}
	dir := cmd.Dir
	if dir == "" {
		dir = "."
	}
	if dir, err = filepath.Abs(dir); err != nil {
		closeFiles(stdio)
		p.closePipes()
		return nil, err
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	var req wireWriter
	req.u64(uint64(grace))
	req.str(cmd.Path)
	req.str(dir)
	req.strs(cmd.Args)
	req.strs(env)
	err = sup.start(p, req.b, stdio)
	// The supervisor has its own copies now.
	closeFiles(stdio)
	if err == nil {
		r := <-p.started
		p.pid, err = r.pid, r.err
	}
	if err != nil {
		p.closePipes()
		return nil, err
	}
	return p, nil
}

// stdio returns the descriptors to pass as the command's stdin, stdout and
// stderr: a Reader or Writer that is not a file gets a pipe, copied by a
// goroutine as os/exec does, and a nil one the null device.
func (p *Process) stdio(cmd *exec.Cmd) ([]*os.File, error) {
	var files []*os.File
	if f, ok := cmd.Stdin.(*os.File); ok {
		d, err := dupFile(f)
		if err != nil {
			return nil, err
		}
		files = append(files, d)
	} else if cmd.Stdin == nil {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	} else {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		// Not waited for, as in os/exec: the Reader may never end.
		go func() {
			io.Copy(w, cmd.Stdin)
			w.Close()
		}()
		files = append(files, r)
	}
	for i, out := range []io.Writer{cmd.Stdout, cmd.Stderr} {
		if i == 1 && cmd.Stdout != nil && sameWriter(cmd.Stdout, cmd.Stderr) {
			// One pipe for both, as os/exec does: the Writer sees the
			// writes in order and is not written to concurrently.
			out = files[1]
		}
		if f, ok := out.(*os.File); ok {
			d, err := dupFile(f)
			if err != nil {
				closeFiles(files)
				return nil, err
			}
			files = append(files, d)
			continue
		}
		if out == nil {
			f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				closeFiles(files)
				return nil, err
			}
			files = append(files, f)
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			closeFiles(files)
			return nil, err
		}
		p.pipes = append(p.pipes, r)
		p.copies.Add(1)
		go func() {
			defer p.copies.Done()
			io.Copy(out, r)
		}()
		files = append(files, w)
	}
	return files, nil
}

// dupFile returns a second descriptor of f, to be closed on its own.
func dupFile(f *os.File) (*os.File, error) {
	fd, err := dupCloexec(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("duplicate the descriptor of %s for the command: %w", f.Name(), err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

func (p *Process) closePipes() {
	closeFiles(p.pipes)
}

// Pid is the command's process ID.
func (p *Process) Pid() int { return p.pid }

// Stop asks the command to end: SIGTERM to all its processes, SIGKILL to
// those left after the grace given to StartProcess. It does not wait; Wait
// returns once they are all gone. Stopping an ended command does nothing.
func (p *Process) Stop() {
	var req wireWriter
	req.b = append(req.b, msgStop)
	req.u64(p.id)
	p.sup.send(req.b, nil)
}

// Wait waits until the command and every process it started are gone. It
// returns nil when the command exited with code 0, an *ExitError when it
// exited otherwise, and another error when its status is unknown.
func (p *Process) Wait() error {
	r := <-p.exit
	copied := make(chan struct{})
	go func() {
		p.copies.Wait()
		close(copied)
	}()
	select {
	case <-copied:
	case <-time.After(processWaitDelay):
		// The command's own status is known: stop waiting for a process
		// that escaped and holds its output open.
		p.closePipes()
		<-copied
	}
	p.closePipes()
	if r.err != nil {
		return r.err
	}
	if r.status.Exited() && r.status.ExitStatus() == 0 {
		return nil
	}
	return &ExitError{Status: r.status}
}

// The messages between ferry and the supervisor, over a stream socket,
// each its length (4 bytes) and its bytes. Ferry sends msgStart (with the
// command's three descriptors) and msgStop; the supervisor sends msgReady
// once, then msgStarted or msgFailed for each start, and msgExit when a
// command and all it left are gone. Numbers are little endian; a string is
// its length (4 bytes) and its bytes.
const (
	msgReady   = 'r' // the supervisor runs; or msgFailed with id 0 and why not
	msgStart   = 's' // id, grace, path, dir, argv, env
	msgStop    = 't' // id
	msgStarted = 'p' // id, pid
	msgFailed  = 'e' // id, error text
	msgExit    = 'x' // id, wait status

	// maxMessage bounds a message, against a corrupt length.
	maxMessage = 1 << 30
)

type wireWriter struct{ b []byte }

func (w *wireWriter) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *wireWriter) str(s string) {
	w.b = binary.LittleEndian.AppendUint32(w.b, uint32(len(s)))
	w.b = append(w.b, s...)
}
func (w *wireWriter) strs(l []string) {
	w.b = binary.LittleEndian.AppendUint32(w.b, uint32(len(l)))
	for _, s := range l {
		w.str(s)
	}
}

// wireReader reads what wireWriter wrote; bad is set when the data ends
// early.
type wireReader struct {
	b   []byte
	bad bool
}

func (r *wireReader) take(n int) []byte {
	if r.bad || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *wireReader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *wireReader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *wireReader) str() string { return string(r.take(int(r.u32()))) }

func (r *wireReader) strs() []string {
	n := r.u32()
	if int(n) > len(r.b)/4 {
		r.bad = true
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = r.str()
	}
	return l
}

// supervisorConn is ferry's side of a running supervisor.
type supervisorConn struct {
	fd     int
	in     messageReader
	exited chan struct{} // closed once the supervisor has exited

	mu    sync.Mutex // orders messages; guards what follows
	next  uint64
	procs map[uint64]*Process // started and not yet reported gone
	gone  error               // set once the supervisor has ended
}

var (
	supervisorMu  sync.Mutex
	supervisorCur *supervisorConn
)

// theSupervisor returns the running supervisor, starting one if there is
// none (yet, or any more).
func theSupervisor() (*supervisorConn, error) {
	supervisorMu.Lock()
	defer supervisorMu.Unlock()
	if c := supervisorCur; c != nil {
		c.mu.Lock()
		gone := c.gone
		c.mu.Unlock()
		if gone == nil {
			return c, nil
		}
	}
	c, err := startSupervisor()
	if err != nil {
		return nil, fmt.Errorf("start ferry's supervisor (%s), which every command runs under: %w", shimArg0, err)
	}
	platform.Warn(os.Stderr, platform.Subreaper)
	supervisorCur = c
	return c, nil
}

func startSupervisor() (*supervisorConn, error) {
	self, err := selfExecutable()
	if err != nil {
		return nil, fmt.Errorf("find ferry's own executable: %w", err)
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
		return nil, fmt.Errorf("socket: %w", err)
	}
	theirs := os.NewFile(uintptr(fds[1]), "ferry")
	cmd := &exec.Cmd{
		Path:       self,
		Args:       []string{shimArg0},
		Stderr:     os.Stderr,
		ExtraFiles: []*os.File{theirs},
		// Its own group: a signal to ferry's group (Ctrl-C) does not reach
		// it; ferry stops commands itself.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		syscall.Close(fds[0])
		return nil, err
	}
	c := &supervisorConn{fd: fds[0], in: messageReader{fd: fds[0]}, exited: make(chan struct{}), procs: map[uint64]*Process{}}
	go func() {
		cmd.Wait()
		close(c.exited)
	}()
	msg, err := c.in.next()
	switch {
	case err == nil && len(msg) == 1 && msg[0] == msgReady:
	case err == nil && len(msg) > 9 && msg[0] == msgFailed:
		err = errors.New(string(msg[9:]))
	case err == nil:
		err = fmt.Errorf("it answered %q instead of that it is ready", msg)
	case errors.Is(err, io.EOF):
		err = errors.New("it exited at once")
	}
	if err != nil {
		syscall.Close(c.fd)
		return nil, err
	}
	go c.read()
	return c, nil
}

// KillCommands kills every command ferry started and all they left
// behind, at once, as when ferry dies, and waits (at most a second) until
// they are gone; commands started afterwards get a new supervisor. It is
// for a ferry that exits now without stopping its commands.
func KillCommands() {
	supervisorMu.Lock()
	c := supervisorCur
	supervisorCur = nil
	supervisorMu.Unlock()
	if c == nil {
		return
	}
	// The supervisor reads the end of the socket, as when ferry is gone.
	syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
	select {
	case <-c.exited:
	case <-time.After(processWaitDelay):
	}
}

// start sends p's start request and registers p under a new id.
func (c *supervisorConn) start(p *Process, req []byte, stdio []*os.File) error {
	fds := make([]int, len(stdio))
	for i, f := range stdio {
		fds[i] = int(f.Fd())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone != nil {
		return c.gone
	}
	c.next++
	p.id = c.next
	msg := binary.LittleEndian.AppendUint64([]byte{msgStart}, p.id)
	if err := writeMessage(c.fd, append(msg, req...), fds); err != nil {
		return fmt.Errorf("ferry's supervisor (%s): %w", shimArg0, err)
	}
	c.procs[p.id] = p
	return nil
}

// send sends one message, unless the supervisor is gone.
func (c *supervisorConn) send(b []byte, fds []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone == nil {
		writeMessage(c.fd, b, fds)
	}
}

// read delivers the supervisor's answers until it is gone, and then fails
// every command it ran: their status is unknown.
func (c *supervisorConn) read() {
	for {
		msg, err := c.in.next()
		if err != nil || len(msg) == 0 {
			break
		}
		r := wireReader{b: msg[1:]}
		id := r.u64()
		c.mu.Lock()
		p := c.procs[id]
		c.mu.Unlock()
		if p == nil || r.bad {
			continue
		}
		switch msg[0] {
		case msgStarted:
			p.started <- startReply{pid: int(r.u64())}
		case msgFailed:
			c.forget(id)
			p.started <- startReply{err: fmt.Errorf("start: %s", r.b)}
		case msgExit:
			c.forget(id)
			p.exit <- exitReply{status: syscall.WaitStatus(binary.LittleEndian.Uint32(r.take(4)))}
		}
	}
	c.mu.Lock()
	c.gone = fmt.Errorf("ferry's supervisor (%s) ended", shimArg0)
	procs := c.procs
	c.procs = nil
	syscall.Close(c.fd)
	c.mu.Unlock()
	for _, p := range procs {
		err := fmt.Errorf("%w: what the command started may still run", c.gone)
		select {
		case p.started <- startReply{err: err}:
		default:
		}
		p.exit <- exitReply{err: err}
	}
}

func (c *supervisorConn) forget(id uint64) {
	c.mu.Lock()
	delete(c.procs, id)
	c.mu.Unlock()
}

// writeMessage sends msg, framed, with the descriptors fds.
func writeMessage(fd int, msg []byte, fds []int) error {
	b := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(msg)), uint32(len(msg)))
	b = append(b, msg...)
	var oob []byte
	if len(fds) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	for len(b) > 0 {
		n, err := syscall.SendmsgN(fd, b, oob, nil, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b, oob = b[n:], nil
	}
	return nil
}

// A messageReader reads the messages of a socket, and queues the
// descriptors that come with them, close-on-exec: a message's descriptors
// arrive at the latest with its first byte.
type messageReader struct {
	fd  int
	buf []byte
	fds []int
}

// next returns the next message; io.EOF when the other end is gone.
func (r *messageReader) next() ([]byte, error) {
	chunk := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(3*4))
	for {
		if len(r.buf) >= 4 {
			n := int(binary.LittleEndian.Uint32(r.buf))
			if n > maxMessage {
				return nil, errors.New("message too large")
			}
			if len(r.buf)-4 >= n {
				msg := r.buf[4 : 4+n : 4+n]
				r.buf = r.buf[4+n:]
				return msg, nil
			}
		}
		n, oobn, _, _, err := syscall.Recvmsg(r.fd, chunk, oob, recvFlags)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		msgs, _ := syscall.ParseSocketControlMessage(oob[:oobn])
		for _, m := range msgs {
			if fds, err := syscall.ParseUnixRights(&m); err == nil {
				for _, f := range fds {
					syscall.CloseOnExec(f)
				}
				r.fds = append(r.fds, fds...)
			}
		}
		if n == 0 {
			return nil, io.EOF
		}
		r.buf = append(r.buf, chunk[:n]...)
	}
}

// takeFDs removes the first n queued descriptors and returns them; nil if
// fewer are queued.
func (r *messageReader) takeFDs(n int) []int {
	if len(r.fds) < n {
		return nil
	}
	fds := r.fds[:n:n]
	r.fds = r.fds[n:]
	return fds
}

// dupCloexec duplicates fd, close-on-exec.
func dupCloexec(fd int) (int, error) {
	return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
}

// sameWriter reports whether a and b are the same Writer; values of types
// that cannot be compared are not.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() { recover() }()
	return a == b
}
