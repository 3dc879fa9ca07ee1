package main

import (
	"os"
	"testing"
)

// docs/reference.md is generated from the builtins' definitions; it must be
// regenerated (make docs) whenever they change.
func TestReferenceIsCurrent(t *testing.T) {
	want, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	if got := reference(); got != string(want) {
		t.Fatal("docs/reference.md is stale: run `make docs`")
	}
}
