// Command ferry evaluates ferry.star files and runs what changed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferryhq/ferry/engine"
)

// Exit codes.
const (
	exitFailed      = 1   // a rule failed
	exitConfig      = 2   // bad usage, or ferry.star could not be evaluated
	exitInterrupted = 130 // Ctrl-C
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	switch {
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		a.printErr("interrupted")
		return exitInterrupted
	case errors.Is(err, engine.ErrFailed):
		return exitFailed
	}
	a.printErr(err.Error())
	return exitConfig
}

func (a *app) printErr(msg string) {
	if a.sink != nil {
		a.sink.Logger().Error().Msg(msg)
		return
	}
	fmt.Fprintln(a.stderr, "ferry: "+msg)
}
