package mod

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// Each .star file answers to the nearest ferry.mod in its folder or above;
// a vendored module to its own (or to none, loading only itself).
func TestLintDeps(t *testing.T) {
	ws := workspace(t, map[string]string{
		"ferry.mod":                    "dep(\"lib\", repo = \"https://x/lib.git\", version = \"v1.0.0\")\n",
		"ferry.star":                   "",
		"tools/mymod/ferry.mod":        "dep(\"util\", repo = \"https://x/util.git\", version = \"v1.0.0\")\n",
		"ferry_modules/lib/a.star":     "",
		"ferry_modules/util/ferry.mod": "dep(\"base\", repo = \"https://x/base.git\", version = \"v2.0.0\")\n",
		"broken/ferry.mod":             "dep(\n",
	})
	deps := LintDeps(ws)
	for file, want := range map[string]string{
		"ferry.star":                  "ferry.mod [lib]",
		"lib/deep/x.star":             "ferry.mod [lib]",
		"tools/mymod/sub/y.star":      "tools/mymod/ferry.mod [util]",
		"ferry_modules/lib/a.star":    "ferry_modules/lib/ferry.mod [lib]",
		"ferry_modules/util/k/b.star": "ferry_modules/util/ferry.mod [base util]",
		"broken/z.star":               "unchecked",
	} {
		got := "unchecked"
		if d := deps(file); d != nil {
			got = fmt.Sprintf("%s [%s]", d.ModFile, strings.Join(slices.Sorted(maps.Keys(d.Aliases)), " "))
		}
		if got != want {
			t.Errorf("%s: got %s, want %s", file, got, want)
		}
	}
	empty := workspace(t, map[string]string{"ferry.star": ""})
	if d := LintDeps(empty)("lib/x.star"); d == nil || d.ModFile != "" || len(d.Aliases) != 0 {
		t.Errorf("no ferry.mod: %+v", d)
	}
}
