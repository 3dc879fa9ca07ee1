package engine

import (
	"strings"
	"testing"
)

func TestWritePlan(t *testing.T) {
	var sb strings.Builder
	WritePlan(&sb, []PlanItem{
		{Rule: "gen", Run: true, Reasons: []string{"never ran", "gen.txt changed"}},
		{Rule: "lib"},
		{Rule: "api", Err: "no such file"},
	})
	want := `would run   gen  never ran; gen.txt changed
up to date  lib  
error       api  no such file
1 of 3 rules would run; 1 would fail
`
	if sb.String() != want {
		t.Errorf("got\n%q\nwant\n%q", sb.String(), want)
	}
}
