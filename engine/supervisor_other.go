//go:build unix && !linux

package engine

// recvFlags is empty: the descriptors passed to the supervisor are made
// close-on-exec right after they arrive.
const recvFlags = 0

// becomeSubreaper does nothing: only Linux has child subreapers, so a
// process that leaves a command's group escapes the supervisor.
func becomeSubreaper() error { return nil }

// childrenOf returns nothing: a command's process group is all the
// supervisor can reach here.
func childrenOf(pid int) []int { return nil }

func liveProcess(pid int) bool { return false }

func processGroup(pid int) (int, bool) { return 0, false }

func processJob(pid int) (id uint64, found, pending bool) { return 0, false, false }
