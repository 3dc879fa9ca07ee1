package main

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/cireport"
)

// ciStar declares four tasks, one of which fails, and a pipeline of three
// stages: [a, bad], [c], [d].
const ciStar = `task(name = "a", cmd = "echo a-ran")
task(name = "bad", cmd = "echo first; echo second >&2; exit 3")
task(name = "c", cmd = "echo c-ran", deps = ["a"])
task(name = "d", cmd = "echo d-ran")
pipeline("ci", stages = [["a", "bad"], ["c"], ["d"]])
`

// readJUnit parses the JUnit report at path.
func readJUnit(t *testing.T, path string) *cireport.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no JUnit report: %v", err)
	}
	var rep cireport.Report
	if err := xml.Unmarshal(b, &rep); err != nil {
		t.Fatalf("the JUnit report does not parse: %v\n%s", err, b)
	}
	return &rep
}

// suite returns the test suite named name.
func suite(t *testing.T, rep *cireport.Report, name string) cireport.Suite {
	t.Helper()
	for _, s := range rep.Suites {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no test suite %q in %+v", name, rep.Suites)
	return cireport.Suite{}
}

// testcase returns the case named name of s.
func testcase(t *testing.T, s cireport.Suite, name string) cireport.Case {
	t.Helper()
	for _, c := range s.Cases {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no test case %q in suite %q: %+v", name, s.Name, s.Cases)
	return cireport.Case{}
}

func property(c cireport.Case, name string) string {
	if c.Properties == nil {
		return ""
	}
	for _, p := range c.Properties.List {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// TestCiStopsAfterAFailedStage checks the order of the stages, that a
// failed stage stops the later ones, which the report lists as skipped,
// and that --keep-going runs them anyway.
func TestCiStopsAfterAFailedStage(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": ciStar})
	r := ws.ferryJSON(t, "ci", "--junit", "report.xml")
	r.wantCode(t, 1)
	wantSet(t, "started", r.started(), []string{"a", "bad"}, r)
	r.wantStderr(t, "stage 1: a, bad", "pipeline ci failed: 3 stage(s): 0 passed, 1 failed, 2 skipped; rules: 1 ran, 0 cached, 1 failed, 2 skipped")

	rep := readJUnit(t, ws.path("report.xml"))
	if rep.Tests != 5 || rep.Failures != 1 || rep.Skipped != 2 {
		t.Errorf("report totals: %d tests, %d failures, %d skipped; want 5, 1, 2", rep.Tests, rep.Failures, rep.Skipped)
	}
	if names := []string{rep.Suites[0].Name, rep.Suites[1].Name, rep.Suites[2].Name, rep.Suites[3].Name}; !slices.Equal(names, []string{"security checks", "stage 1: a, bad", "stage 2: c", "stage 3: d"}) {
		t.Errorf("suites: %v", names)
	}
	bad := testcase(t, suite(t, rep, "stage 1: a, bad"), "bad")
	if bad.Failure == nil || bad.Failure.Message != "exit code 3" || !strings.Contains(bad.Failure.Text, "first") || !strings.Contains(bad.Failure.Text, "second") {
		t.Errorf("the failed rule's case: %+v", bad.Failure)
	}
	if a := testcase(t, suite(t, rep, "stage 1: a, bad"), "a"); a.Failure != nil || a.Skipped != nil || property(a, "outcome") != "ran" || property(a, "kind") != "task" {
		t.Errorf("a passed, but its case is %+v", a)
	}
	c := testcase(t, suite(t, rep, "stage 2: c"), "c")
	if c.Skipped == nil || !strings.Contains(c.Skipped.Message, "stage 1 failed") {
		t.Errorf("c is not skipped because stage 1 failed: %+v", c)
	}
	if sec := suite(t, rep, "security checks"); len(sec.Cases) != 1 || sec.Cases[0].Name != "no findings" || sec.Cases[0].Failure != nil {
		t.Errorf("clean security checks: %+v", sec.Cases)
	}

	// --keep-going: the later stages run, in order, and ci still fails.
	r = ws.ferryJSON(t, "ci", "--keep-going", "--junit", "report.xml")
	r.wantCode(t, 1)
	starts := r.started()
	if !slices.Equal(starts[len(starts)-2:], []string{"c", "d"}) || !slices.Contains(starts, "bad") {
		t.Fatalf("with --keep-going, want bad, then c, then d to start; started %v\n%s", starts, r)
	}
	// a is in stage 2 too, as c's dep, up to date there: reported once.
	r.wantStderr(t, "pipeline ci failed: 3 stage(s): 2 passed, 1 failed, 0 skipped; rules: 2 ran, 1 cached, 1 failed, 0 skipped")
	rep = readJUnit(t, ws.path("report.xml"))
	// a ran in the first run: it is cached now, a passing case that says so.
	a := testcase(t, suite(t, rep, "stage 1: a, bad"), "a")
	if a.Failure != nil || a.Skipped != nil || property(a, "outcome") != "cached" || !strings.Contains(a.SystemOut, "cached") {
		t.Errorf("a cached: %+v", a)
	}
	if s := suite(t, rep, "stage 2: c"); len(s.Cases) != 1 || s.Cases[0].Name != "c" || s.Cases[0].Skipped != nil || s.Cases[0].Failure != nil {
		t.Errorf("with --keep-going c ran, and its dep a is reported in stage 1 only: %+v", s.Cases)
	}
}

// TestCiPipelineErrors checks that a wrong pipeline() stops every command
// with its position, and that ferry ci says which pipeline to name.
func TestCiPipelineErrors(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": ciStar})
	for _, tc := range []struct{ pipelines, want string }{
		{`pipeline("ci", stages = [["a", "dd"]])`, `ferry.star:5:9: pipeline "ci": stage 1 names no rule "dd" (did you mean "d"?)`},
		{`task(name = "dev", cmd = "sleep 100", serve = True)
pipeline("ci", stages = [["a"], ["dev"]])`, `ferry.star:6:9: pipeline "ci": stage 2 names "dev", a serve task (declared at `},
		{`pipeline("ci", stages = [["a"]])
pipeline("ci", stages = [["d"]])`, `ferry.star:6:9: pipeline "ci" is declared twice: it is already declared at `},
		{`pipeline("ci", stages = [["a"], []])`, `ferry.star:5:9: pipeline "ci": stage 2 is empty; name the rules it runs, or remove it`},
	} {
		star := strings.Replace(ciStar, `pipeline("ci", stages = [["a", "bad"], ["c"], ["d"]])`+"\n", tc.pipelines+"\n", 1)
		ws.write(t, "ferry.star", star)
		for _, cmd := range []string{"ci", "run"} {
			r := ws.ferry(t, cmd)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("ferry %s with %s:\nwant exit 2 and %q\n%s", cmd, tc.pipelines, tc.want, r)
			}
		}
	}

	// A manual rule is fine in a pipeline, and runs.
	ws.write(t, "ferry.star", `task(name = "deploy", cmd = "echo deploying", trigger = "manual")
pipeline("release", stages = [["deploy"]])
pipeline("ci", stages = [["deploy"]])
`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ci"}, "ferry.star declares 2 pipelines; name the one to run, as in `ferry ci release`: release (ferry.star:2:9), ci (ferry.star:3:9)"},
		{[]string{"ci", "relaese"}, `ferry.star declares no pipeline "relaese" (did you mean "release"?); the pipelines are release (ferry.star:2:9), ci (ferry.star:3:9)`},
		{[]string{"ci", "release", "ci"}, "ferry ci runs one pipeline, got 2 names (release ci); config flags go after --"},
		{[]string{"ci", "deploy"}, "\"deploy\" is a task, not a pipeline: ferry ci runs a pipeline(), `ferry run deploy` runs one rule"},
	} {
		r := ws.ferry(t, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("ferry %s: want exit 2 and %q\n%s", strings.Join(tc.args, " "), tc.want, r)
		}
	}
	r := ws.ferryJSON(t, "ci", "release")
	r.wantCode(t, 0)
	wantSet(t, "started", r.started(), []string{"deploy"}, r)

	// No pipeline: a name is an error; no name runs the build rules.
	ws.write(t, "ferry.star", `task(name = "build", cmd = "echo building")
task(name = "deploy", cmd = "echo deploying", trigger = "manual")
service(name = "web", image = "nginx")
`)
	r = ws.ferry(t, "ci", "ci")
	if r.code != 2 || !strings.Contains(r.stderr, `ferry.star declares no pipeline "ci"; declare it, as in pipeline("ci", stages = [["test"]]), or run `+"`ferry ci`"+` with no name`) {
		t.Errorf("ferry ci ci with no pipeline declared:\n%s", r)
	}
	os.RemoveAll(ws.path(".ferry"))
	r = ws.ferryJSON(t, "ci")
	r.wantCode(t, 0)
	wantSet(t, "started by the default pipeline", r.started(), []string{"build", "deploy"}, r)
	r.wantStderr(t, "stage 1: build, deploy", "pipeline default passed: 1 stage(s): 1 passed, 0 failed, 0 skipped")
}

// lintErrorFiles make an image whose Dockerfile bakes a password in (an
// error finding, FERRY-DF004) and a service publishing PostgreSQL's port
// (a warning, FERRY-SV003).
var lintErrorFiles = map[string]string{
	"ferry.star": `task(name = "test", cmd = "echo testing")
image(name = "app-image", repo = "acme/app", context = "app")
service(name = "db", image = "postgres:16", ports = ["0.0.0.0:5432:5432"], user = "999")
pipeline("ci", stages = [["test"]])
`,
	"app/Dockerfile": "FROM scratch\nENV DB_PASSWORD=hunter2hunter2\nUSER 65534:65534\n",
}

// TestCiLintErrorFailsBeforeRules checks that an error finding fails ferry
// ci before any rule runs, as a failing case of the report and a GitHub
// annotation, and that --no-lint skips the checks.
func TestCiLintErrorFailsBeforeRules(t *testing.T) {
	ws := newWorkspace(t, lintErrorFiles)
	t.Setenv("GITHUB_ACTIONS", "true")
	r := ws.ferryJSON(t, "ci", "--junit", "report.xml")
	r.wantCode(t, 1)
	wantSet(t, "started", r.started(), nil, r)
	if !strings.Contains(r.stdout, "app/Dockerfile:2: error FERRY-DF004: ENV DB_PASSWORD bakes a secret-looking value into the image") ||
		!strings.Contains(r.stdout, "ferry.star:3:8: warning FERRY-SV003") || !strings.Contains(r.stdout, "1 errors, 1 warnings") {
		t.Errorf("the findings are not printed as ferry lint prints them:\n%s", r)
	}
	r.wantStderr(t, "the security checks found errors (above), so no stage ran",
		"::group::security checks",
		"::error file=app/Dockerfile,line=2,title=FERRY-DF004::ENV DB_PASSWORD bakes a secret-looking value into the image; fix: pass secrets at run time",
		"::warning file=ferry.star,line=3,col=8,title=FERRY-SV003::service \"db\"")
	rep := readJUnit(t, ws.path("report.xml"))
	sec := suite(t, rep, "security checks")
	df := testcase(t, sec, "FERRY-DF004 app/Dockerfile:2")
	if df.Failure == nil || df.Failure.Type != "FERRY-DF004" || df.File != "app/Dockerfile" || df.Line != 2 || !strings.HasPrefix(df.Failure.Text, "fix: ") {
		t.Errorf("the error finding's case: %+v", df)
	}
	if sv := testcase(t, sec, "FERRY-SV003 ferry.star:3:8"); sv.Failure != nil || property(sv, "severity") != "warning" {
		t.Errorf("a warning is a passing case: %+v", sv)
	}
	if test := testcase(t, suite(t, rep, "stage 1: test"), "test"); test.Skipped == nil || !strings.Contains(test.Skipped.Message, "the security checks failed") {
		t.Errorf("the stage is not skipped: %+v", test)
	}

	// The same ignores as ferry lint.
	r = ws.ferryJSON(t, "ci", "--ignore", "FERRY-DF004")
	r.wantCode(t, 0)
	wantSet(t, "started with DF004 ignored", r.started(), []string{"test"}, r)

	os.RemoveAll(ws.path(".ferry"))
	r = ws.ferryJSON(t, "ci", "--no-lint", "--junit", "report.xml")
	r.wantCode(t, 0)
	wantSet(t, "started with --no-lint", r.started(), []string{"test"}, r)
	r.wantStderr(t, "--no-lint: the security checks are skipped")
	if strings.Contains(r.stdout, "FERRY-DF004") {
		t.Errorf("--no-lint printed findings:\n%s", r)
	}
	if sec := suite(t, readJUnit(t, ws.path("report.xml")), "security checks"); len(sec.Cases) != 1 || sec.Cases[0].Skipped == nil {
		t.Errorf("with --no-lint the security checks are one skipped case: %+v", sec.Cases)
	}
}

// TestCiGitHubActions checks the groups around the stages and the
// annotation of a failed rule, with its message escaped.
func TestCiGitHubActions(t *testing.T) {
	ws := newWorkspace(t, map[string]string{"ferry.star": `task(name = "a", cmd = "echo a-ran")
task(name = "bad", cmd = ["/bin/sh", "-c", "exit 3"], timeout = "10s")
task(name = "d", cmd = "echo d-ran")
pipeline("ci", stages = [["a"], ["bad", "d"]])
`})
	t.Setenv("GITHUB_ACTIONS", "true")
	r := ws.ferry(t, "ci")
	r.wantCode(t, 1)
	lines := strings.Split(r.stderr, "\n")
	var commands []string
	for _, l := range lines {
		if strings.HasPrefix(l, "::") {
			commands = append(commands, l)
		}
	}
	want := []string{"::group::security checks", "::endgroup::", "::group::stage 1: a", "::endgroup::", "::group::stage 2: bad, d", "::error title=rule bad::exit code 3", "::endgroup::"}
	if !slices.Equal(commands, want) {
		t.Errorf("workflow commands:\n%s\nwant\n%s\n%s", strings.Join(commands, "\n"), strings.Join(want, "\n"), r)
	}
	t.Setenv("GITHUB_ACTIONS", "")
	if r := ws.ferry(t, "ci"); strings.Contains(r.stderr, "::group::") {
		t.Errorf("workflow commands outside GitHub Actions:\n%s", r)
	}
}

// TestCiReportHidesSecrets checks that a secret a task prints reaches
// neither the JUnit report nor the logs.
func TestCiReportHidesSecrets(t *testing.T) {
	const value = "ci-secret-Zq8vW3xK9pL2"
	t.Setenv("FERRY_TEST_CI_SECRET", value)
	ws := newWorkspace(t, map[string]string{"ferry.star": `tok = secret("tok", env = "FERRY_TEST_CI_SECRET")
task(name = "leaky", cmd = "echo the token is $TOKEN; echo $TOKEN >&2; exit 1", secrets = {"TOKEN": tok})
pipeline("ci", stages = [["leaky"]])
`})
	r := ws.ferry(t, "ci", "--junit", "report.xml")
	r.wantCode(t, 1)
	b, err := os.ReadFile(ws.path("report.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), value) || strings.Contains(r.stdout+r.stderr, value) {
		t.Fatalf("the secret leaked:\n%s\n%s", b, r)
	}
	leaky := testcase(t, suite(t, readJUnit(t, ws.path("report.xml")), "stage 1: leaky"), "leaky")
	if leaky.Failure == nil || !strings.Contains(leaky.Failure.Text, "the token is [redacted tok]") {
		t.Errorf("the failure does not show the redacted output: %+v", leaky.Failure)
	}
}

// TestCiDeploysAndWaits checks that a stage's service is deployed as ferry
// up --wait deploys it: the next stage starts only once it is healthy, and
// one that never is fails the stage.
func TestCiDeploysAndWaits(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "web", image = "app-image", env = {"SLEEP": "1"}, health = health.http("/", port = 8080, interval = "200ms", start_period = "10s"))
task(name = "check", cmd = "echo checked")
pipeline("ci", stages = [["app-image"], ["web"], ["check"]])
`)
	r := dw.run(t, "ci", "--junit", "report.xml")
	r.wantCode(t, 0)
	healthy := strings.Index(r.stderr, "web is healthy after")
	checked := strings.Index(r.stderr, `"rule":"check","reason"`)
	if healthy < 0 || checked < healthy {
		t.Fatalf("want check to start once web is healthy\n%s", r)
	}
	if got := httpGet(t, "http://"+containerIP(t, dw.project+"-web-1")+":8080/"); got != "hello \n" {
		t.Errorf("web answered %q", got)
	}
	web := testcase(t, suite(t, readJUnit(t, dw.path("report.xml")), "stage 2: web"), "web")
	if web.Failure != nil || property(web, "kind") != "service" || property(web, "outcome") != "ran" {
		t.Errorf("web's case: %+v", web)
	}

	// A service that never becomes healthy fails its stage.
	dw.setRules(t, `service(name = "web", image = "app-image", health = health.http("/healthz", port = 9090, interval = "200ms", retries = 2))
task(name = "check", cmd = "echo checked")
pipeline("ci", stages = [["app-image"], ["web"], ["check"]])
`)
	r = dw.run(t, "--events", "events.jsonl", "ci", "--wait-timeout", "5s", "--junit", "report.xml")
	r.wantCode(t, 1)
	wantSet(t, "started", r.started(), []string{"web"}, r)
	rep := readJUnit(t, dw.path("report.xml"))
	web = testcase(t, suite(t, rep, "stage 2: web"), "web")
	if web.Failure == nil || !strings.Contains(web.Failure.Message, "service web is unhealthy") {
		t.Errorf("web's case: %+v", web.Failure)
	}
	if check := testcase(t, suite(t, rep, "stage 3: check"), "check"); check.Skipped == nil {
		t.Errorf("check ran after an unhealthy stage: %+v", check)
	}
	if h := serviceEvents(t, dw.path("events.jsonl"), engine.EventServiceHealth, "web"); len(h) != 1 || h[0].Service.Health != "unhealthy" ||
		!strings.HasPrefix(h[0].Reason, "service web is unhealthy") {
		t.Errorf("service.health events of web: %+v", h)
	}
}

// TestCiInterrupted checks that Ctrl-C stops ferry ci with 130, and that
// the report still says what ran and what did not.
func TestCiInterrupted(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": `task(name = "slow", cmd = "echo sleeping; sleep 60")
task(name = "after", cmd = "echo after")
pipeline("ci", stages = [["slow"], ["after"]])
`})
	p := ws.start(t, "ci", "--junit", "report.xml")
	eventually(t, "slow to start", func() bool { return strings.Contains(p.stderr.String(), "sleeping") })
	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	rep := readJUnit(t, ws.path("report.xml"))
	if slow := testcase(t, suite(t, rep, "stage 1: slow"), "slow"); slow.Skipped == nil || !strings.Contains(slow.Skipped.Message, "interrupted") {
		t.Errorf("slow's case: %+v", slow)
	}
	if after := testcase(t, suite(t, rep, "stage 2: after"), "after"); after.Skipped == nil || after.Skipped.Message != "not run: the pipeline was interrupted" {
		t.Errorf("after's case: %+v", after)
	}

	// A --junit file that cannot be written fails at once: nothing runs.
	r = ws.ferryJSON(t, "ci", "--junit", "no/such/folder/report.xml")
	r.wantCode(t, 2)
	r.wantStderr(t, "--junit: open no/such/folder/report.xml: no such file or directory; give a file in a folder you can write to")
	wantSet(t, "started", r.started(), nil, r)
}

// TestCiHistoryFindingAnnotation checks that a finding in git history,
// which marks no line of the checked-out files, is an annotation that
// names the commit in its message instead.
func TestCiHistoryFindingAnnotation(t *testing.T) {
	ws := newWorkspace(t, map[string]string{
		"ferry.star": "task(name = \"test\", cmd = \"true\")\n",
		"app/.env":   "SLACK=" + lintSlackToken + "\n",
	})
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"commit", "-q", "-m", "config"}} {
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = ws.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.Remove(ws.path("app/.env")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITHUB_ACTIONS", "true")
	r := ws.ferry(t, "ci")
	r.wantCode(t, 1)
	if !regexp.MustCompile(`(?m)^::error title=FERRY-SEC005::[0-9a-f]{12}:app/\.env:1:7: Slack token`).MatchString(r.stderr) {
		t.Errorf("want an annotation without a file, naming the commit:\n%s", r)
	}
	if strings.Contains(r.stdout+r.stderr, lintSlackToken) {
		t.Errorf("the token leaked:\n%s", r)
	}
}

// -C DIR runs ferry as if started in DIR: the --events and --junit files
// are written there.
func TestCiReportPathsUnderDirFlag(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": `task(name = "t", cmd = "true")`})
	parent, dir := filepath.Split(ws.dir)
	startFerry(t, parent, "-C", dir, "--events", "events.json", "ci", "--no-lint", "--junit", "junit.xml").wait(t).wantCode(t, 0)
	for _, f := range []string{"events.json", "junit.xml"} {
		if !ws.exists(f) {
			t.Errorf("%s is not in the -C folder", f)
		}
	}
}

// TestCiSARIF checks that ferry ci --sarif writes the findings of its
// security checks as SARIF, under -C DIR, even when they stop the
// pipeline; and that --sarif with --no-lint, which would write none, is a
// usage error that writes nothing.
func TestCiSARIF(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, lintErrorFiles)
	parent, dir := filepath.Split(ws.dir)
	r := startFerry(t, parent, "-C", dir, "ci", "--no-history", "--sarif", "ci.sarif", "--junit", "junit.xml").wait(t)
	r.wantCode(t, 1)
	r.wantStderr(t, "SARIF report written to ci.sarif", "the security checks found errors")
	got := sarifFindings(t, readSARIF(t, ws.path("ci.sarif")))
	if want := lintErrorResults; !slices.Equal(got, want) {
		t.Errorf("SARIF results:\n%+v\nwant\n%+v", got, want)
	}
	if sec := suite(t, readJUnit(t, ws.path("junit.xml")), "security checks"); len(sec.Cases) != 3 {
		t.Errorf("the JUnit report's security checks: %+v", sec.Cases)
	}

	r = ws.ferryJSON(t, "ci", "--no-lint", "--sarif", "nolint.sarif")
	r.wantCode(t, 2)
	r.wantStderr(t, "--sarif writes the findings of the security checks, which --no-lint skips")
	wantSet(t, "started", r.started(), nil, r)
	if ws.exists("nolint.sarif") {
		t.Error("--no-lint wrote a SARIF report")
	}
}
