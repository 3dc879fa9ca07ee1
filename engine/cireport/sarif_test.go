package cireport

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// sarifDoc is what the tests read back of a SARIF log.
type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name, Version, InformationURI string
				Rules                         []struct {
					ID                   string
					ShortDescription     struct{ Text string }
					Help                 struct{ Text string }
					DefaultConfiguration struct{ Level string }
				}
			}
		}
		Results []struct {
			RuleID    string
			RuleIndex *int
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
	}
}

func writeSARIF(t *testing.T, rules []SARIFRule, findings []SARIFFinding) (*sarifDoc, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, SARIFTool{Name: "ferry", Version: "v1.2.3", InformationURI: "https://example.com/ferry"}, rules, findings); err != nil {
		t.Fatal(err)
	}
	var doc sarifDoc
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("the SARIF log does not parse: %v\n%s", err, buf.String())
	}
	// What the SARIF 2.1.0 schema requires of what ferry writes.
	if doc.Version != "2.1.0" || !strings.Contains(doc.Schema, "sarif-2.1.0") || len(doc.Runs) != 1 || doc.Runs[0].Tool.Driver.Name != "ferry" {
		t.Fatalf("not a SARIF 2.1.0 log of one ferry run:\n%s", buf.String())
	}
	for _, r := range doc.Runs[0].Results {
		if r.Message.Text == "" {
			t.Errorf("a result without message.text:\n%s", buf.String())
		}
	}
	return &doc, buf.String()
}

func TestWriteSARIF(t *testing.T) {
	rules := []SARIFRule{
		{ID: "FERRY-DF004", Title: "secret-looking ENV or ARG", Help: "pass secrets at run time", Severity: "error"},
		{ID: "FERRY-SV003", Title: "database port published on all interfaces", Help: "publish it on loopback only", Severity: "warning"},
		{ID: "FERRY-DF005", Title: "no health check", Help: "add a HEALTHCHECK", Severity: "info"},
		{ID: "FERRY-SEC005", Title: "Slack token", Help: "revoke and rotate", Severity: "error"},
	}
	doc, text := writeSARIF(t, rules, []SARIFFinding{
		{Rule: "FERRY-DF004", Severity: "error", File: "app/Dockerfile", Line: 2, Message: "ENV <PASSWORD> & co"},
		{Rule: "FERRY-SV003", Severity: "warning", File: "ferry.star", Line: 3, Col: 8, Message: `service "db"`},
		{Rule: "FERRY-DF005", Severity: "info", File: "app/Dockerfile", Message: "no HEALTHCHECK"},
		{Rule: "FERRY-SEC005", Severity: "error", File: "app/.env", Line: 1, Col: 7, Commit: "0123456789abcdef0123456789abcdef01234567", Message: "Slack token: xoxb…"},
	})
	d := doc.Runs[0].Tool.Driver
	if d.Version != "v1.2.3" || d.InformationURI != "https://example.com/ferry" || len(d.Rules) != 4 {
		t.Fatalf("driver: %+v", d)
	}
	if r := d.Rules[2]; r.ID != "FERRY-DF005" || r.ShortDescription.Text != "no health check" || r.Help.Text != "add a HEALTHCHECK" || r.DefaultConfiguration.Level != "note" {
		t.Errorf("rule 2: %+v", r)
	}
	if d.Rules[0].DefaultConfiguration.Level != "error" || d.Rules[1].DefaultConfiguration.Level != "warning" {
		t.Errorf("rule levels: %+v", d.Rules)
	}
	res := doc.Runs[0].Results
	if len(res) != 4 {
		t.Fatalf("want 4 results:\n%s", text)
	}
	for i, want := range []struct {
		rule, level, uri string
		line, col        int
	}{
		{"FERRY-DF004", "error", "app/Dockerfile", 2, 0},
		{"FERRY-SV003", "warning", "ferry.star", 3, 8},
		{"FERRY-DF005", "note", "app/Dockerfile", 0, 0},
	} {
		r := res[i]
		if r.RuleID != want.rule || r.RuleIndex == nil || *r.RuleIndex != i || r.Level != want.level || len(r.Locations) != 1 {
			t.Errorf("result %d: %+v", i, r)
			continue
		}
		loc := r.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI != want.uri || loc.ArtifactLocation.URIBaseID != "%SRCROOT%" {
			t.Errorf("result %d: location %+v", i, loc)
		}
		switch {
		case want.line == 0 && loc.Region != nil:
			t.Errorf("result %d: a region for a whole file: %+v", i, loc.Region)
		case want.line > 0 && (loc.Region == nil || loc.Region.StartLine != want.line || loc.Region.StartColumn != want.col):
			t.Errorf("result %d: region %+v, want line %d col %d", i, loc.Region, want.line, want.col)
		}
	}
	if res[0].Message.Text != "ENV <PASSWORD> & co" {
		t.Errorf("the message is escaped or changed: %q", res[0].Message.Text)
	}

	// A finding in git history: the commit in the message and the
	// properties, the file but no region.
	h := res[3]
	if h.RuleID != "FERRY-SEC005" || h.Level != "error" || h.Properties["commit"] != "0123456789abcdef0123456789abcdef01234567" ||
		h.Message.Text != "in git history, commit 0123456789abcdef0123456789abcdef01234567, app/.env:1:7: Slack token: xoxb…" {
		t.Errorf("history result: %+v", h)
	}
	if len(h.Locations) != 1 || h.Locations[0].PhysicalLocation.ArtifactLocation.URI != "app/.env" || h.Locations[0].PhysicalLocation.Region != nil {
		t.Errorf("history result's location: %+v", h.Locations)
	}
}

// An empty run is still a valid log, with "results": [] (no results
// found) rather than null (not run).
func TestWriteSARIFEmpty(t *testing.T) {
	doc, text := writeSARIF(t, nil, nil)
	if !strings.Contains(text, `"results": []`) || !strings.Contains(text, `"rules": []`) || len(doc.Runs[0].Results) != 0 {
		t.Errorf("want empty results and rules:\n%s", text)
	}
}
