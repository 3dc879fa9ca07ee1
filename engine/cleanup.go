package engine

import (
	"context"
	"sync"
)

// Cleanups counts the work in progress that must finish even when ferry is
// stopped: changes to the Docker Engine (a container being removed or put
// back) and the removal of what a watch started. A process that exits
// without waiting for a stuck command waits for these first (see
// ExitWhenStuck). The zero value is ready to use.
type Cleanups struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // made when n leaves 0, closed when it returns to 0
}

type cleanupsKey struct{}

// WithCleanups returns ctx carrying c, for Cleaning under it (also under
// context.WithoutCancel of it).
func WithCleanups(ctx context.Context, c *Cleanups) context.Context {
	return context.WithValue(ctx, cleanupsKey{}, c)
}

// Cleaning marks cleanup work in progress in the Cleanups of ctx, if any,
// until the returned function is called.
func Cleaning(ctx context.Context) (done func()) {
	c, _ := ctx.Value(cleanupsKey{}).(*Cleanups)
	if c == nil {
		return func() {}
	}
	c.mu.Lock()
	if c.n == 0 {
		c.idle = make(chan struct{})
	}
	c.n++
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.n--
			if c.n == 0 {
				close(c.idle)
			}
			c.mu.Unlock()
		})
	}
}

// Idle returns a channel that is closed when no cleanup work is in
// progress.
func (c *Cleanups) Idle() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		closed := make(chan struct{})
		close(closed)
		return closed
	}
	return c.idle
}
