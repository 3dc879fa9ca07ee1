package engine

import (
	"strings"
	"testing"
)

func rules(specs ...string) []Rule {
	var out []Rule
	for _, s := range specs {
		name, deps, _ := strings.Cut(s, ":")
		r := &testRule{info: RuleInfo{Name: name, Kind: "rule", Default: !strings.HasPrefix(name, "svc")}}
		if deps != "" {
			r.info.Deps = strings.Split(deps, ",")
		}
		out = append(out, r)
	}
	return out
}

func TestGraphErrors(t *testing.T) {
	tests := []struct {
		rules []string
		want  string
	}{
		{[]string{"a:bulid", "build"}, `rule "a": unknown dep "bulid" (did you mean "build"?)`},
		{[]string{"a:zzzzzz", "build"}, "`ferry graph` lists the rules"},
		{[]string{"a:b", "b:c", "c:a"}, "dependency cycle: a → b → c → a"},
		{[]string{"a:a"}, "dependency cycle: a → a"},
		{[]string{"x", "a:b", "b:c", "c:b"}, "dependency cycle: b → c → b"},
	}
	for _, tt := range tests {
		_, err := NewGraph(rules(tt.rules...))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewGraph(%v) = %v, want %q", tt.rules, err, tt.want)
		}
	}
}

func TestGraphSelect(t *testing.T) {
	g, err := NewGraph(rules("gen", "lib:gen", "api:lib,gen", "web:lib", "svc1:api", "other"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		names []string
		want  string
	}{
		{[]string{"api"}, "gen,lib,api"},
		{[]string{"web", "api"}, "gen,lib,web,api"},
		{nil, "gen,lib,api,web,other"}, // default rules only: not svc1
		{[]string{"svc1"}, "gen,lib,api,svc1"},
	}
	for _, tt := range tests {
		got, err := g.Select(tt.names)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("Select(%v) = %v, want %s", tt.names, got, tt.want)
		}
	}
	if _, err := g.Select([]string{"apii"}); err == nil || !strings.Contains(err.Error(), `did you mean "api"`) {
		t.Errorf("Select(apii) = %v", err)
	}
}

func TestSuggest(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"srcz", "srcs"}, {"timeot", "timeout"}, {"xyz", ""}, {"dep", "deps"},
	} {
		if got := Suggest(tt.in, []string{"srcs", "outs", "deps", "timeout"}); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// linkedRule depends on whatever rule its target names, if there is one.
type linkedRule struct {
	testRule
	target string
}

func (r *linkedRule) Link(lookup func(string) Rule) error {
	if lookup(r.target) != nil {
		r.info.Deps = append(r.info.Deps, r.target)
	}
	return nil
}

func TestLinker(t *testing.T) {
	svc := &linkedRule{testRule: testRule{info: RuleInfo{Name: "svc", Kind: "service"}}, target: "img"}
	ext := &linkedRule{testRule: testRule{info: RuleInfo{Name: "ext", Kind: "service"}}, target: "nginx:1.25"}
	img := &testRule{info: RuleInfo{Name: "img", Kind: "image"}}
	g, err := NewGraph([]Rule{svc, ext, img})
	if err != nil {
		t.Fatal(err)
	}
	if sel, _ := g.Select([]string{"svc"}); strings.Join(sel, ",") != "img,svc" {
		t.Errorf("svc selects %v, want img,svc", sel)
	}
	if sel, _ := g.Select([]string{"ext"}); strings.Join(sel, ",") != "ext" {
		t.Errorf("ext selects %v, want ext alone", sel)
	}
}
