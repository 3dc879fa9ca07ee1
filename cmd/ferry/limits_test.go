package main

// Limits on what an untrusted ferry.star can make ferry do: output size
// and traceback length.

import (
	"fmt"
	"strings"
	"testing"
)

// ferry graph writes output linear in the size of the graph, however deep
// the graph and however many paths lead to a rule.
func TestGraphOutputIsLinear(t *testing.T) {
	t.Parallel()
	const n = 10_000
	for _, tc := range []struct{ name, deps string }{
		{"chain", `["r%d" % (i - 1)] if i > 0 else []`},
		{"diamond", `["r%d" % (i - 1), "r%d" % (i - 2)] if i > 1 else []`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws := newWorkspace(t, map[string]string{
				"ferry.star": fmt.Sprintf("for i in range(%d):\n    task(name = \"r%%d\" %% i, cmd = \"true\", deps = %s)\n", n, tc.deps),
			})
			for _, format := range []string{"text", "dot"} {
				r := ws.ferry(t, "graph", "--format", format)
				r.wantCode(t, 0)
				if size := len(r.stdout); size > 200*n {
					t.Errorf("graph --format %s of %d rules wrote %d bytes, want at most %d", format, n, size, 200*n)
				}
				for _, name := range []string{"r0", "r4999", fmt.Sprintf("r%d", n-1)} {
					if !strings.Contains(r.stdout, name+" (task)") && !strings.Contains(r.stdout, `"`+name+`"`) {
						t.Errorf("graph --format %s lacks %s", format, name)
					}
				}
			}
		})
	}
}

// A Starlark stack overflow prints the first and last frames, not 100,000.
func TestStackOverflowTracebackIsBounded(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": "def f(n):\n    return f(n + 1)\n\nf(0)\n",
	})
	r := ws.ferry(t, "plan")
	r.wantCode(t, exitConfig)
	r.wantStderr(t, "Starlark stack overflow", "ferry.star:2:13", "ferry.star:4:2", "frames omitted")
	if lines := strings.Count(r.stderr, "\n"); lines > 50 {
		t.Errorf("the traceback has %d lines, want at most 50\n%.2000s", lines, r.stderr)
	}
}

// A chain deeper than the tree's nesting continues in a tree of its own,
// and a rule reached twice shows its deps once.
func TestGraphTreeDeepChain(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `for i in range(11):
    task(name = "r%d" % i, cmd = "true", deps = ["r%d" % (i - 1)] if i > 0 else [])
task(name = "top", cmd = "true", deps = ["r10", "r2"], doc = "both")
`,
	})
	r := ws.ferry(t, "graph")
	r.wantCode(t, 0)
	want := `top (task) — both
├── r10 (task)
│   └── r9 (task)
│       └── r8 (task)
│           └── r7 (task)
│               └── r6 (task)
│                   └── r5 (task)
│                       └── r4 (task)
│                           └── r3 (deps shown below)
└── r2 (task)
    └── r1 (task)
        └── r0 (task)
r3 (task)
└── r2 (deps shown above)
`
	if r.stdout != want {
		t.Errorf("got\n%s\nwant\n%s", r.stdout, want)
	}
}
