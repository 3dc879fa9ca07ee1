package seccheck

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine/cireport"
)

// sample is a report with one finding of each severity, one of them in
// git history, and a note.
func sample() *Report {
	return &Report{
		Findings: []Finding{
			{Rule: "FERRY-DF004", Severity: Error, File: "Dockerfile", Line: 3, Col: 1, Message: "ENV TOKEN holds a secret", Fix: "pass it at run time"},
			{Rule: "FERRY-SEC001", Severity: Warning, File: "config.yml", Line: 7, Commit: "abc1234", Message: "an API key", Fix: "rotate it"},
			{Rule: "FERRY-DF002", Severity: Info, File: "Dockerfile", Line: 1, Message: "base not pinned", Fix: "pin it"},
		},
		Notes: []string{"the history scan read 3 commits"},
	}
}

func TestReportText(t *testing.T) {
	var b strings.Builder
	if err := sample().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "Dockerfile:3:1: error FERRY-DF004: ENV TOKEN holds a secret\n\tfix: pass it at run time\n" +
		"abc1234:config.yml:7: warning FERRY-SEC001: an API key\n\tfix: rotate it\n" +
		"Dockerfile:1: info FERRY-DF002: base not pinned\n\tfix: pin it\n" +
		"note: the history scan read 3 commits\n" +
		"1 errors, 1 warnings, 1 info\n"
	if b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}
	if !sample().Failed() || (&Report{Findings: sample().Findings[1:]}).Failed() {
		t.Error("Failed is not true exactly when a finding is an error")
	}
}

func TestReportProblems(t *testing.T) {
	var b strings.Builder
	if err := sample().WriteProblems(&b); err != nil {
		t.Fatal(err)
	}
	want := "Dockerfile:3:1: error FERRY-DF004: ENV TOKEN holds a secret\n" +
		"abc1234:config.yml:7: warning FERRY-SEC001: an API key\n" +
		"security checks: 1 errors, 1 warnings, 1 info; `ferry lint` says how to fix them\n"
	if b.String() != want {
		t.Errorf("problems:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := (&Report{Findings: sample().Findings[2:]}).WriteProblems(&b); err != nil || b.Len() != 0 {
		t.Errorf("info only: wrote %q, err %v; want nothing", b.String(), err)
	}
}

func TestReportJSON(t *testing.T) {
	var b strings.Builder
	if err := sample().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal([]byte(b.String()), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Findings) != 3 || back.Findings[1].Commit != "abc1234" || back.Notes[0] != "the history scan read 3 commits" {
		t.Errorf("read back %+v", back)
	}
	if !strings.Contains(b.String(), "\n  \"findings\": [") {
		t.Errorf("not indented:\n%s", b.String())
	}
}

func TestReportSARIF(t *testing.T) {
	var b strings.Builder
	if err := sample().WriteSARIF(&b, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Name, Version, InformationURI string
					Rules                         []struct{ ID string }
				}
			}
			Results []struct {
				RuleID string
				Level  string
			}
		}
	}
	if err := json.Unmarshal([]byte(b.String()), &log); err != nil {
		t.Fatal(err)
	}
	d := log.Runs[0].Tool.Driver
	if d.Name != "ferry" || d.Version != "1.2.3" || d.InformationURI != HomeURL || len(d.Rules) != len(Rules) {
		t.Errorf("driver %+v", d)
	}
	if r := log.Runs[0].Results; len(r) != 3 || r[0].RuleID != "FERRY-DF004" || r[0].Level != "error" {
		t.Errorf("results %+v", r)
	}
}

func TestReportCases(t *testing.T) {
	cs := sample().Cases("ferry.security")
	if len(cs) != 3 {
		t.Fatalf("%d cases, want 3", len(cs))
	}
	if c := cs[0]; c.Name != "FERRY-DF004 Dockerfile:3:1" || c.Classname != "ferry.security" || c.File != "Dockerfile" || c.Line != 3 ||
		c.Failure == nil || c.Failure.Type != "FERRY-DF004" || c.Failure.Text != "fix: pass it at run time" {
		t.Errorf("error case: %+v", c)
	}
	if c := cs[1]; c.Failure != nil || c.SystemOut != "warning: an API key\nfix: rotate it" || c.Properties.List[0].Value != "warning" {
		t.Errorf("warning case: %+v", c)
	}
	empty := (&Report{}).Cases("k")
	if len(empty) != 1 || empty[0].Name != "no findings" || empty[0].Failure != nil {
		t.Errorf("no findings: %+v", empty)
	}
}

func TestReportAnnotations(t *testing.T) {
	got := sample().Annotations()
	want := []cireport.Annotation{
		{Level: "error", File: "Dockerfile", Line: 3, Col: 1, Title: "FERRY-DF004", Message: "ENV TOKEN holds a secret; fix: pass it at run time"},
		// In git history, not in the checked-out file: no line to mark.
		{Level: "warning", Title: "FERRY-SEC001", Message: "abc1234:config.yml:7: an API key; fix: rotate it"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("annotations\n%+v\nwant\n%+v", got, want)
	}
}
