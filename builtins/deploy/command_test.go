package deploy

import (
	"slices"
	"strings"
	"testing"
)

// A command string is split as a shell would split it, and one that needs a
// shell is refused: it was split on spaces, so sh -c "a && b" ran
// ["sh", "-c", "\"a", "&&", "b\""].
func TestSplitCommand(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "serve --port 8080", want: []string{"serve", "--port", "8080"}},
		{in: `sh -c "a && b"`, want: []string{"sh", "-c", "a && b"}},
		{in: `echo 'it''s' a\ b "x\"y" '$HOME' * {a,b}`, want: []string{"echo", "its", "a b", `x"y`, "$HOME", "*", "{a,b}"}},
		{in: "", want: nil},
		{in: "migrate && serve", err: "shell operators"},
		{in: "serve | tee log", err: "shell operators"},
		{in: "serve > log", err: "a redirection"},
		{in: "serve --port $PORT", err: "a variable or a substitution"},
		{in: "serve $(cat port)", err: "a variable or a substitution"},
		{in: "PORT=1 serve", err: "set it with env"},
		{in: `sh -c "unterminated`, err: "not a command line"},
	} {
		got, err := splitCommand(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("splitCommand(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
