package engine

import (
	"fmt"
	"strings"
	"testing"
)

// A rule reached twice shows its deps once; a doc follows the kind.
func TestGraphWriteTree(t *testing.T) {
	rs := rules("base", "left:base", "right:base", "top:left,right", "alone")
	rs[0].(*testRule).info.Doc = "the base"
	g, err := NewGraph(rs)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	g.WriteTree(&sb, g.Names())
	want := `top (rule)
├── left (rule)
│   └── base (rule) — the base
└── right (rule)
    └── base (rule) — the base
alone (rule)
`
	if sb.String() != want {
		t.Errorf("got\n%s\nwant\n%s", sb.String(), want)
	}
}

// A chain deeper than the tree's nesting continues in a tree of its own,
// and a rule reached twice shows its deps once.
func TestGraphWriteTreeDeepChain(t *testing.T) {
	var specs []string
	for i := range 11 {
		s := fmt.Sprintf("r%d", i)
		if i > 0 {
			s += fmt.Sprintf(":r%d", i-1)
		}
		specs = append(specs, s)
	}
	rs := rules(append(specs, "top:r10,r2")...)
	g, err := NewGraph(rs)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	g.WriteTree(&sb, g.Names())
	want := `top (rule)
├── r10 (rule)
│   └── r9 (rule)
│       └── r8 (rule)
│           └── r7 (rule)
│               └── r6 (rule)
│                   └── r5 (rule)
│                       └── r4 (rule)
│                           └── r3 (deps shown below)
└── r2 (rule)
    └── r1 (rule)
        └── r0 (rule)
r3 (rule)
└── r2 (deps shown above)
`
	if sb.String() != want {
		t.Errorf("got\n%s\nwant\n%s", sb.String(), want)
	}
}

func TestGraphWriteDOT(t *testing.T) {
	g, err := NewGraph(rules("base", "top:base", "alone"))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	g.WriteDOT(&sb, g.Names())
	want := "digraph ferry {\n  rankdir=LR;\n  node [shape=box];\n  \"base\" [label=\"base\\n(rule)\"];\n  \"top\" [label=\"top\\n(rule)\"];\n  \"alone\" [label=\"alone\\n(rule)\"];\n  \"top\" -> \"base\";\n}\n"
	if sb.String() != want {
		t.Errorf("got\n%s\nwant\n%s", sb.String(), want)
	}
}

// Write selects every rule, or the rules named and their deps, in the
// format asked for.
func TestGraphWrite(t *testing.T) {
	g, err := NewGraph(rules("base", "top:base", "alone"))
	if err != nil {
		t.Fatal(err)
	}
	var all, top, dot strings.Builder
	if err := g.Write(&all, nil, "text"); err != nil || all.String() != "top (rule)\n└── base (rule)\nalone (rule)\n" {
		t.Errorf("every rule as text: %v\n%s", err, all.String())
	}
	if err := g.Write(&top, []string{"top"}, "text"); err != nil || top.String() != "top (rule)\n└── base (rule)\n" {
		t.Errorf("top as text: %v\n%s", err, top.String())
	}
	if err := g.Write(&dot, []string{"alone"}, "dot"); err != nil || !strings.Contains(dot.String(), `"alone" [label=`) || strings.Contains(dot.String(), `"base"`) {
		t.Errorf("alone as dot: %v\n%s", err, dot.String())
	}
	if err := g.Write(&strings.Builder{}, nil, "svg"); err == nil || err.Error() != `unknown --format "svg": want text or dot` {
		t.Errorf("format svg: err = %v", err)
	}
	if err := g.Write(&strings.Builder{}, []string{"nope"}, "text"); err == nil {
		t.Error("an unknown rule was written")
	}
}

func TestGraphKind(t *testing.T) {
	g, err := NewGraph(rules("base"))
	if err != nil {
		t.Fatal(err)
	}
	if g.Kind("base") != "rule" || g.Kind("nothing") != "" {
		t.Errorf("Kind = %q, %q", g.Kind("base"), g.Kind("nothing"))
	}
}
