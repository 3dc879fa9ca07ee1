// Command ferry evaluates ferry.star files and runs what changed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// runMemoryLimit is the soft limit on the Go heap of a command, unless
// GOMEMLIMIT sets one: a workspace that needs more gets it, with more
// frequent collections.
const runMemoryLimit = 72 << 20

// Exit codes.
const (
	exitFailed      = 1   // a rule failed
	exitConfig      = 2   // bad usage, or ferry.star could not be evaluated
	exitInterrupted = 130 // Ctrl-C (SIGTERM gives 143, SIGHUP 129, SIGQUIT 131)
)

func main() {
	// ferry is a short-lived process with a small heap: collecting less
	// often saves about a tenth of a no-op run. The soft limit keeps a
	// large workspace's heap (100,000 files: about 60 MB live at its peak)
	// from growing to five times its live size; a watch sets its own.
	debug.SetGCPercent(400)
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(runMemoryLimit)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := engine.StopOnSignals(cancel)
	cleanups := &engine.Cleanups{}
	go engine.ExitWhenStuck(ctx, sigs, cleanups, exitConfig)
	stopProfiles := engine.StartProfiling(os.Stderr)
	code := runCancel(engine.WithCleanups(ctx, cleanups), cancel, os.Args[1:], os.Stdout, os.Stderr)
	stopProfiles()
	os.Exit(code)
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
	root.SetArgs(testRun(logsFollow(args)))
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	if cerr := a.eventFile.Close(); cerr != nil {
		a.printErr(cerr.Error())
	}
	if err == nil {
		return 0
	}
	switch {
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		var sig engine.SignalError
		if errors.As(context.Cause(ctx), &sig) {
			a.printErr(sig.Error())
			return sig.ExitCode()
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

// testRun lets `ferry test -run REGEXP` select tests as `go test -run`
// does: when the command is test, -run means --run (also in the line a
// shell completes, after cobra's __complete).
func testRun(args []string) []string {
	out := append([]string{}, args...)
	for i, a := range out {
		if a == "--" || strings.HasPrefix(a, "-") || a == cobra.ShellCompRequestCmd || a == cobra.ShellCompNoDescRequestCmd {
			continue
		}
		// The first word that is no flag's value is the command.
		if i > 0 {
			prev := out[i-1]
			if strings.HasPrefix(prev, "-") && !strings.Contains(prev, "=") && prev != "--raw-color" && prev != "--" {
				continue
			}
		}
		if a != "test" {
			return out
		}
		for j := i + 1; j < len(out) && out[j] != "--"; j++ {
			if out[j] == "-run" || strings.HasPrefix(out[j], "-run=") {
				out[j] = "-" + out[j]
			}
		}
		return out
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
