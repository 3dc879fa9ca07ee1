package engine

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// watchableRule is a Watchable test rule: it concerns the paths of hits,
// and fails to tell when err is set.
type watchableRule struct {
	testRule
	roots []string
	hits  []string
	err   error
}

func (r *watchableRule) WatchRoots() []string { return r.roots }
func (r *watchableRule) Concerns(_ context.Context, paths []string) (bool, error) {
	return slices.ContainsFunc(paths, func(p string) bool { return slices.Contains(r.hits, p) }), r.err
}

func TestAffected(t *testing.T) {
	gen := &testRule{info: RuleInfo{Name: "gen", Default: true}, srcs: []string{"gen.txt"}}
	lib := &testRule{info: RuleInfo{Name: "lib", Deps: []string{"gen"}, Default: true}, srcs: []string{"lib"}}
	api := &testRule{info: RuleInfo{Name: "api", Deps: []string{"lib"}, Default: true}, srcs: []string{"api/main.go"}}
	img := &watchableRule{testRule: testRule{info: RuleInfo{Name: "img", Default: true}}, roots: []string{"ctx"}, hits: []string{"ctx/app.py"}}
	bad := &watchableRule{testRule: testRule{info: RuleInfo{Name: "bad"}}, err: errors.New("no .dockerignore")}
	other := &testRule{info: RuleInfo{Name: "other", Default: true}, srcs: []string{"other.txt"}}
	g, err := NewGraph([]Rule{gen, lib, api, img, bad, other})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name         string
		names, paths []string
		want         []string
	}{
		{"an input: the rule and its dependents", nil, []string{"gen.txt"}, []string{"gen", "lib", "api"}},
		{"a file below an input folder", nil, []string{"lib/x.go"}, []string{"lib", "api"}},
		{"a folder above an input", nil, []string{"api"}, []string{"api"}},
		{"a sibling with a common prefix is no input", nil, []string{"libx/y.go", "api/main.go.orig"}, nil},
		{"a Watchable rule decides", nil, []string{"ctx/app.py", "ctx/ignored.log"}, []string{"img"}},
		{"only the selection", []string{"lib"}, []string{"gen.txt", "api/main.go", "other.txt"}, []string{"gen", "lib"}},
		{"an error in Concerns counts as a hit", []string{"bad"}, []string{"anything"}, []string{"bad"}},
		{"nothing concerned", nil, []string{"README.md"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := g.Affected(ctx, tt.names, tt.paths)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Affected(%q, %q) = %q, want %q", tt.names, tt.paths, got, tt.want)
			}
		})
	}
	if _, err := g.Affected(ctx, []string{"nope"}, nil); err == nil {
		t.Error("Affected of an unknown rule: no error")
	}
}

func TestWatchRoots(t *testing.T) {
	a := &testRule{info: RuleInfo{Name: "a"}, srcs: []string{"a.txt", "src"}}
	img := &watchableRule{testRule: testRule{info: RuleInfo{Name: "img"}, srcs: []string{"walked/only/when/keyed"}}, roots: []string{"ctx"}}
	g, err := NewGraph([]Rule{a, img})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.WatchRoots(context.Background(), []string{"a", "img", "gone"}), []string{"a.txt", "src", "ctx"}; !slices.Equal(got, want) {
		t.Errorf("WatchRoots = %q, want %q", got, want)
	}
}
