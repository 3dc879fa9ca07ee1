package engine

import "golang.org/x/sys/unix"

// physicalMemory returns the machine's memory in bytes, or 0 if unknown.
func physicalMemory() uint64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return si.Totalram * uint64(si.Unit)
}
