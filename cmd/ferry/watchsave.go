package main

import "github.com/ferryhq/ferry/engine"

// saveLater writes the state in the background, so that a change saved
// meanwhile does not wait for the write: at 100,000 files it takes over
// 100 ms, fsync included. State.Save takes one snapshot at a time, and what
// the next run changes is written by the save after it. watch waits for the
// last save before it ends.
func (w *watcher) saveLater() {
	w.saves.Add(1)
	go func() {
		defer w.saves.Done()
		if err := w.e.Save(); err != nil {
			w.a.bus.Logf(engine.LevelError, "could not save state: %v", err)
		}
	}()
}
