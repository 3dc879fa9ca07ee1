package image

import (
	"context"
	"fmt"

	"github.com/moby/patternmatcher"
)

// WatchRoots returns the context folder and the Dockerfile.
func (i *Image) WatchRoots() []string { return []string{i.context, i.dockerfile} }

// Concerns reports whether a change to one of paths may change the image:
// the Dockerfile, the context folder itself or a folder above it, the
// context's .dockerignore, or a file or folder of the context that
// .dockerignore and ignore= do not leave out.
func (i *Image) Concerns(ctx context.Context, paths []string) (bool, error) {
	var pm *patternmatcher.PatternMatcher
	for _, p := range paths {
		if p == i.dockerfile || p == i.context || p == "." {
			return true, nil
		}
		if _, ok := within(p, i.context); ok {
			return true, nil // a folder above the context
		}
		name, ok := within(i.context, p)
		if !ok {
			continue
		}
		if name == dockerignore {
			return true, nil
		}
		if pm == nil {
			patterns, err := i.contextIgnores(i.ws)
			if err != nil {
				return true, err
			}
			if pm, err = patternmatcher.New(patterns); err != nil {
				return true, fmt.Errorf("%s/%s: %w", i.context, dockerignore, err)
			}
		}
		left, err := leftOut(pm, name)
		if err != nil || !left {
			return true, err
		}
	}
	return false, nil
}

// leftOut reports whether the build context leaves out the context-relative
// slash path name, deciding for each of its folders in turn as the walk of
// readContext does.
func leftOut(pm *patternmatcher.PatternMatcher, name string) (bool, error) {
	var info patternmatcher.MatchInfo
	var skip bool
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '/' {
			continue
		}
		var err error
		if skip, info, err = pm.MatchesUsingParentResults(name[:i], info); err != nil {
			return false, err
		}
		if skip && i < len(name) && !mayKeepInside(pm, name[:i]) {
			return true, nil // readContext skips the whole folder
		}
	}
	return skip, nil
}
