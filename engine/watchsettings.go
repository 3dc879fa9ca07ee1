package engine

import (
	"time"

	"go.starlark.net/syntax"
)

// WatchSettings are what watch_settings() in ferry.star sets for `ferry watch`.
type WatchSettings struct {
	Debounce    time.Duration // quiet window; 0 when not set
	MaxBatchAge time.Duration // 0 when not set
	Ignore      []string      // more paths to leave unwatched, .gitignore syntax
	Pos         syntax.Position
}

// SetWatchSettings records the watch settings; it fails when they were set
// already, saying where.
func (ev *Evaluation) SetWatchSettings(s *WatchSettings) error {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if ev.watch != nil {
		return Errorf(s.Pos, "watch_settings is called a second time (first at %s); call it once", ev.watch.Pos)
	}
	ev.watch = s
	return nil
}

// WatchSettings returns the settings made with watch_settings(), or nil.
func (ev *Evaluation) WatchSettings() *WatchSettings {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.watch
}
