//go:build unix

package engine

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// This is the supervisor's side (see supervisor_process.go): ferry's
// executable started with shimArg0 as argv[0] and its end of the socket as
// descriptor 3.
//
// What a command left behind is found from its main process: its process
// group, and the descendants of its main process while it runs. A process
// whose parent dies (the command itself, or the middle of a double fork)
// comes to the supervisor, as its subreaper; such an orphan belongs to the
// command whose group it is in, else to the one named in the environment it
// was started with (jobEnv, which every command passes on unless it clears
// its environment), else to every command that was running when the
// supervisor found it. It is killed once all the commands it may belong to
// have exited.

// jobEnv is the environment variable that tells the supervisor which
// command a process descends from.
const jobEnv = "FERRY_JOB"

// shimKillEvery is how often the supervisor repeats SIGKILL to what is
// left of a command, to catch processes forked while it was killing.
const shimKillEvery = 5 * time.Millisecond

func init() {
	if len(os.Args) == 1 && os.Args[0] == shimArg0 {
		os.Exit(superviseCommands())
	}
}

// A job is one command the supervisor started.
type job struct {
	id     uint64
	pid    int
	grace  time.Duration
	status syscall.WaitStatus
	exited bool // its main process has exited: kill what is left
	term   bool // Stop was asked: SIGTERM sent
	kill   bool // its grace is over: SIGKILL to all of it
}

type supervisorState struct {
	ctl       int
	in        messageReader
	jobs      map[uint64]*job
	byPid     map[int]*job            // by the pid of the main process
	owners    map[int]map[uint64]bool // orphans: the jobs each may belong to
	spared    map[int]bool            // processes the supervisor may not kill (another user's)
	undecided bool                    // an orphan's owners could not be told yet (it is in an exec)
	graced    chan uint64             // a job's grace is over
}

// superviseCommands is the supervisor's main.
func superviseCommands() int {
	const ctl = 3
	syscall.CloseOnExec(ctl)
	s := &supervisorState{ctl: ctl, in: messageReader{fd: ctl}, jobs: map[uint64]*job{}, byPid: map[int]*job{}, owners: map[int]map[uint64]bool{}, spared: map[int]bool{}, graced: make(chan uint64, 16)}
	children := make(chan os.Signal, 1)
	signal.Notify(children, syscall.SIGCHLD)
	stops := make(chan os.Signal, 1)
	signal.Notify(stops, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if err := becomeSubreaper(); err != nil {
		s.send(fmt.Appendf(binary.LittleEndian.AppendUint64([]byte{msgFailed}, 0), "become a child subreaper: %v", err))
		return 1
	}
	s.send([]byte{msgReady})
	requests := make(chan supervisorRequest)
	go s.read(requests)
	var tick *time.Ticker
	var ticks <-chan time.Time
	for {
		select {
		case r, ok := <-requests:
			if !ok {
				// Ferry is gone.
				return s.killAll()
			}
			if r.start != nil {
				s.start(r.start, r.fds)
			} else if j := s.jobs[r.stop]; j != nil && !j.term && !j.exited {
				j.term = true
				s.signal(j, syscall.SIGTERM)
				id := j.id
				time.AfterFunc(j.grace, func() { s.graced <- id })
			}
		case <-children:
			s.reap()
		case id := <-s.graced:
			if j := s.jobs[id]; j != nil {
				j.kill = true
			}
		case <-ticks:
		case <-stops:
			return s.killAll()
		}
		if s.settle() {
			if tick == nil {
				tick = time.NewTicker(shimKillEvery)
				ticks = tick.C
			}
		} else if tick != nil {
			tick.Stop()
			tick, ticks = nil, nil
		}
	}
}

// A supervisorRequest is a start request (start set, with its descriptors)
// or a stop.
type supervisorRequest struct {
	start []byte
	fds   []int
	stop  uint64
}

// read passes ferry's requests on until ferry is gone.
func (s *supervisorState) read(requests chan<- supervisorRequest) {
	defer close(requests)
	for {
		msg, err := s.in.next()
		if err != nil {
			return
		}
		switch {
		case len(msg) > 9 && msg[0] == msgStart:
			requests <- supervisorRequest{start: msg[1:], fds: s.in.takeFDs(3)}
		case len(msg) == 9 && msg[0] == msgStop:
			requests <- supervisorRequest{stop: binary.LittleEndian.Uint64(msg[1:])}
		}
	}
}

func (s *supervisorState) send(msg []byte) {
	writeMessage(s.ctl, msg, nil)
}

// start starts the command of a start request.
func (s *supervisorState) start(req []byte, fds []int) {
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	r := wireReader{b: req}
	id := r.u64()
	grace := time.Duration(r.u64())
	path, dir, argv, env := r.str(), r.str(), r.strs(), r.strs()
	reply := binary.LittleEndian.AppendUint64(nil, id)
	if r.bad || len(fds) != 3 {
		s.send(fmt.Appendf(append([]byte{msgFailed}, reply...), "%s: bad request from ferry", strings.Join(argv, " ")))
		return
	}
	env = append(slices.DeleteFunc(env, func(v string) bool { return strings.HasPrefix(v, jobEnv+"=") }), jobEnv+"="+strconv.FormatUint(id, 10))
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []uintptr{uintptr(fds[0]), uintptr(fds[1]), uintptr(fds[2])},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		s.send(fmt.Appendf(append([]byte{msgFailed}, reply...), "%s: %v", strings.Join(argv, " "), err))
		return
	}
	j := &job{id: id, pid: pid, grace: grace}
	s.jobs[id] = j
	s.byPid[pid] = j
	s.send(binary.LittleEndian.AppendUint64(append([]byte{msgStarted}, reply...), uint64(pid)))
}

// reap collects every exited child: a command's main process, or an
// orphan.
func (s *supervisorState) reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		delete(s.owners, pid)
		if j := s.byPid[pid]; j != nil {
			j.status, j.exited = ws, true
		}
	}
}

// adopt finds the orphans that came to the supervisor since it last looked
// and decides which jobs each may belong to.
// An orphan in the middle of an exec shows no environment yet: it is
// decided at a later look, and undecided holds the exits of dying jobs back
// until then (it may be theirs).
func (s *supervisorState) adopt() {
	s.undecided = false
	for _, pid := range childrenOf(os.Getpid()) {
		if s.byPid[pid] != nil || s.owners[pid] != nil {
			continue
		}
		owners := map[uint64]bool{}
		if pgid, ok := processGroup(pid); ok && s.byPid[pgid] != nil {
			owners[s.byPid[pgid].id] = true
		} else if id, found, pending := processJob(pid); found && s.jobs[id] != nil {
			owners[id] = true
		} else if pending {
			s.undecided = true
			continue
		} else {
			for id := range s.jobs {
				owners[id] = true
			}
		}
		s.owners[pid] = owners
	}
}

// processes returns the live processes of j that its group may not hold:
// its main process and its descendants, and the orphans that belong to it
// alone among the jobs still running, with their descendants.
func (s *supervisorState) processes(j *job) []int {
	var roots []int
	if !j.exited {
		roots = append(roots, j.pid)
	}
	for pid, owners := range s.owners {
		if owners[j.id] && s.onlyRunning(owners, j) {
			roots = append(roots, pid)
		}
	}
	var out []int
	for len(roots) > 0 {
		p := roots[0]
		roots = roots[1:]
		switch {
		case !liveProcess(p):
			delete(s.spared, p) // its pid may be used again
		case !s.spared[p]:
			out = append(out, p)
		}
		roots = append(roots, childrenOf(p)...)
	}
	return out
}

// onlyRunning reports whether j is the only job among owners whose main
// process still runs, or none does.
func (s *supervisorState) onlyRunning(owners map[uint64]bool, j *job) bool {
	for id := range owners {
		if o := s.jobs[id]; o != nil && o != j && !o.exited {
			return false
		}
	}
	return true
}

// signal sends sig to every process of j, once: to its group, and to
// those of its processes that have left the group. A second SIGTERM to a
// shell that is running its TERM trap runs the trap again.
func (s *supervisorState) signal(j *job, sig syscall.Signal) {
	s.adopt()
	syscall.Kill(-j.pid, sig)
	for _, p := range s.processes(j) {
		if g, ok := processGroup(p); ok && g != j.pid {
			syscall.Kill(p, sig)
		}
	}
}

// settle kills what exited commands left behind and reports the commands
// of which nothing is left. It returns whether processes are still being
// killed.
func (s *supervisorState) settle() bool {
	killing := false
	var dying []*job
	for _, j := range s.jobs {
		if j.exited || j.kill {
			dying = append(dying, j)
		}
	}
	if len(dying) == 0 && !s.unowned() {
		return false
	}
	s.adopt()
	for pid, owners := range s.owners {
		if len(owners) == 0 {
			// No job it could belong to is left.
			for _, p := range append(descendantsOf(pid), pid) {
				s.kill(p)
			}
			killing = true
		}
	}
	for _, j := range dying {
		syscall.Kill(-j.pid, syscall.SIGKILL)
		left := s.processes(j)
		for _, p := range left {
			s.kill(p)
		}
		if !j.exited || len(left) > 0 || s.undecided {
			killing = true
			continue
		}
		delete(s.jobs, j.id)
		delete(s.byPid, j.pid)
		for _, owners := range s.owners {
			delete(owners, j.id)
		}
		msg := binary.LittleEndian.AppendUint64([]byte{msgExit}, j.id)
		s.send(binary.LittleEndian.AppendUint32(msg, uint32(j.status)))
	}
	return killing || s.unowned()
}

// kill sends SIGKILL to pid. A process the supervisor may not signal (it
// runs as another user, as a task's `sudo daemon &` does) is spared from
// then on, and ferry says so: waiting for it would never end.
func (s *supervisorState) kill(pid int) {
	if s.spared[pid] {
		return
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err == syscall.EPERM {
		s.spared[pid] = true
		fmt.Fprintf(os.Stderr, "ferry: process %d, which a command left behind, runs as another user and ferry may not kill it: it goes on running\n", pid)
	}
}

// unowned reports whether an orphan that belongs to no job is left, and
// can be killed.
func (s *supervisorState) unowned() bool {
	for pid, owners := range s.owners {
		if len(owners) == 0 && !s.spared[pid] {
			return true
		}
	}
	return false
}

// killAll kills every process the supervisor started, and their
// descendants, and returns once none is left.
func (s *supervisorState) killAll() int {
	for {
		for _, j := range s.jobs {
			syscall.Kill(-j.pid, syscall.SIGKILL)
		}
		killable := false
		for _, p := range descendantsOf(os.Getpid()) {
			s.kill(p)
			killable = killable || !s.spared[p]
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if err == syscall.ECHILD {
				return 0
			}
			if err != syscall.EINTR && pid <= 0 {
				break
			}
		}
		if !killable {
			return 0 // only processes it may not kill are left
		}
		time.Sleep(shimKillEvery)
	}
}

// descendantsOf returns the live descendants of pid.
func descendantsOf(pid int) []int {
	var out []int
	queue := childrenOf(pid)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, p)
		queue = append(queue, childrenOf(p)...)
	}
	return out
}
