package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/console"
	"github.com/ferryhq/ferry/engine/console/view"
	"github.com/ferryhq/ferry/engine/dev"
)

// startView opens the status view for a watch of ws when stdin and stderr
// are terminals, the log format is console, CI is unset and noView is
// false; the log then goes into the view, below the rules. It returns the
// context for the watch (q and Ctrl-C end it) and a function that closes
// the view and reports whether q ended the watch. Without a view, ctx is
// returned and the log stays as it is.
func (a *app) startView(ctx context.Context, noView bool, ws *engine.Workspace) (context.Context, func() bool) {
	out, ok := console.TerminalFile(a.stderr)
	if noView || !ok || a.logFormat != "console" || os.Getenv("CI") != "" || !view.Usable(os.Stdin, out) {
		return ctx, func() bool { return false }
	}
	lvl, err := console.ParseLevel(a.logLevel)
	if err != nil {
		return ctx, func() bool { return false }
	}
	var sinks []engine.Sink
	if a.eventFile != nil {
		sinks = append(sinks, a.eventFile)
	}
	v, vctx, err := dev.OpenView(ctx, os.Stdin, out, ws.Root, lvl, a.bus, sinks...)
	if err != nil {
		a.bus.Logf(engine.LevelWarn, "no status view (%v); logging lines instead", err)
		return ctx, func() bool { return false }
	}
	oldSink, oldBus := a.sink, a.bus
	a.sink, a.bus, a.view = v.Sink(), v.Bus(), v
	return vctx, func() bool {
		lines, quit := v.Close()
		a.sink, a.bus, a.view = oldSink, oldBus, nil
		fmt.Fprintln(a.stderr, strings.Join(lines, "\n"))
		return quit
	}
}
