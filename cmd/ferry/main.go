// Command ferry evaluates ferry.star files and runs what changed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// Exit codes.
const (
	exitFailed      = 1   // a rule failed
	exitConfig      = 2   // bad usage, or ferry.star could not be evaluated
	exitInterrupted = 130 // Ctrl-C (SIGTERM gives 143, SIGHUP 129, SIGQUIT 131)
)

func main() {
	// ferry is a short-lived process with a small heap: collecting less
	// often saves about a tenth of a no-op run.
	debug.SetGCPercent(400)
	ctx, cancel := context.WithCancelCause(context.Background())
	// Each of these stops ferry the same way, so that what it must undo
	// (such as the plaintext of ferry secret edit) is undone. One that
	// ferry was started ignoring (nohup) stays ignored.
	sigs := make(chan os.Signal, 1)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		if !signal.Ignored(sig) {
			signal.Notify(sigs, sig)
		}
	}
	go func() { cancel(signalError{<-sigs}) }()
	cleanups := &engine.Cleanups{}
	go exitWhenStuck(ctx, sigs, cleanups)
	os.Exit(runCancel(engine.WithCleanups(ctx, cleanups), cancel, os.Args[1:], os.Stdout, os.Stderr))
}

// exitGrace is how long ferry has to end on its own once it is stopped.
// Nearly everything stops at once; what does not (a builtin call in the
// middle of evaluation, a server with a long grace, a stalled call) is cut
// short, so a signal ends ferry within about a second.
const exitGrace = 800 * time.Millisecond

// cleanupLimit bounds the wait for cleanup work (see engine.Cleanups) when
// ferry is stuck: removing a container gives it 5 seconds to stop.
const cleanupLimit = 30 * time.Second

// exitWhenStuck ends the process if ferry has not ended exitGrace after ctx
// is cancelled, or at a second signal. It waits first for cleanup work in
// progress (such as removing the containers ferry started), which a second
// signal cuts short, unless an evaluation was abandoned; and it kills the
// processes ferry started. State files are written whole or not at all (a
// temporary file renamed into place), so none is left half written.
func exitWhenStuck(ctx context.Context, sigs <-chan os.Signal, cleanups *engine.Cleanups) {
	<-ctx.Done()
	// An abandoned evaluation goes on allocating: there is no time to wait
	// for cleanup.
	abandoned := errors.Is(context.Cause(ctx), engine.ErrAbandoned)
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
	code, why := exitConfig, "ferry"
	var sig signalError
	if errors.As(context.Cause(ctx), &sig) {
		code, why = sig.exitCode(), "ferry: "+sig.Error()
	}
	fmt.Fprintf(os.Stderr, "%s: still stopping, so exiting now\n", why)
	engine.KillCommands()
	killChildren()
	os.Exit(code)
}

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "interrupted by " + e.sig.String() }

// exitCode follows the shell's convention: 128 + the signal's number.
func (e signalError) exitCode() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitInterrupted
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	return runCancel(ctx, cancel, args, stdout, stderr)
}

// runCancel is run with ctx's cancel function, which stops the command when
// it cannot go on (see app.stop).
func runCancel(ctx context.Context, cancel context.CancelCauseFunc, args []string, stdout, stderr io.Writer) int {
	// Every byte ferry writes passes through the redactor.
	red := redact.New()
	out, errOut := red.Writer(stdout), red.Writer(stderr)
	defer out.Flush()
	defer errOut.Flush()
	a := &app{stdout: out, stderr: errOut, redactor: red, stop: cancel}
	root := a.rootCommand()
	root.SetArgs(logsFollow(args))
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	a.closeEvents()
	if err == nil {
		return 0
	}
	switch {
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		var sig signalError
		if errors.As(context.Cause(ctx), &sig) {
			a.printErr(sig.Error())
			return sig.exitCode()
		}
		if cause := context.Cause(ctx); errors.Is(cause, engine.ErrAbandoned) {
			a.printErr(cause.Error())
			return exitConfig
		}
		a.printErr("interrupted")
		return exitInterrupted
	case errors.Is(err, engine.ErrFailed):
		return exitFailed
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.msg != "" {
			a.printErr(ec.msg)
		}
		return ec.code
	}
	a.printErr(err.Error())
	return exitConfig
}

// logsFollow lets `ferry logs -f` follow, as `docker compose logs -f` does:
// after the logs command, -f means --follow (the global -f FILE goes before
// the command's name, as with compose).
func logsFollow(args []string) []string {
	out := append([]string{}, args...)
	seen := false
	for i, a := range out {
		switch {
		case a == "--":
			return out
		case !seen && a == "logs":
			seen = i == 0 || out[i-1] != "-f" && out[i-1] != "--file" && out[i-1] != "-C" && out[i-1] != "--dir"
		case seen && a == "-f":
			out[i] = "--follow"
		}
	}
	return out
}

// exitCodeError ends ferry with a code of a command's choosing, such as
// the exit code of the program ferry exec ran; msg, if any, is reported.
type exitCodeError struct {
	code int
	msg  string
}

func (e *exitCodeError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("exit code %d", e.code)
}

func (a *app) printErr(msg string) {
	if a.sink != nil {
		a.sink.Logger().Error().Msg(msg)
		return
	}
	fmt.Fprintln(a.stderr, "ferry: "+msg)
}
