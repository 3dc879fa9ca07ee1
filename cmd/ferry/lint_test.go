package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A Slack token put together at run time, so that this file trips no
// secret scanner.
var lintSlackToken = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"

func lintWorkspace(t *testing.T) *testWorkspace {
	return newWorkspace(t, map[string]string{
		"ferry.star": `image(name = "app-image", repo = "acme/app", context = "app")
service(name = "db", image = "postgres:16", ports = ["0.0.0.0:5432:5432"], user = "999")
service(name = "app", image = "app-image", health = health.tcp(8080))
`,
		"app/Dockerfile": "FROM scratch\nCOPY app /app\nUSER 65534:65534\n",
		"app/app":        "binary\n",
	})
}

func TestLintExitCodes(t *testing.T) {
	t.Parallel()
	ws := lintWorkspace(t)
	// Warnings only: exit 0, with the position, rule and fix.
	r := ws.ferry(t, "lint")
	if r.code != 0 || !strings.Contains(r.stdout, "ferry.star:2:8: warning FERRY-SV003: service \"db\": publishes PostgreSQL port 5432") ||
		!strings.Contains(r.stdout, "fix: publish it on loopback only") || !strings.Contains(r.stdout, "0 errors, 1 warnings, 0 info") {
		t.Fatalf("want exit 0 and the SV003 warning:\n%s", r)
	}

	// An error: exit 1, and the secret never printed whole.
	ws.write(t, "app/.env", "SLACK="+lintSlackToken+"\n")
	r = ws.ferry(t, "lint")
	if r.code != 1 || !strings.Contains(r.stdout, "app/.env:1:7: error FERRY-SEC005: Slack token: xoxb") || strings.Contains(r.stdout+r.stderr, lintSlackToken) {
		t.Fatalf("want exit 1 and the masked Slack token:\n%s", r)
	}
	if !strings.Contains(r.stderr, "error findings above") {
		t.Errorf("stderr does not say why ferry lint failed:\n%s", r.stderr)
	}

	// Ignored by id: exit 0 again.
	r = ws.ferry(t, "lint", "--ignore", "FERRY-SEC005", "--ignore", "FERRY-SV003")
	if r.code != 0 || strings.Contains(r.stdout, "FERRY-SEC005") || strings.Contains(r.stdout, "FERRY-SV003") {
		t.Fatalf("want exit 0 with SEC005 and SV003 ignored:\n%s", r)
	}

	// Ignored by lint_settings() in ferry.star, and by a comment.
	star := ws.read(t, "ferry.star")
	ws.write(t, "ferry.star", "lint_settings(ignore = [\"FERRY-SV003\"])\n"+star)
	ws.write(t, "app/.env", "# ferry:ignore FERRY-SEC005\nSLACK="+lintSlackToken+"\n")
	r = ws.ferry(t, "lint")
	if r.code != 0 || strings.Contains(r.stdout, "FERRY-SV003") || strings.Contains(r.stdout, "FERRY-SEC005") {
		t.Fatalf("want exit 0 with SV003 and SEC005 ignored:\n%s", r)
	}
	ws.write(t, "ferry.star", star)
	ws.write(t, "app/.env", "SLACK="+lintSlackToken+"\n")

	// An unknown id is a usage error, with a suggestion.
	r = ws.ferry(t, "lint", "--ignore", "FERRY-SEC05")
	if r.code != 2 || !strings.Contains(r.stderr, "did you mean FERRY-SEC005?") {
		t.Fatalf("want exit 2 and a suggestion:\n%s", r)
	}

	// `ferry plan --check` shows the findings and does not fail.
	r = ws.ferry(t, "plan", "--check")
	if r.code != 0 || !strings.Contains(r.stdout, "app/.env:1:7: error FERRY-SEC005") || !strings.Contains(r.stdout, "security checks: 1 errors, 1 warnings") {
		t.Fatalf("want plan --check to show the findings and exit 0:\n%s", r)
	}
	// A plain plan reads no file to check it: it says how to run the checks.
	r = ws.ferry(t, "plan")
	if r.code != 0 || strings.Contains(r.stdout, "FERRY-SEC005") || !strings.Contains(r.stdout, "security checks not run: `ferry plan --check` or `ferry lint` runs them") {
		t.Fatalf("want plan without --check to skip the checks and say so:\n%s", r)
	}
}

// TestLintSecretFileInContext: a secret's file that an image's context
// sends is an error finding at the secret() call, until .dockerignore
// leaves it out; the value is never read.
func TestLintSecretFileInContext(t *testing.T) {
	t.Parallel()
	ws := lintWorkspace(t)
	star := ws.read(t, "ferry.star")
	ws.write(t, "ferry.star", "tok = secret(\"tok\", file = \"app/api.token\")\n"+star)
	ws.write(t, "app/api.token", "lint-never-reads-this\n")
	r := ws.ferry(t, "lint", "--no-history", "--ignore", "FERRY-SV003")
	if r.code != 1 || !strings.Contains(r.stdout, `ferry.star:1:13: error FERRY-IMG001: secret "tok" is read from app/api.token, which the build context of image "app-image" sends`) ||
		!strings.Contains(r.stdout, "fix: move the file out of the build context, or add it to the context's .dockerignore") {
		t.Fatalf("want exit 1 and the IMG001 error:\n%s", r)
	}
	ws.write(t, "app/.dockerignore", "api.token\n")
	r = ws.ferry(t, "lint", "--no-history", "--ignore", "FERRY-SV003")
	if r.code != 0 || strings.Contains(r.stdout, "FERRY-IMG001") {
		t.Fatalf("want exit 0 once .dockerignore leaves the file out:\n%s", r)
	}
}

func TestLintJSONAndHistory(t *testing.T) {
	t.Parallel()
	ws := lintWorkspace(t)
	ws.write(t, "app/.env", "SLACK="+lintSlackToken+"\n")
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-q", "-m", "config"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = ws.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.Remove(filepath.Join(ws.dir, "app/.env")); err != nil {
		t.Fatal(err)
	}
	r := ws.ferry(t, "lint", "--json", "--sarif", "lint.sarif")
	var rep struct {
		Findings []struct {
			Rule, Severity, File, Commit, Message, Fix string
			Line, Col                                  int
		}
		Notes []string
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, r)
	}
	if r.code != 1 || len(rep.Findings) != 2 {
		t.Fatalf("want exit 1 and two findings:\n%s", r)
	}
	f := rep.Findings[0] // errors first
	if f.Rule != "FERRY-SEC005" || f.Severity != "error" || f.File != "app/.env" || f.Line != 1 || len(f.Commit) != 40 || f.Fix == "" ||
		strings.Contains(r.stdout, lintSlackToken) {
		t.Errorf("history finding: %+v", f)
	}
	// In SARIF: the commit, and the file but no region.
	var h *sarifResult
	for _, res := range readSARIF(t, ws.path("lint.sarif")).Runs[0].Results {
		if res.RuleID == "FERRY-SEC005" {
			h = &res
		}
	}
	if h == nil || h.Level != "error" || h.Properties["commit"] != f.Commit || !strings.Contains(h.Message.Text, f.Commit) ||
		len(h.Locations) != 1 || h.Locations[0].PhysicalLocation.ArtifactLocation.URI != "app/.env" || h.Locations[0].PhysicalLocation.Region != nil {
		t.Errorf("the history finding in SARIF: %+v", h)
	}
	r = ws.ferry(t, "lint", "--no-history", "--json", "--ignore", "FERRY-SV003")
	if r.code != 0 || !strings.Contains(r.stdout, `"findings": []`) {
		t.Errorf("--no-history: want exit 0 and no findings (the token is only in history):\n%s", r)
	}
}

// TestExamplesLint checks that the bundled examples pass ferry lint, and
// that their images run as non-root.
func TestExamplesLint(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("../../examples/*/ferry.star")
	if err != nil || len(dirs) == 0 {
		t.Fatal("no examples", err)
	}
	for _, star := range dirs {
		r := startFerry(t, filepath.Dir(star), "lint", "--no-history").wait(t)
		if r.code != 0 || strings.Contains(r.stdout, "FERRY-DF001") || strings.Contains(r.stdout, ": warning ") {
			t.Errorf("%s: want no errors or warnings:\n%s", filepath.Dir(star), r)
		}
	}
}

// sarifLog is what the tests read of a SARIF report.
type sarifLog struct {
	Schema  string `json:"$schema"`
	Version string
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name, Version string
				Rules         []struct{ ID string }
			}
		}
		Results []sarifResult
	}
}

type sarifResult struct {
	RuleID    string
	RuleIndex int
	Level     string
	Message   struct{ Text string }
	Locations []struct {
		PhysicalLocation struct {
			ArtifactLocation struct{ URI, URIBaseID string }
			Region           *struct{ StartLine, StartColumn int }
		}
	}
	Properties map[string]string
}

// readSARIF parses the SARIF report at path and checks what the SARIF
// 2.1.0 schema requires of it: the version and schema, one run of a named
// tool, and a message and a known rule for each result.
func readSARIF(t *testing.T, path string) *sarifLog {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no SARIF report: %v", err)
	}
	var log sarifLog
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatalf("the SARIF report does not parse: %v\n%s", err, b)
	}
	if log.Version != "2.1.0" || log.Schema != "https://json.schemastore.org/sarif-2.1.0.json" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "ferry" || log.Runs[0].Tool.Driver.Version == "" {
		t.Fatalf("not a SARIF 2.1.0 report of one ferry run:\n%s", b)
	}
	if !strings.Contains(string(b), `"results": [`) {
		t.Errorf("no results array:\n%s", b)
	}
	rules := log.Runs[0].Tool.Driver.Rules
	for _, r := range log.Runs[0].Results {
		if r.Message.Text == "" || r.RuleIndex >= len(rules) || rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result without a message, or with a wrong ruleIndex: %+v", r)
		}
	}
	return &log
}

// lintErrorResults are the SARIF results of the findings in lintErrorFiles.
var lintErrorResults = []sarifFinding{
	{"FERRY-DF004", "error", "app/Dockerfile", 2, 0},
	{"FERRY-SV003", "warning", "ferry.star", 3, 8},
	{"FERRY-DF005", "note", "app/Dockerfile", 1, 0},
}

// sarifFinding is a result of a SARIF report, flattened to compare.
type sarifFinding struct {
	rule, level, uri string
	line, col        int
}

func sarifFindings(t *testing.T, log *sarifLog) []sarifFinding {
	t.Helper()
	var got []sarifFinding
	for _, r := range log.Runs[0].Results {
		if len(r.Locations) != 1 || r.Locations[0].PhysicalLocation.ArtifactLocation.URIBaseID != "%SRCROOT%" {
			t.Fatalf("want one location under %%SRCROOT%%: %+v", r)
		}
		loc := r.Locations[0].PhysicalLocation
		f := sarifFinding{rule: r.RuleID, level: r.Level, uri: loc.ArtifactLocation.URI}
		if loc.Region != nil {
			f.line, f.col = loc.Region.StartLine, loc.Region.StartColumn
		}
		got = append(got, f)
	}
	return got
}

// TestLintSARIF checks that --sarif writes the findings of a Dockerfile
// and of a service as SARIF, besides the usual output, to a path that
// follows -C DIR.
func TestLintSARIF(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, lintErrorFiles)
	parent, dir := filepath.Split(ws.dir)
	r := startFerry(t, parent, "-C", dir, "lint", "--no-history", "--sarif", "lint.sarif").wait(t)
	r.wantCode(t, 1)
	if !strings.Contains(r.stdout, "app/Dockerfile:2: error FERRY-DF004") || !strings.Contains(r.stdout, "1 errors, 1 warnings, 1 info") {
		t.Errorf("--sarif changed the usual output:\n%s", r)
	}
	got := sarifFindings(t, readSARIF(t, ws.path("lint.sarif")))
	if want := lintErrorResults; !slices.Equal(got, want) {
		t.Errorf("SARIF results:\n%+v\nwant\n%+v", got, want)
	}

	// A path that cannot be written is a usage error.
	r = ws.ferry(t, "lint", "--no-history", "--sarif", "no/such/folder/lint.sarif")
	r.wantCode(t, 2)
	r.wantStderr(t, "--sarif: open no/such/folder/lint.sarif: no such file or directory")
}
