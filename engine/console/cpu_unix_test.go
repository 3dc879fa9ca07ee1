//go:build unix

package console

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used, which a busy machine
// changes less than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
