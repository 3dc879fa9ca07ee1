package engine

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestProfilesSelect(t *testing.T) {
	rs := rules("build", "debug-tools:build", "trace", "svc-debug")
	rs[1].(*testRule).info.Profiles = []string{"debug"}
	rs[2].(*testRule).info.Profiles = []string{"debug", "perf"}
	rs[3].(*testRule).info.Profiles = []string{"debug"} // not a default rule
	tests := []struct {
		profiles []string
		names    []string
		want     string
	}{
		{nil, nil, "build"},
		{[]string{"debug"}, nil, "build,debug-tools,trace"},
		{[]string{"perf"}, nil, "build,trace"},
		{nil, []string{"debug-tools"}, "build,debug-tools"}, // named: runs anyway
	}
	for _, tt := range tests {
		g, err := NewGraph(rs)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.EnableProfiles(tt.profiles); err != nil {
			t.Fatal(err)
		}
		got, err := g.Select(tt.names)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("profiles %v: Select(%v) = %v, want %s", tt.profiles, tt.names, got, tt.want)
		}
	}
}

func TestEnableProfilesUnknown(t *testing.T) {
	rs := rules("build", "tools")
	rs[1].(*testRule).info.Profiles = []string{"debug", "perf"}
	g, err := NewGraph(rs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ profile, want string }{
		{"debgu", `--profile debgu: no rule has this profile (did you mean "debug"?)`},
		{"zzzzzzz", "the profiles in use are debug, perf"},
	} {
		if err := g.EnableProfiles([]string{tt.profile}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("EnableProfiles(%s) = %v, want %q", tt.profile, err, tt.want)
		}
	}
}

func TestParseProfiles(t *testing.T) {
	if got := ParseProfiles(" debug, perf tools,,"); !slices.Equal(got, []string{"debug", "perf", "tools"}) {
		t.Errorf("ParseProfiles = %q", got)
	}
}

// ForceRules reruns the named rule although it is up to date, and not its
// up-to-date deps.
func TestForceRules(t *testing.T) {
	gen := &testRule{info: RuleInfo{Name: "gen", Kind: "rule", Default: true}, def: "v1"}
	seed := &testRule{info: RuleInfo{Name: "seed", Kind: "rule", Deps: []string{"gen"}, Default: true}, def: "v1"}
	e, events := newTestEngine(t, nil, gen, seed)
	ctx := context.Background()
	if _, err := e.Run(ctx, []string{"seed"}, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	sum, err := e.Run(ctx, []string{"seed"}, RunOptions{ForceRules: []string{"seed"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum.Ran, []string{"seed"}) || !slices.Equal(sum.Cached, []string{"gen"}) {
		t.Errorf("ran %v, cached %v; want seed ran, gen up to date", sum.Ran, sum.Cached)
	}
	last := ""
	for _, ev := range *events {
		if ev.Kind == EventRuleStart && ev.Rule == "seed" {
			last = ev.Reason
		}
	}
	if last != "triggered" {
		t.Errorf("seed started for %q, want \"triggered\"", last)
	}
}
