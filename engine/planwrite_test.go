package engine

import (
	"strings"
	"testing"
)

// The JSON of a plan keeps PlanItem's field names, and leaves out the key.
func TestWritePlanJSON(t *testing.T) {
	var sb strings.Builder
	if err := WritePlanJSON(&sb, []PlanItem{{Rule: "gen", Kind: "task", Run: true, Reasons: []string{"a<b"}, Key: HashBytes([]byte("k"))}}); err != nil {
		t.Fatal(err)
	}
	want := "[\n  {\n    \"rule\": \"gen\",\n    \"kind\": \"task\",\n    \"run\": true,\n    \"reasons\": [\n      \"a\\u003cb\"\n    ]\n  }\n]\n"
	if sb.String() != want {
		t.Errorf("got\n%s\nwant\n%s", sb.String(), want)
	}
}

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
