package image

import (
	"fmt"
	"reflect"
	"testing"
)

// A prune's result is logged image by image, or as none.
func TestPruneResultLog(t *testing.T) {
	var lines []string
	logf := func(level, format string, args ...any) {
		lines = append(lines, level+": "+fmt.Sprintf(format, args...))
	}
	PruneResult{Removed: []string{"acme/api:k1"}, Kept: []string{"acme/api:k2 (a container uses it)"}}.Log(logf, "nothing")
	PruneResult{}.Log(logf, "no image to remove")
	want := []string{"info: removed image acme/api:k1", "info: kept image acme/api:k2 (a container uses it)", "info: no image to remove"}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("logged %q, want %q", lines, want)
	}
}
