package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sort"
	"time"

	"go.starlark.net/starlark"
)

// maxMemoryCeiling is the most memory an evaluation may use by default.
// Real ferry.star files evaluate in tens of MiB, so this leaves them ample
// room while a runaway one stops long before the machine runs short.
const maxMemoryCeiling = 2 << 30

// DefaultMaxMemory is the memory cap of an evaluation: 2 GiB, or a quarter
// of the machine's memory if that is less, so that a small CI runner keeps
// room for the tasks and containers ferry starts.
func DefaultMaxMemory() uint64 {
	if m := physicalMemory() / 4; m > 0 && m < maxMemoryCeiling {
		return m
	}
	return maxMemoryCeiling
}

// ErrMaxMemory is wrapped by the error of an evaluation stopped by its
// memory cap.
var ErrMaxMemory = errors.New("evaluation memory cap exceeded")

// ErrAbandoned is wrapped by the error of an evaluation that Evaluate
// returned from while one of its threads was still inside a builtin call
// that does not stop when cancelled (such as a join of a huge list). The
// call goes on until it returns, using CPU and memory: a long-lived process
// should end.
var ErrAbandoned = errors.New("evaluation abandoned inside a builtin call")

// maxMemoryError is the error of an evaluation stopped by its memory cap;
// abandoned tells whether the evaluation was left running.
type maxMemoryError struct {
	error
	abandoned bool
}

func (e maxMemoryError) Is(target error) bool {
	return target == ErrMaxMemory || e.abandoned && target == ErrAbandoned
}
func (e maxMemoryError) Unwrap() error { return e.error }

const (
	// memoryCheck is how often the heap is measured during evaluation.
	memoryCheck = 50 * time.Millisecond
	// stuckGrace is how long a stopped evaluation has to return. A thread
	// inside one long builtin call (a join of a huge list) sees no
	// cancellation until the call returns: after stuckGrace, Evaluate
	// returns without it.
	stuckGrace = 200 * time.Millisecond
)

// heapBytes returns the bytes in heap objects, reachable or not yet swept.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A memoryWatch judges whether the heap exceeds a cap, counting only what
// a collection keeps: ferry collects garbage seldom (see main), so a heap
// past the cap is collected, in the background, before it is judged. A
// heap that grows to half as much again meanwhile is over at once: a long
// builtin call can hold up a collection for seconds.
type memoryWatch struct {
	max       uint64
	collected chan struct{} // closed when the collection started ends
}

// over reports whether the heap is over the cap, starting a collection
// when it may be.
func (m *memoryWatch) over() bool {
	h := heapBytes()
	if h > m.max+m.max/2 {
		return true
	}
	if h > m.max && m.collected == nil {
		c := make(chan struct{})
		m.collected = c
		go func() {
			runtime.GC()
			close(c)
		}()
	}
	return false
}

// judge reports, once the collection over started has ended, whether what
// it kept is over the cap.
func (m *memoryWatch) judge() bool {
	m.collected = nil
	return heapBytes() > m.max
}

// wait waits until done yields the result of the evaluation's main load,
// stopping the evaluation when ctx ends or its heap exceeds the memory cap,
// and returns its error with a Starlark position. A stopped evaluation gets
// stuckGrace to return before it is abandoned.
func (ev *Evaluation) wait(ctx context.Context, done <-chan error) error {
	tick := time.NewTicker(memoryCheck)
	defer tick.Stop()
	ctxDone := ctx.Done()
	mem := &memoryWatch{max: ev.opts.MaxMemory}
	var memErr error
	var stuck <-chan time.Time
	overMemory := func() {
		if memErr != nil {
			return
		}
		memErr = ev.memoryError()
		ev.cancel(memErr.Error())
		tick.Stop()
		if stuck == nil {
			stuck = time.After(stuckGrace)
		}
	}
	for {
		select {
		case err := <-done:
			if err == nil {
				return nil
			}
			if memErr != nil {
				return maxMemoryError{error: PositionError(err)}
			}
			return PositionError(err)
		case <-ctxDone:
			ctxDone = nil
			if stuck == nil {
				stuck = time.After(stuckGrace)
			}
		case <-tick.C:
			if mem.over() {
				overMemory()
			}
		case <-mem.collected:
			if mem.judge() {
				overMemory()
			}
		case <-stuck:
			if memErr != nil {
				return maxMemoryError{error: ev.stuckError(memErr.Error()), abandoned: true}
			}
			return ctx.Err()
		}
	}
}

func (ev *Evaluation) memoryError() error {
	return fmt.Errorf("evaluation used more than %s of memory, its cap: ferry.star only declares rules (heavy work belongs in tasks); "+
		"if it needs more, raise the cap with --eval-memory SIZE or FERRY_EVAL_MEMORY=SIZE", formatBytes(ev.opts.MaxMemory))
}

// stuckError reports msg at the position of a thread that did not stop: one
// inside a builtin call, if any.
func (ev *Evaluation) stuckError(msg string) error {
	ev.mu.Lock()
	threads := make([]*starlark.Thread, 0, len(ev.threads))
	for t := range ev.threads {
		threads = append(threads, t)
	}
	ev.mu.Unlock()
	if len(threads) == 0 {
		return errors.New(msg)
	}
	// A stuck thread is inside a call into Go that writes nothing to its
	// call stack until it returns, which is why it is stuck: reading the
	// stack from here sees the frames as the thread left them.
	stacks := make([]starlark.CallStack, len(threads))
	for i, t := range threads {
		stacks[i] = t.CallStack()
	}
	inBuiltin := func(s starlark.CallStack) bool {
		return len(s) > 0 && s[len(s)-1].Pos.Filename() == "<builtin>"
	}
	sort.SliceStable(stacks, func(i, j int) bool { return inBuiltin(stacks[i]) && !inBuiltin(stacks[j]) })
	return fromEvalError(&starlark.EvalError{Msg: msg, CallStack: stacks[0]})
}

// formatBytes writes n in binary units, such as 1.5 GiB.
func formatBytes(n uint64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	if n < 1<<10 {
		return fmt.Sprintf("%d bytes", n)
	}
	v, u := float64(n)/(1<<10), 0
	for v >= 1<<10 && u < len(units)-1 {
		v /= 1 << 10
		u++
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}
