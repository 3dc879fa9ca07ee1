// Package swarmtest gives tests a real single-node Docker Swarm, one test
// at a time across processes: initialising or leaving a swarm changes the
// whole daemon, which other tests share.
package swarmtest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine/platform"
)

// LockFile serialises, across processes, the tests that init or leave the
// swarm or need the daemon out of swarm mode.
const LockFile = "/tmp/ferry-swarm-test.lock"

// lockWait bounds how long a test waits for another one to release the lock.
const lockWait = 10 * time.Minute

// Up takes the lock, checks that the daemon is not in swarm mode (a swarm
// that the test did not make is not its to leave), and initialises a
// single-node swarm on 127.0.0.1. When the test ends, even on failure, it
// leaves the swarm and releases the lock.
func Up(t testing.TB) {
	t.Helper()
	Inactive(t)
	start := time.Now()
	if out, err := exec.Command("docker", "swarm", "init", "--advertise-addr", "127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("docker swarm init: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("docker", "swarm", "leave", "--force").CombinedOutput(); err != nil {
			t.Errorf("docker swarm leave --force: %v\n%s", err, out)
		}
		t.Logf("the swarm was up for %s", time.Since(start).Round(time.Millisecond))
	})
}

// shared is the swarm that the tests of this process calling Shared use
// together: made by the first, left by the last to end.
var shared struct {
	mu    sync.Mutex
	users int
	lock  *os.File
	start time.Time
}

// Shared gives the test a single-node swarm that it shares with the other
// tests of this process that call Shared while it runs, so they may run in
// parallel (each on a project of its own): the first takes the lock and
// initialises the swarm, the last to end leaves it and releases the lock.
func Shared(t testing.TB) {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.users == 0 {
		f := acquire(t)
		if out, err := exec.Command("docker", "swarm", "init", "--advertise-addr", "127.0.0.1").CombinedOutput(); err != nil {
			f.Close()
			t.Fatalf("docker swarm init: %v\n%s", err, out)
		}
		shared.lock, shared.start = f, time.Now()
	}
	shared.users++
	t.Cleanup(func() {
		shared.mu.Lock()
		defer shared.mu.Unlock()
		if shared.users--; shared.users > 0 {
			return
		}
		if out, err := exec.Command("docker", "swarm", "leave", "--force").CombinedOutput(); err != nil {
			t.Errorf("docker swarm leave --force: %v\n%s", err, out)
		}
		t.Logf("the shared swarm was up for %s", time.Since(shared.start).Round(time.Millisecond))
		shared.lock.Close() // releases the lock
	})
}

// Inactive takes the lock and checks that the daemon is not in swarm mode,
// for a test that needs it so (or that is about to make a swarm); the lock
// is released when the test ends.
func Inactive(t testing.TB) {
	t.Helper()
	f := acquire(t)
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}

// acquire takes the lock and checks that the daemon is not in swarm mode;
// closing the file it returns releases the lock.
func acquire(t testing.TB) *os.File {
	t.Helper()
	f, err := os.OpenFile(LockFile, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("swarm test lock: %v", err)
	}
	deadline := time.Now().Add(lockWait)
	for {
		locked, err := platform.TryLock(f)
		if locked {
			break
		}
		if err != nil {
			f.Close()
			t.Fatalf("swarm test lock %s: %v", LockFile, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("swarm test lock %s: another swarm test held it for %s", LockFile, lockWait)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if state, err := State(); err != nil {
		f.Close()
		t.Fatal(err)
	} else if state != "inactive" {
		f.Close()
		t.Fatalf("the Docker Engine is already in swarm mode (%s), and not by this test: it may be someone else's swarm, so the test leaves it alone; run the swarm tests on an Engine out of swarm mode (`docker swarm leave --force` if it is yours)", state)
	}
	return f
}

// State is the daemon's swarm state: inactive, active, pending, error or
// locked.
func State() (string, error) {
	out, err := exec.Command("docker", "info", "--format", "{{.Swarm.LocalNodeState}}").Output()
	if err != nil {
		return "", fmt.Errorf("docker info: %v", err)
	}
	return strings.TrimSpace(string(out)), nil
}
