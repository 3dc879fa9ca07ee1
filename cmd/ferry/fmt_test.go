package main

import (
	"strings"
	"testing"
)

func TestFmtCommand(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star":   "task(name=\"a\",cmd=\"true\")\n",
		"lib/ok.star":  "x = 1\n",
		"lib/bad.star": "x = (\n",
	})
	// --check: lists, changes nothing, exits 2 for the syntax error.
	r := ws.ferry(t, "fmt", "--check")
	if r.code != 2 || r.stdout != "ferry.star\n" || !strings.Contains(r.stderr, "lib/bad.star:3:1: syntax error") {
		t.Fatalf("want exit 2, ferry.star listed and the syntax error:\n%s", r)
	}
	ws.write(t, "lib/bad.star", "x = ()\n")
	r = ws.ferry(t, "fmt", "--check")
	if r.code != 1 || r.stdout != "ferry.star\n" || ws.read(t, "ferry.star") != "task(name=\"a\",cmd=\"true\")\n" {
		t.Fatalf("want exit 1 and nothing changed:\n%s", r)
	}
	r = ws.ferry(t, "fmt")
	if r.code != 0 || r.stdout != "ferry.star\n" || ws.read(t, "ferry.star") != "task(name = \"a\", cmd = \"true\")\n" {
		t.Fatalf("want ferry.star formatted:\n%s\n%s", r, ws.read(t, "ferry.star"))
	}
	if r := ws.ferry(t, "fmt", "--check"); r.code != 0 || r.stdout != "" {
		t.Fatalf("want exit 0 once formatted:\n%s", r)
	}
	if r := ws.ferry(t, "fmt", "lib/missing.star"); r.code != 2 {
		t.Fatalf("want exit 2 for a missing file:\n%s", r)
	}

	// A module's repository without ferry.star: its folder's files.
	mod := newWorkspace(t, map[string]string{"lib/m.star": "def f( a ):\n  return a\n"})
	if r := mod.ferry(t, "fmt"); r.code != 0 || r.stdout != "lib/m.star\n" || mod.read(t, "lib/m.star") != "def f(a):\n    return a\n" {
		t.Fatalf("outside a workspace:\n%s", r)
	}
}
