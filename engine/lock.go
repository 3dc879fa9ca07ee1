package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/engine/platform"
)

// A Lock is the workspace lock held by a mutating ferry command.
type Lock struct{ f *os.File }

// AcquireLock takes the workspace lock in .ferry/lock (see
// Workspace.StateFolder), which must not be a symbolic link. When another
// process holds it, waiting is called once with that process's PID and
// AcquireLock waits until the lock is free or ctx ends.
func AcquireLock(ctx context.Context, ws *Workspace, waiting func(pid int)) (*Lock, error) {
	dir, err := ws.StateFolder()
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, "lock")
	f, err := openNoFollow(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, stateWriteError(dir, err)
	}
	told := false
	start := time.Now()
	for {
		locked, err := platform.TryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		if locked {
			break
		}
		if pid := holderPID(f); !told && (pid != 0 || time.Since(start) > time.Second) {
			told = true
			waiting(pid)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &Lock{f: f}, nil
}

// holderPID reads the PID that the holder of the lock f wrote into it.
func holderPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	return pid
}

// Release frees the lock.
func (l *Lock) Release() {
	l.f.Truncate(0)
	l.f.Close()
}
