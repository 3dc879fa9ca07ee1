package engine

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvFlags makes the descriptors ferry passes to the supervisor
// close-on-exec as they arrive, so that no other command inherits them.
const recvFlags = syscall.MSG_CMSG_CLOEXEC

// becomeSubreaper makes this process the parent of every orphaned
// descendant, and names it for ps and top.
func becomeSubreaper() error {
	// Package init runs on the main thread, whose name ps shows.
	if name, err := unix.BytePtrFromString(shimArg0); err == nil {
		unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
	}
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// childrenFiles reports whether the kernel lists each thread's children
// in /proc (CONFIG_PROC_CHILDREN); without, children are found by reading
// every process's parent.
var childrenFiles = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/self/task/" + strconv.Itoa(os.Getpid()) + "/children")
	return err == nil
})

// childrenOf returns the children of pid, from /proc.
func childrenOf(pid int) []int {
	if !childrenFiles() {
		return scanChildren(pid)
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		b, _ := os.ReadFile(dir + t.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// scanChildren returns the children of pid, reading the parent of every
// process in /proc.
func scanChildren(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := procStat(c); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, c)
		}
	}
	return out
}

// procStat returns the fields of /proc/pid/stat after the command name:
// state, ppid, pgrp, ...
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// liveProcess reports whether pid is a process that has not exited (a
// zombie has).
func liveProcess(pid int) bool {
	f := procStat(pid)
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// processGroup returns the process group of pid.
func processGroup(pid int) (int, bool) {
	f := procStat(pid)
	if len(f) < 3 {
		return 0, false
	}
	g, err := strconv.Atoi(f[2])
	return g, err == nil
}

// processJob returns the job named by jobEnv in the environment pid was
// started with (found). Between the two halves of an exec the kernel shows
// a process's environment empty, and its address of the environment's end
// (the last but one field of its stat) zero, until the new program's stack
// is set up: pending says that pid may be there, and is to be asked again.
func processJob(pid int) (id uint64, found, pending bool) {
	before := envEnd(pid)
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return 0, false, false
	}
	for _, v := range strings.Split(string(b), "\x00") {
		if id, ok := strings.CutPrefix(v, jobEnv+"="); ok {
			n, err := strconv.ParseUint(id, 10, 64)
			return n, err == nil, false
		}
	}
	if len(b) > 0 || !liveProcess(pid) {
		return 0, false, false
	}
	// Empty: a cleared environment (env -i), or an exec in progress.
	after := envEnd(pid)
	return 0, false, before == "0" || after != before
}

// envEnd returns where pid's environment ends in its memory, as its stat
// shows it: "0" while an exec sets its memory up; "" when the kernel does
// not show it.
func envEnd(pid int) string {
	f := procStat(pid)
	if len(f) < 49 {
		return ""
	}
	return f[48] // field 51 of stat, env_end; f starts at field 3
}
