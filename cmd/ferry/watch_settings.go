package main

import (
	"slices"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/watch"
)

// withSettings returns the watcher options for flags (zero when a flag was
// not given) and the watch_settings() of ferry.star, if any: a flag wins.
func withSettings(flags watch.Options, s *engine.WatchSettings) watch.Options {
	o := flags
	if s == nil {
		return o
	}
	if o.Debounce == 0 {
		o.Debounce = s.Debounce
	}
	if o.MaxBatchAge == 0 {
		o.MaxBatchAge = s.MaxBatchAge
	}
	o.Ignore = append(slices.Clone(o.Ignore), s.Ignore...)
	return o
}

// applySettings returns a watcher with the options that the first good
// evaluation asks for: fw itself when they are those it was started with
// (the flags'), or else a new watcher, started before fw is closed so that
// no change goes unseen.
func (a *app) applySettings(fw *watch.Watcher, root string, flags watch.Options, l *loaded) (*watch.Watcher, error) {
	s := l.res.Eval.WatchSettings()
	o := withSettings(flags, s)
	if s == nil || o.Debounce == flags.Debounce && o.MaxBatchAge == flags.MaxBatchAge && len(o.Ignore) == len(flags.Ignore) {
		return fw, nil
	}
	nw, err := watch.New(root, o)
	if err != nil {
		return nil, engine.Errorf(s.Pos, "watch_settings: %v", err)
	}
	fw.Close()
	a.bus.Logf(engine.LevelDebug, "watching with watch_settings from %s", s.Pos)
	return nw, nil
}

// noteSettings warns when a reload changed watch_settings(): the watcher
// keeps the settings it started with.
func (w *watcher) noteSettings(next *loaded) {
	old, cur := w.l.res.Eval.WatchSettings(), next.res.Eval.WatchSettings()
	if old == nil && cur == nil || old != nil && cur != nil && old.Debounce == cur.Debounce && old.MaxBatchAge == cur.MaxBatchAge && slices.Equal(old.Ignore, cur.Ignore) {
		return
	}
	w.a.bus.Logf(engine.LevelWarn, "watch_settings changed; they apply when ferry watch starts again (Ctrl-C, then ferry watch)")
}
