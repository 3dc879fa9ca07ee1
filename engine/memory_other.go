//go:build !linux

package engine

// physicalMemory returns 0, unknown: the memory cap is then its ceiling.
func physicalMemory() uint64 { return 0 }
