package objects

import (
	"testing"
	"time"
)

// A service's lock is held by one caller at a time, and callers locking
// several services in different orders do not wait for each other.
func TestLockServices(t *testing.T) {
	unlock := LockServices("p", "web", "db")
	got := make(chan string, 2)
	go func() {
		defer LockServices("p", "db", "web")()
		got <- "both"
	}()
	go func() {
		defer LockServices("q", "web")()
		got <- "other project"
	}()
	if g := <-got; g != "other project" {
		t.Fatalf("%s locked while the lock of p's services was held", g)
	}
	select {
	case g := <-got:
		t.Fatalf("%s locked while the lock of p's services was held", g)
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	if g := <-got; g != "both" {
		t.Fatalf("got %s, want both of p's services locked after the unlock", g)
	}
}
