package seccheck

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/ferryhq/ferry/engine/cireport"
)

// HomeURL is ferry's home, the informationUri of its SARIF reports.
const HomeURL = "https://github.com/ferryhq/ferry"

// Failed reports whether a finding is an error, which fails `ferry lint`
// and `ferry ci`.
func (r *Report) Failed() bool { return Count(r.Findings, Error) > 0 }

// Summary counts the findings by severity: "1 errors, 2 warnings, 0 info".
func (r *Report) Summary() string {
	fs := r.Findings
	return fmt.Sprintf("%d errors, %d warnings, %d info", Count(fs, Error), Count(fs, Warning), Count(fs, Info))
}

// WriteText writes each finding with its fix, the notes, and the summary,
// as `ferry lint` prints them.
func (r *Report) WriteText(w io.Writer) error {
	for _, f := range r.Findings {
		if _, err := fmt.Fprintln(w, f); err != nil {
			return err
		}
	}
	for _, n := range r.Notes {
		if _, err := fmt.Fprintf(w, "note: %s\n", n); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, r.Summary())
	return err
}

// WriteJSON writes the report as indented JSON, as `ferry lint --json`
// prints it.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteProblems writes the errors and warnings one line each, without
// their fixes, then the summary when there was one, as `ferry plan` shows
// them.
func (r *Report) WriteProblems(w io.Writer) error {
	shown := 0
	for _, f := range r.Findings {
		if f.Severity != Info {
			shown++
			if _, err := fmt.Fprintf(w, "%s: %s %s: %s\n", f.Pos(), f.Severity, f.Rule, f.Message); err != nil {
				return err
			}
		}
	}
	if shown == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "security checks: %s; `ferry lint` says how to fix them\n", r.Summary())
	return err
}

// WriteSARIF writes the findings as a SARIF 2.1.0 log of ferry at version,
// with every rule of Rules, for GitHub code scanning and other CI systems.
func (r *Report) WriteSARIF(w io.Writer, version string) error {
	rules := make([]cireport.SARIFRule, len(Rules))
	for i, rule := range Rules {
		rules[i] = cireport.SARIFRule{ID: rule.ID, Title: rule.Title, Help: rule.Fix, Severity: string(rule.Severity)}
	}
	findings := make([]cireport.SARIFFinding, len(r.Findings))
	for i, f := range r.Findings {
		findings[i] = cireport.SARIFFinding{Rule: f.Rule, Severity: string(f.Severity), File: f.File, Line: f.Line, Col: f.Col, Commit: f.Commit, Message: f.Message}
	}
	tool := cireport.SARIFTool{Name: "ferry", Version: version, InformationURI: HomeURL}
	return cireport.WriteSARIF(w, tool, rules, findings)
}

// Cases returns the findings as JUnit test cases of class: an error is a
// failure, the others pass with their message as output; a report with
// no finding is one passing case, "no findings".
func (r *Report) Cases(class string) []cireport.Case {
	if len(r.Findings) == 0 {
		return []cireport.Case{{Name: "no findings", Classname: class}}
	}
	cases := make([]cireport.Case, len(r.Findings))
	for i, f := range r.Findings {
		cs := cireport.Case{Name: f.Rule + " " + f.Pos(), Classname: class, File: f.File, Line: f.Line,
			Properties: cireport.Props("severity", string(f.Severity))}
		if f.Severity == Error {
			cs.Failure = &cireport.Failure{Message: f.Message, Type: f.Rule, Text: "fix: " + f.Fix}
		} else {
			cs.SystemOut = fmt.Sprintf("%s: %s\nfix: %s", f.Severity, f.Message, f.Fix)
		}
		cases[i] = cs
	}
	return cases
}

// Annotations returns the errors and warnings as GitHub Actions
// annotations. A finding in git history, not in the checked-out file, has
// no line to mark: its position goes into the message.
func (r *Report) Annotations() []cireport.Annotation {
	var out []cireport.Annotation
	for _, f := range r.Findings {
		if f.Severity == Info {
			continue
		}
		an := cireport.Annotation{Level: string(f.Severity), File: f.File, Line: f.Line, Col: f.Col, Title: f.Rule, Message: f.Message + "; fix: " + f.Fix}
		if f.Commit != "" {
			an.File, an.Line, an.Col, an.Message = "", 0, 0, f.Pos()+": "+an.Message
		}
		out = append(out, an)
	}
	return out
}
