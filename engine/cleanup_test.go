package engine

import (
	"context"
	"testing"
)

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestCleanups(t *testing.T) {
	var c Cleanups
	if !isClosed(c.Idle()) {
		t.Fatal("a new Cleanups is not idle")
	}
	ctx := context.WithoutCancel(WithCleanups(context.Background(), &c))
	done1, done2 := Cleaning(ctx), Cleaning(ctx)
	idle := c.Idle()
	done1()
	done1()
	if isClosed(idle) {
		t.Fatal("idle with one cleanup in progress")
	}
	done2()
	if !isClosed(idle) || !isClosed(c.Idle()) {
		t.Fatal("not idle once every cleanup is done")
	}
	Cleaning(context.Background())() // no Cleanups: nothing to count
}
