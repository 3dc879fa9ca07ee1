//go:build !linux

package engine

// becomeSubreaper does nothing: only Linux has child subreapers, so a
// process that leaves the command's group escapes its supervisor.
func becomeSubreaper() error { return nil }

// descendants returns nothing: the command's process group is all a
// supervisor can reach here.
func descendants() []int { return nil }
