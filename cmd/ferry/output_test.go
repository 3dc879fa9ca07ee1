package main

// End-to-end tests of what ferry shows of a task's output: control
// characters escaped (unless --raw-color keeps the colours), and secrets
// redacted through them.

import (
	"strings"
	"testing"
)

func TestOutputControlCharactersEscaped(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"tok.txt": "Hunter2-Sesame-Value",
		"ferry.star": `tok = secret("tok", file = "tok.txt")
task(name = "t", cmd = ["sh", "-c", "printf 'title\\033]0;pwned\\007 \\033[31mred\\033[0m bell\\007 cr\\rfake 12:00:00 line\\n'; printf 'HUNTER2\\033[1m-sesame\\033[0m-VALUE\\n'"], secrets = {"TOK": tok}, cache = False)
`,
	})
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"run"}, []string{`title\x1b]0;pwned\x07 \x1b[31mred\x1b[0m bell\x07 cr\rfake 12:00:00 line`}},
		{[]string{"--raw-color", "run"}, []string{`title\x1b]0;pwned\x07 ` + "\x1b[31mred\x1b[0m" + ` bell\x07 cr\rfake 12:00:00 line`}},
	} {
		r := ws.ferry(t, c.args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", c.args, r.code, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: stderr has no %q:\n%q", c.args, w, r.stderr)
			}
		}
		for _, bad := range []string{"\x1b]", "\x07", "\r", "\x1b[1m-"} {
			if strings.Contains(r.stderr, bad) {
				t.Errorf("%v: stderr has a raw %q:\n%q", c.args, bad, r.stderr)
			}
		}
		if !strings.Contains(r.stderr, "[redacted tok]") || strings.Contains(strings.ToLower(r.stderr), "sesame") {
			t.Errorf("%v: the secret, in capitals with colour codes inside, is not redacted:\n%q", c.args, r.stderr)
		}
	}
}
