//go:build !linux

package engine

import "syscall"

// groupAlive reports whether a process of group pgid exists (a zombie
// counts, as the system gives no cheap way to tell).
func groupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) != syscall.ESRCH
}
