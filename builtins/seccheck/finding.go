// Package seccheck finds security problems in a workspace: Dockerfiles that
// run as root or trust what they fetch, services that hand the host to a
// container, and credentials written into files or into git history. Each
// check reports Findings with a rule id, a position, a severity and a fix;
// docs/security.md lists the rules.
package seccheck

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Severity says how bad a finding is. Errors fail `ferry lint`.
type Severity string

// The severities, most severe first.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// rank orders severities, most severe first.
func (s Severity) rank() int {
	switch s {
	case Error:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// A Rule is one kind of finding.
type Rule struct {
	ID       string
	Severity Severity
	Title    string // what is wrong, in a few words
	Fix      string // how to put it right
}

// A Finding is one problem, at one place.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	File     string   `json:"file"`             // workspace-relative slash path
	Line     int      `json:"line,omitempty"`   // 1-based; 0 when the whole file is meant
	Col      int      `json:"col,omitempty"`    // 1-based; 0 when unknown
	Commit   string   `json:"commit,omitempty"` // for a finding in git history: the commit that added the line
	Message  string   `json:"message"`
	Fix      string   `json:"fix"`
}

// Pos returns "file:line[:col]", with "commit:" first for a finding in
// git history.
func (f Finding) Pos() string {
	s := f.File
	if f.Line > 0 {
		s += fmt.Sprintf(":%d", f.Line)
		if f.Col > 0 {
			s += fmt.Sprintf(":%d", f.Col)
		}
	}
	if f.Commit != "" {
		s = short(f.Commit) + ":" + s
	}
	return s
}

// String formats f for people: position, severity, rule, message, fix.
func (f Finding) String() string {
	return fmt.Sprintf("%s: %s %s: %s\n\tfix: %s", f.Pos(), f.Severity, f.Rule, f.Message, f.Fix)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// finding returns a finding of rule id at file:line with msg, taking its
// severity and fix from the catalogue.
func finding(id, file string, line int, msg string) Finding {
	r := ruleByID(id)
	return Finding{Rule: id, Severity: r.Severity, File: file, Line: line, Message: msg, Fix: r.Fix}
}

func ruleByID(id string) Rule {
	for _, r := range Rules {
		if r.ID == id {
			return r
		}
	}
	panic("seccheck: unknown rule " + id)
}

// Known reports whether id names a rule.
func Known(id string) bool {
	return slices.ContainsFunc(Rules, func(r Rule) bool { return r.ID == id })
}

// IDs returns the ids of every rule.
func IDs() []string {
	ids := make([]string, len(Rules))
	for i, r := range Rules {
		ids[i] = r.ID
	}
	return ids
}

// Sort orders findings by severity, then file, commit and line.
func Sort(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Severity.rank(), b.Severity.rank()), cmp.Compare(a.File, b.File),
			cmp.Compare(a.Commit, b.Commit), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Rule, b.Rule))
	})
}

// Count returns how many findings have severity s.
func Count(fs []Finding, s Severity) int {
	n := 0
	for _, f := range fs {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// ignoreComment matches "ferry:ignore ID[,ID...]" in a comment.
var ignoreComment = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`ferry:ignore\s+(FERRY-[A-Z]+[0-9]+(?:\s*,\s*FERRY-[A-Z]+[0-9]+)*)`)
})

// ignoredAt reports whether line n (1-based) of lines, or the line before
// it, carries a "ferry:ignore" comment naming id.
func ignoredAt(lines []string, n int, id string) bool {
	for _, i := range []int{n - 1, n - 2} {
		if i < 0 || i >= len(lines) {
			continue
		}
		for _, m := range ignoreComment().FindAllStringSubmatch(lines[i], -1) {
			for part := range strings.SplitSeq(m[1], ",") {
				if strings.TrimSpace(part) == id {
					return true
				}
			}
		}
	}
	return false
}
