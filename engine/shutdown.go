package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// exitGrace is how long ferry has to end on its own once it is stopped.
// Nearly everything stops at once; what does not (a builtin call in the
// middle of evaluation, a server with a long grace, a stalled call) is cut
// short, so a signal ends ferry within about a second.
const exitGrace = 800 * time.Millisecond

// cleanupLimit bounds the wait for cleanup work (see Cleanups) when ferry
// is stuck: removing a container gives it 5 seconds to stop.
const cleanupLimit = 30 * time.Second

// SignalError is the cause of a context cancelled by a signal.
type SignalError struct{ Signal os.Signal }

func (e SignalError) Error() string { return "interrupted by " + e.Signal.String() }

// ExitCode follows the shell's convention: 128 + the signal's number, or
// 130 (that of SIGINT) for a signal without a number.
func (e SignalError) ExitCode() int {
	if s, ok := e.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}

// StopOnSignals cancels with a SignalError at the first SIGINT, SIGTERM,
// SIGHUP or SIGQUIT, so that each stops ferry the same way and what it
// must undo (such as the plaintext of ferry secret edit) is undone. A
// signal the process was started ignoring (nohup) stays ignored. The
// returned channel receives the signals after the first (see
// ExitWhenStuck).
func StopOnSignals(cancel context.CancelCauseFunc) <-chan os.Signal {
	sigs := make(chan os.Signal, 1)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		if !signal.Ignored(sig) {
			signal.Notify(sigs, sig)
		}
	}
	go func() { cancel(SignalError{<-sigs}) }()
	return sigs
}

// ExitWhenStuck ends the process if it has not ended exitGrace after ctx
// is cancelled, or at a signal on sigs. It waits first for cleanup work
// in progress (such as removing the containers ferry started), which a
// signal cuts short, unless an evaluation was abandoned (ErrAbandoned);
// and it kills the processes ferry started. The exit code is that of the
// SignalError that cancelled ctx, else code. State files are written
// whole or not at all (a temporary file renamed into place), so none is
// left half written.
func ExitWhenStuck(ctx context.Context, sigs <-chan os.Signal, cleanups *Cleanups, code int) {
	<-ctx.Done()
	// An abandoned evaluation goes on allocating: there is no time to wait
	// for cleanup.
	abandoned := errors.Is(context.Cause(ctx), ErrAbandoned)
	limit := time.After(cleanupLimit)
	told := false
wait:
	for {
		select {
		case <-time.After(exitGrace):
		case <-sigs:
			break wait
		}
		idle := cleanups.Idle()
		select {
		case <-idle:
			break wait
		default:
		}
		if abandoned {
			break wait
		}
		if !told {
			fmt.Fprintf(os.Stderr, "ferry: waiting for cleanup, such as removing the containers ferry started, before exiting (at most %s; a second signal exits now)\n", cleanupLimit)
			told = true
		}
		select {
		case <-idle:
		case <-limit:
			break wait
		case <-sigs:
			break wait
		}
	}
	// This bypasses the redactor, which may be held by what is stuck: it
	// names the signal, never what ferry read.
	why := "ferry"
	var sig SignalError
	if errors.As(context.Cause(ctx), &sig) {
		code, why = sig.ExitCode(), "ferry: "+sig.Error()
	}
	fmt.Fprintf(os.Stderr, "%s: still stopping, so exiting now\n", why)
	KillCommands()
	killChildren()
	os.Exit(code)
}
