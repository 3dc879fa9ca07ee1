package main

import (
	"os"
	"strings"
	"testing"
)

// docs/reference.md is generated from the builtins' definitions; it must be
// regenerated (make docs) whenever they change.
func TestReferenceIsCurrent(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	if got := reference(); got != string(want) {
		t.Fatal("docs/reference.md is stale: run `make docs`")
	}
}

func TestLogsFollow(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"logs -f":                   "logs --follow",
		"logs web -f":               "logs web --follow",
		"-f x.star logs -f":         "-f x.star logs --follow",
		"-f logs logs":              "-f logs logs", // the file is named logs; the command is logs
		"-f x.star run -- -f":       "-f x.star run -- -f",
		"run -f":                    "run -f",
		"--project p logs -f -- -f": "--project p logs --follow -- -f",
	} {
		if got := strings.Join(logsFollow(strings.Fields(in)), " "); got != want {
			t.Errorf("logsFollow(%q) = %q, want %q", in, got, want)
		}
	}
}
