package objects

import (
	"slices"
	"sync"
)

// LockServices waits for the locks of the project's services, taken in
// the order of their names (so that two callers locking several services
// cannot wait for each other), and returns what unlocks them.
//
// The locks serialise, per project and service, every change that
// ferry makes to a service's containers in this process: Deploy and its
// rollouts, scale steps, restarts and live updates take turns instead of
// replacing, restarting or syncing each other's replicas. It is one table
// for the process rather than one per local.Target: the image rules that
// live-update containers are made anew by each evaluation and know no
// target, and every target of the process changes the same containers.
func LockServices(project string, services ...string) func() {
	return serviceLocks.lock(project, services...)
}

// serviceLocks is the process's table of locks (see LockServices).
var serviceLocks lockTable

// A lockTable holds a lock for each project and service.
type lockTable struct {
	mu sync.Mutex
	m  map[[2]string]*sync.Mutex
}

// lock is LockServices on l.
func (l *lockTable) lock(project string, services ...string) func() {
	services = slices.Compact(slices.Sorted(slices.Values(services)))
	locks := make([]*sync.Mutex, len(services))
	l.mu.Lock()
	if l.m == nil {
		l.m = map[[2]string]*sync.Mutex{}
	}
	for i, s := range services {
		k := [2]string{project, s}
		if l.m[k] == nil {
			l.m[k] = &sync.Mutex{}
		}
		locks[i] = l.m[k]
	}
	l.mu.Unlock()
	for _, m := range locks {
		m.Lock()
	}
	return func() {
		for _, m := range slices.Backward(locks) {
			m.Unlock()
		}
	}
}
