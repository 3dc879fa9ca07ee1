package cireport

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
)

// SARIF 2.1.0 (docs.oasis-open.org/sarif/sarif/v2.1.0), the static
// analysis format that GitHub code scanning, GitLab and other CI systems
// read. WriteSARIF writes one run of one tool; only the properties ferry
// fills are declared.

// The SARIF version written, and the schema it follows.
const (
	SARIFVersion = "2.1.0"
	SARIFSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

// SrcRoot is the uriBaseId of every artifact location: the workspace
// root, which the reader (GitHub's upload-sarif, for one) maps to the
// checkout.
const SrcRoot = "%SRCROOT%"

// A SARIFTool names the tool that made the findings.
type SARIFTool struct {
	Name, Version, InformationURI string
}

// A SARIFRule is a kind of finding: its id, title, fix and severity
// ("error", "warning" or "info").
type SARIFRule struct {
	ID, Title, Help, Severity string
}

// A SARIFFinding is one finding of a rule. File is workspace-relative;
// Line and Col are 1-based, 0 when unknown. A finding in git history has
// the Commit that added it: its Line is not one of the checked-out file,
// so it is given no region.
type SARIFFinding struct {
	Rule, Severity, File string
	Line, Col            int
	Commit               string
	Message              string
}

// WriteSARIF writes findings of rules as a SARIF log of one run of tool.
func WriteSARIF(w io.Writer, tool SARIFTool, rules []SARIFRule, findings []SARIFFinding) error {
	driver := sarifDriver{Name: tool.Name, Version: tool.Version, InformationURI: tool.InformationURI, Rules: []sarifRule{}}
	index := map[string]int{}
	for i, r := range rules {
		index[r.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   r.ID,
			ShortDescription:     sarifMessage{Text: r.Title},
			Help:                 sarifMessage{Text: r.Help},
			DefaultConfiguration: sarifConfiguration{Level: sarifLevel(r.Severity)},
		})
	}
	results := []sarifResult{}
	for _, f := range findings {
		res := sarifResult{RuleID: f.Rule, Level: sarifLevel(f.Severity), Message: sarifMessage{Text: f.Message}}
		if i, ok := index[f.Rule]; ok {
			res.RuleIndex = &i
		}
		loc := sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: filepath.ToSlash(f.File), URIBaseID: SrcRoot}}
		if f.Commit != "" {
			res.Message.Text = "in git history, commit " + f.Commit + pos(f) + ": " + f.Message
			res.Properties = map[string]string{"commit": f.Commit}
		} else if f.Line > 0 {
			loc.Region = &sarifRegion{StartLine: f.Line, StartColumn: f.Col}
		}
		if f.File != "" {
			res.Locations = []sarifLocation{{PhysicalLocation: loc}}
		}
		results = append(results, res)
	}
	log := sarifLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

// pos is ", file:line[:col]" of a finding in git history, for its message.
func pos(f SARIFFinding) string {
	if f.File == "" {
		return ""
	}
	s := ", " + filepath.ToSlash(f.File)
	if f.Line > 0 {
		s += fmt.Sprintf(":%d", f.Line)
		if f.Col > 0 {
			s += fmt.Sprintf(":%d", f.Col)
		}
	}
	return s
}

// sarifLevel is the SARIF level of a ferry severity: "info" is "note".
func sarifLevel(severity string) string {
	switch severity {
	case "error", "warning":
		return severity
	case "info":
		return "note"
	}
	return "none"
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	ShortDescription     sarifMessage       `json:"shortDescription"`
	Help                 sarifMessage       `json:"help"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID     string            `json:"ruleId"`
	RuleIndex  *int              `json:"ruleIndex,omitempty"`
	Level      string            `json:"level"`
	Message    sarifMessage      `json:"message"`
	Locations  []sarifLocation   `json:"locations,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

type sarifArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}
