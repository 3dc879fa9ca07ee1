//go:build unix

package engine

// SupervisorStarted reports whether this process's supervisor is running.
func SupervisorStarted() bool {
	supervisorMu.Lock()
	defer supervisorMu.Unlock()
	return supervisorCur != nil
}
