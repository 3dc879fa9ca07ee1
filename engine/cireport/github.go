package cireport

import (
	"fmt"
	"strings"
)

// GitHub Actions workflow commands (docs.github.com: "Workflow commands
// for GitHub Actions"). Each is one line that the runner turns into a
// collapsible group or an annotation.

// Group starts a collapsible group of log lines titled title.
func Group(title string) string { return "::group::" + escapeData(title) }

// EndGroup ends the group that Group started.
const EndGroup = "::endgroup::"

// An Annotation is an ::error, ::warning or ::notice command: a message
// shown on the run's summary and, with a File, on that line of the diff.
type Annotation struct {
	Level   string // "error", "warning" or "notice"
	File    string // workspace-relative; "" for none
	Line    int    // 0 for none
	Col     int    // 0 for none
	Title   string
	Message string
}

// String formats the command, escaping the message and the properties as
// the runner expects.
func (a Annotation) String() string {
	var props []string
	if a.File != "" {
		props = append(props, "file="+escapeProperty(a.File))
	}
	if a.Line > 0 {
		props = append(props, fmt.Sprintf("line=%d", a.Line))
	}
	if a.Col > 0 {
		props = append(props, fmt.Sprintf("col=%d", a.Col))
	}
	if a.Title != "" {
		props = append(props, "title="+escapeProperty(a.Title))
	}
	cmd := "::" + a.Level
	if len(props) > 0 {
		cmd += " " + strings.Join(props, ",")
	}
	return cmd + "::" + escapeData(a.Message)
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// escapeData escapes a command's message: %, CR and LF.
func escapeData(s string) string { return dataEscaper.Replace(s) }

// escapeProperty escapes a property's value: also ':' and ',', which
// would end it.
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }
