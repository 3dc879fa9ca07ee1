package dockerfile

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

const multiStage = `ARG BASE=acme/base
ARG TAG=1
ARG UNSET
FROM ${BASE}:${TAG} AS build
FROM build AS test
FROM scratch
`

func TestParse(t *testing.T) {
	f, err := Parse([]byte(multiStage), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Stages) != 3 || len(f.MetaArgs) != 3 {
		t.Fatalf("got %d stages and %d meta ARGs, want 3 and 3", len(f.Stages), len(f.MetaArgs))
	}
	if got := Line(f.Stages[1].Location); got != 5 {
		t.Errorf("stage 1 is at line %d, want 5", got)
	}
	if f.Result == nil || f.Result.EscapeToken != '\\' {
		t.Errorf("syntax tree not kept: %+v", f.Result)
	}
}

func TestParseNoFrom(t *testing.T) {
	f, err := Parse([]byte("ARG X=1\n"), nil)
	if err != nil || len(f.Stages) != 0 || len(f.MetaArgs) != 1 {
		t.Errorf("got %+v, %v; want no stages, one meta ARG and no error", f, err)
	}
}

func TestCheckCopyFrom(t *testing.T) {
	f, err := Parse([]byte("FROM scratch AS build\n"+
		"COPY --from=build /a /a\nCOPY --from=0 /a /a\nCOPY --from=busybox:1 /a /a\nCOPY /a /a\n"+
		"COPY --from=${IMG} /a /a\nCOPY --from=$IMG /a /a\nCOPY --from=${IMG:-busybox} /a /a\nCOPY --from=acme/$IMG:1 /a /a\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	for _, cmd := range f.Stages[0].Commands {
		got = append(got, f.CheckCopyFrom(cmd.(*instructions.CopyCommand)) != nil)
	}
	if want := []bool{false, false, false, false, true, true, true, true}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"empty", "# just a comment\n", "file with no instructions"},
		{"unknown instruction", "FROM scratch\nFORM x\n", "unknown instruction: FORM"},
		{"bad from", "FROM scratch\nFROM a b c d\n", "FROM requires either one or three arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one with %q", err, tc.want)
			}
		})
	}
	// The error keeps the parser's location, for the caller to position.
	_, err := Parse([]byte("FROM scratch\nFORM x\n"), nil)
	var le *parser.LocationError
	if !errors.As(err, &le) || len(le.Locations) == 0 || Line(le.Locations[0]) != 2 {
		t.Errorf("error %v does not locate line 2", err)
	}
}

// TestInstructions parses in two steps, as a caller that looks at the
// syntax tree first does.
func TestInstructions(t *testing.T) {
	res, err := parser.Parse(bytes.NewReader([]byte("# escape=`\nFROM scratch\n")))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Instructions(res, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Result != res || len(f.Stages) != 1 || f.Result.EscapeToken != '`' {
		t.Errorf("got %+v", f)
	}
}

func TestBase(t *testing.T) {
	for _, tc := range []struct {
		name      string
		src       string
		buildArgs map[string]string
		want      []string // the base of each stage
	}{
		{"defaults", multiStage, nil, []string{"acme/base:1", "build", "scratch"}},
		{"build arg overrides", multiStage, map[string]string{"TAG": "7"}, []string{"acme/base:7", "build", "scratch"}},
		{"build arg for an ARG without default", "ARG B\nFROM $B\n", map[string]string{"B": "alpine"}, []string{"alpine"}},
		{"ARG without default", "ARG B\nFROM x$B\n", nil, []string{"x"}},
		{"default form", "FROM ${B:-debian}\n", nil, []string{"debian"}},
		{"build arg not declared", "FROM ${B:-debian}\n", map[string]string{"B": "alpine"}, []string{"debian"}},
		{"stage ARG not seen by FROM", "FROM scratch\nARG B=x\nFROM ${B:-y}\n", nil, []string{"scratch", "y"}},
		{"escape character", "# escape=`\nARG B=a\nFROM `$B$B\n", nil, []string{"$Ba"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.src), tc.buildArgs)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := range f.Stages {
				b, err := f.Base(i)
				if err != nil {
					t.Fatalf("stage %d: %v", i, err)
				}
				got = append(got, b)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("bases = %q, want %q", got, tc.want)
			}
		})
	}
	f, err := Parse([]byte("FROM ${B:?required}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Base(0); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("unset required ARG: got %v", err)
	}
}

func TestLast(t *testing.T) {
	f, err := Parse([]byte(multiStage), nil)
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]int{"": 2, "build": 0, "test": 1, "TEST": 1, "nope": -1} {
		i, ok := f.Last(target)
		if ok != (want >= 0) || ok && i != want {
			t.Errorf("Last(%q) = %d, %v; want %d", target, i, ok, want)
		}
	}
}

func TestStageIndex(t *testing.T) {
	f, err := Parse([]byte(multiStage), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cur  int
		want int
	}{
		{"build", 2, 0},
		{"test", 2, 1},
		{"test", 1, -1}, // not before stage 1
		{"0", 2, 0},
		{"1", 2, 1},
		{"2", 2, -1}, // the stage itself
		{"-1", 2, -1},
		{"alpine", 2, -1},
		{"build", 0, -1},
	} {
		if got := f.StageIndex(tc.name, tc.cur); got != tc.want {
			t.Errorf("StageIndex(%q, %d) = %d, want %d", tc.name, tc.cur, got, tc.want)
		}
	}
}

func TestLine(t *testing.T) {
	if got := Line(nil); got != 0 {
		t.Errorf("Line(nil) = %d, want 0", got)
	}
	loc := []parser.Range{{Start: parser.Position{Line: 3}, End: parser.Position{Line: 5}}, {Start: parser.Position{Line: 9}}}
	if got := Line(loc); got != 3 {
		t.Errorf("Line = %d, want 3", got)
	}
}
