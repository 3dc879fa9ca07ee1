package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Keys computes the keys that a run records, without running anything, and
// follows a change of an input through the deps.
func TestKeysMatchRun(t *testing.T) {
	gen := &testRule{info: RuleInfo{Name: "gen", Kind: "rule", Default: true}, def: "v1", srcs: []string{"src"}}
	api := &testRule{info: RuleInfo{Name: "api", Kind: "rule", Deps: []string{"gen"}, Default: true}, def: "v1", srcs: []string{"api.go"}}
	e, _ := newTestEngine(t, map[string]string{"src/a.go": "a", "api.go": "api"}, gen, api)
	ctx := context.Background()

	keys, err := e.Keys(ctx, []string{"api"})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || e.State.Rule("api") != nil {
		t.Fatalf("keys %v; state of api %v (Keys must run nothing)", keys, e.State.Rule("api"))
	}
	if _, err := e.Run(ctx, []string{"api"}, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"gen", "api"} {
		if got := e.State.Rule(n).Key; got != keys[n] {
			t.Errorf("%s: Keys said %s, the run recorded %s", n, keys[n], got)
		}
	}

	if err := os.WriteFile(filepath.Join(e.Workspace.Root, "src/a.go"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := e.Keys(ctx, []string{"api"})
	if err != nil {
		t.Fatal(err)
	}
	if changed["gen"] == keys["gen"] || changed["api"] == keys["api"] {
		t.Errorf("a changed input of gen changes the keys of gen and api: %v, then %v", keys, changed)
	}
}
