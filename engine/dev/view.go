package dev

import (
	"context"
	"io"
	"os"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/console"
	"github.com/ferryhq/ferry/engine/console/view"
)

// A View is the status view of a watch on a terminal: the rules the loop
// selected, each with its state, above the log. Its keys trigger rules
// (t), and end the watch (q, Ctrl-C).
type View struct {
	screen screen
	sink   *console.Sink
	bus    *engine.Bus
	cancel context.CancelFunc
	loop   atomic.Pointer[Loop] // set once the watch has rules
	quit   atomic.Bool          // q ended the watch
}

// A screen is what a View draws on: a *view.Terminal, or a fake in tests.
type screen interface {
	engine.Sink
	io.Writer
	Update(func(*view.Model))
	Close() []string
}

// OpenView opens the status view of a watch of root on the terminal out,
// reading keys from in; the log goes into it, below the rules, as lines
// of level lvl and more severe. The view's bus (Bus) is a fork of bus
// that sends the events to the view and to sinks. OpenView returns the
// context for the watch, which q and Ctrl-C end.
func OpenView(ctx context.Context, in, out *os.File, root string, lvl zerolog.Level, bus *engine.Bus, sinks ...engine.Sink) (*View, context.Context, error) {
	v := &View{}
	ctx, v.cancel = context.WithCancel(ctx)
	term, err := view.Open(in, out, view.NewModel("ferry watch · "+root), v.keys(), console.ColorFor(out))
	if err != nil {
		v.cancel()
		return nil, nil, err
	}
	if err := v.attach(term, lvl, bus, sinks); err != nil {
		term.Close()
		v.cancel()
		return nil, nil, err
	}
	return v, ctx, nil
}

// keys are what the view's keys do.
func (v *View) keys() view.Keys {
	return view.Keys{
		Quit:      func() { v.quit.Store(true); v.cancel() },
		Interrupt: v.cancel,
		Trigger: func(rule string) {
			l := v.loop.Load()
			if l == nil {
				return
			}
			if err := l.Trigger([]string{rule}); err != nil {
				v.bus.Logf(engine.LevelError, "%v", err)
			}
		},
	}
}

// attach makes the view's log sink and bus, which draw on s.
func (v *View) attach(s screen, lvl zerolog.Level, bus *engine.Bus, sinks []engine.Sink) error {
	sink, err := console.New(console.Options{Out: s, Format: "console", Level: lvl})
	if err != nil {
		return err
	}
	v.screen, v.sink = s, sink
	// The view writes to the terminal itself, behind the redacting writer
	// of stderr: its bus is a fork of bus, with the same redactor.
	v.bus = bus.Fork(append([]engine.Sink{sink, s}, sinks...)...)
	return nil
}

// Bus returns the bus whose events and log lines the view shows.
func (v *View) Bus() *engine.Bus { return v.bus }

// Sink returns the view's log sink.
func (v *View) Sink() *console.Sink { return v.sink }

// Show shows the rules of g that names select (see Loop.Names), which
// the view's keys trigger through loop.
func (v *View) Show(g *engine.Graph, names []string, loop *Loop) {
	sel, err := g.Select(names)
	if err != nil {
		return
	}
	metas := make([]view.RuleMeta, 0, len(sel))
	for _, n := range sel {
		info := g.Rule(n).Info()
		metas = append(metas, view.RuleMeta{Name: n, Kind: info.Kind, Manual: info.Manual})
	}
	v.loop.Store(loop)
	v.screen.Update(func(m *view.Model) { m.SetRules(metas) })
}

// Close ends the watch's context and closes the view. It returns the last
// log lines and the rules' summary, to print on the normal screen, and
// whether q ended the watch.
func (v *View) Close() (lines []string, quit bool) {
	v.cancel()
	return v.screen.Close(), v.quit.Load()
}
