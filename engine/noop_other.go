//go:build !unix

package engine

import "context"

// UpToDate never trusts a no-op record here: every run evaluates.
func (s *Session) UpToDate(ctx context.Context, names []string, flags map[string]string, force bool) (*Summary, bool) {
	return nil, false
}

func (l *Loaded) writeNoop(ctx context.Context, e *Engine, names []string) {}
