package image

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseDockerfileBases(t *testing.T) {
	t.Parallel()
	src := `# escape=\
ARG BASE=acme/base
ARG TAG
FROM ${BASE}:${TAG:-1} AS build
COPY --from=tools:2 /bin/x /x
RUN ["make"]

FROM build AS test
COPY --from=build /x /y
COPY --from=0 /x /z

FROM --platform=linux/amd64 \
    scratch AS final
COPY --from=test /y /y
LABEL a=b
FROM extra:1
`
	id := "sha256:" + strings.Repeat("ab", 32)
	df, err := parseDockerfile("api/Dockerfile", []byte(src), map[string]string{"TAG": "7"}, "final")
	if err != nil {
		t.Fatal(err)
	}
	byID, err := parseDockerfile("Dockerfile", []byte("FROM "+id+"\n"), nil, "")
	if err != nil || len(byID.bases) != 1 || byID.bases[0].ref != id || byID.bases[0].named != nil {
		t.Errorf("FROM an image ID: %v %+v", err, byID)
	}
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range df.bases {
		got = append(got, b.ref+"@"+strconv.Itoa(b.line))
	}
	if want := "acme/base:7@4 tools:2@5"; strings.Join(got, " ") != want {
		t.Errorf("bases = %v, want %s", got, want)
	}
	// Steps: 2 meta ARGs, then every instruction up to the target stage's
	// last; the stage after the target is not built.
	if want := []int{2, 3, 4, 5, 6, 8, 9, 10, 12, 14, 15}; !slices.Equal(df.steps, want) {
		t.Errorf("steps = %v, want %v", df.steps, want)
	}
	if df.stepLine(4) != 5 || df.stepLine(12) != 0 {
		t.Errorf("stepLine(4) = %d, stepLine(12) = %d", df.stepLine(4), df.stepLine(12))
	}

	// Rewriting keeps the other lines where they were.
	out := string(df.render(map[int]string{0: "acme/base:0123456789ab", 1: "tools:abc"}, map[string]string{"b": `x"$y\`, "a": "1"}))
	lines := strings.Split(out, "\n")
	if lines[3] != "FROM acme/base:0123456789ab AS build" || lines[4] != "COPY --from=tools:abc /bin/x /x" || lines[11] != "FROM --platform=linux/amd64 \\" {
		t.Errorf("rewritten:\n%s", out)
	}
	if lines[15] != `LABEL "a"="1" "b"="x\"\$y\\"` || lines[16] != "FROM extra:1" {
		t.Errorf("label not after the target stage:\n%s", out)
	}
	if len(lines) != len(strings.Split(src, "\n"))+1 {
		t.Errorf("rendering changed the line count")
	}
}

func TestParseDockerfileMultiLineFrom(t *testing.T) {
	t.Parallel()
	df, err := parseDockerfile("Dockerfile", []byte("FROM \\\n  acme/base \\\n  AS b\nCOPY x /x\n"), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	out := string(df.render(map[int]string{0: "acme/base:1"}, map[string]string{"k": "v"}))
	if out != "FROM acme/base:1 AS b\n\n\nCOPY x /x\nLABEL \"k\"=\"v\"\n" {
		t.Errorf("rewritten: %q", out)
	}
}

func TestParseDockerfileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src, target string
		want              []string
	}{
		{"unknown instruction", "FROM scratch\nFORM x\n", "", []string{"Dockerfile:2:", "unknown instruction: FORM", "fix the Dockerfile"}},
		{"bad from", "FROM scratch\nCOPY a b\nFROM a b c d\n", "", []string{"Dockerfile:3:", "FROM requires either one or three arguments"}},
		{"no from", "ARG X=1\n", "", []string{"no FROM instruction"}},
		{"instruction before from", "RUN x\nFROM scratch\n", "", []string{"Dockerfile:1:"}},
		{"bad reference", "FROM Acme/Base\n", "", []string{"Dockerfile:1:", `"Acme/Base" is not a valid image reference`}},
		{"copy from a variable", "ARG IMG=busybox\nFROM scratch\nCOPY --from=${IMG} /a /a\n", "", []string{"Dockerfile:3:", "COPY --from=${IMG}: no builder substitutes variables in --from", "FROM <image or ${ARG}> AS <name>"}},
		{"empty arg", "ARG B\nFROM $B\n", "", []string{"Dockerfile:2:", "names no image"}},
		{"unknown target", "FROM scratch AS a\nFROM scratch AS b\n", "c", []string{`target "c" is not a stage`, "a, b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseDockerfile("Dockerfile", []byte(tc.src), nil, tc.target)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
