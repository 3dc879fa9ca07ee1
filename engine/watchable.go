package engine

import "context"

// A Watchable rule decides itself which changed paths concern it, instead
// of `ferry watch` matching them against Inputs. An image is one: a file
// removed from its build context counts although Inputs, which walks the
// context as it is now, no longer lists it; a file its .dockerignore leaves
// out does not count; and no walk of the context is needed per change.
type Watchable interface {
	// WatchRoots lists the workspace-relative files and folders the rule
	// reads from, to be watched even where ignore patterns exclude them.
	WatchRoots() []string
	// Concerns reports whether a change to one of the workspace-relative
	// slash paths (files or folders, created, written or removed) may
	// change the rule's result. It reads no more than small files such as
	// ignore lists.
	Concerns(ctx context.Context, paths []string) (bool, error)
}
