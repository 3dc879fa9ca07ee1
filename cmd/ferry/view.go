package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/console"
	"github.com/ferryhq/ferry/engine/console/view"
	"github.com/ferryhq/ferry/engine/dev"
)

// watchView is the status view of a running watch.
type watchView struct {
	term *view.Terminal
	loop atomic.Pointer[dev.Loop]   // set once the watch has rules
	bus  atomic.Pointer[engine.Bus] // the view's bus, for the keys' messages
	quit atomic.Bool                // q ended the watch
}

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
	vctx, cancel := context.WithCancel(ctx)
	v := &watchView{}
	keys := view.Keys{
		Quit:      func() { v.quit.Store(true); cancel() },
		Interrupt: cancel,
		Trigger: func(rule string) {
			l := v.loop.Load()
			if l == nil {
				return
			}
			if err := l.Trigger([]string{rule}); err != nil {
				v.bus.Load().Logf(engine.LevelError, "%v", err)
			}
		},
	}
	term, err := view.Open(os.Stdin, out, view.NewModel("ferry watch · "+ws.Root), keys, console.ColorFor(out))
	if err != nil {
		a.bus.Logf(engine.LevelWarn, "no status view (%v); logging lines instead", err)
		cancel()
		return ctx, func() bool { return false }
	}
	v.term = term
	sink, err := console.New(console.Options{Out: term, Format: "console", Level: lvl})
	if err != nil {
		term.Close()
		cancel()
		return ctx, func() bool { return false }
	}
	oldSink, oldBus := a.sink, a.bus
	// The view writes to the terminal itself, behind the redacting writer of
	// stderr: its bus is the app's, with the same redactor, for other sinks.
	a.sink, a.bus = sink, oldBus.Fork(sink, term)
	if a.eventLog != nil {
		a.bus.Add(a.eventLog)
	}
	v.bus.Store(a.bus)
	a.view = v
	return vctx, func() bool {
		cancel()
		lines := term.Close()
		a.sink, a.bus, a.view = oldSink, oldBus, nil
		fmt.Fprintln(a.stderr, strings.Join(lines, "\n"))
		return v.quit.Load()
	}
}

// viewRules shows the rules that the watch selected (and that loop can
// trigger) in the status view, if there is one.
func (a *app) viewRules(g *engine.Graph, names []string, loop *dev.Loop) {
	if a.view == nil {
		return
	}
	sel, err := g.Select(names)
	if err != nil {
		return
	}
	metas := make([]view.RuleMeta, 0, len(sel))
	for _, n := range sel {
		info := g.Rule(n).Info()
		metas = append(metas, view.RuleMeta{Name: n, Kind: info.Kind, Manual: info.Manual})
	}
	a.view.loop.Store(loop)
	a.view.term.Update(func(m *view.Model) { m.SetRules(metas) })
}
