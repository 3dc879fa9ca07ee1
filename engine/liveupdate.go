package engine

import "errors"

// ErrLiveUpdated is returned by Rule.Run when the rule brought its running
// result up to date in place (a live update: files copied into running
// containers) instead of doing its full work. The engine reports the rule
// as live-updated, keeps the key of its last full success in the state (so
// a later `ferry run` does the full work), and hands its dependents that
// key, so they see no change. A rule may return it only when
// RunContext.LiveUpdate is true.
var ErrLiveUpdated = errors.New("live-updated")
