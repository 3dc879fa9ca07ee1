package watch

import (
	"fmt"

	"github.com/moby/patternmatcher"
)

// compileIgnore compiles Options.Ignore.
func compileIgnore(patterns []string) (*patternmatcher.PatternMatcher, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("watch ignore patterns: %w", err)
	}
	return pm, nil
}

// ignored reports whether the workspace-relative slash path rel is never
// reported: Ignored, or matched by Options.Ignore (a folder's match covers
// what is below it).
func (w *Watcher) ignored(rel string) bool {
	if Ignored(rel) {
		return true
	}
	if w.ignore == nil {
		return false
	}
	m, _ := w.ignore.MatchesOrParentMatches(rel) // patterns were checked by compileIgnore
	return m
}
