package watch

import (
	"slices"
	"strings"
	"testing"
)

// Options.Ignore leaves out matching paths, and what is below matching
// folders, including folders created after the start.
func TestWatchIgnoreOption(t *testing.T) {
	root := t.TempDir()
	write(t, root, "tmp/old", "")
	write(t, root, "sub/main.go", "")
	w := start(t, root, Options{Ignore: []string{"tmp", "**/*.log", "!keep.log"}})

	write(t, root, "tmp/new", "x")
	write(t, root, "tmp/deeper/file", "x")
	write(t, root, "sub/debug.log", "x")
	write(t, root, "keep.log", "x")
	write(t, root, "marker", "")
	got := collect(t, w, "keep.log", "marker")
	if !slices.Equal(got, []string{"keep.log", "marker"}) {
		t.Errorf("got %q, want keep.log and marker only", got)
	}
}

func TestWatchIgnoreBadPattern(t *testing.T) {
	_, err := New(t.TempDir(), Options{Ignore: []string{"[x"}})
	if err == nil || !strings.Contains(err.Error(), "watch ignore patterns") {
		t.Errorf("New with pattern [x: %v", err)
	}
}
