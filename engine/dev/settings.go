package dev

import (
	"slices"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/watch"
)

// settings returns the watch_settings() of an evaluation, nil when it has
// none.
func settings(ev *Evaluation) *engine.WatchSettings {
	if ev.Result == nil || ev.Result.Eval == nil {
		return nil
	}
	return ev.Result.Eval.WatchSettings()
}

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

// applySettings watches with the options that the first good evaluation
// asks for: it keeps the source when they are those it was started with
// (the flags'), or else starts a new one before it closes the old, so that
// no change goes unseen.
func (l *Loop) applySettings(ev *Evaluation) error {
	s := settings(ev)
	o := withSettings(l.Options, s)
	l.wo = o
	if s == nil || o.Debounce == l.Options.Debounce && o.MaxBatchAge == l.Options.MaxBatchAge && len(o.Ignore) == len(l.Options.Ignore) {
		return nil
	}
	src, err := l.watch(o)
	if err != nil {
		return engine.Errorf(s.Pos, "watch_settings: %v", err)
	}
	l.src.Close()
	l.src = src
	l.Bus.Logf(engine.LevelDebug, "watching with watch_settings from %s", s.Pos)
	return nil
}

// noteSettings warns when a reload changed watch_settings(): the source
// keeps the settings it started with.
func (l *Loop) noteSettings(next *Evaluation) {
	old, cur := settings(l.ev), settings(next)
	if old == nil && cur == nil || old != nil && cur != nil && old.Debounce == cur.Debounce && old.MaxBatchAge == cur.MaxBatchAge && slices.Equal(old.Ignore, cur.Ignore) {
		return
	}
	l.Bus.Logf(engine.LevelWarn, "watch_settings changed; they apply when ferry watch starts again (Ctrl-C, then ferry watch)")
}
