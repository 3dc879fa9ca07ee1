// Package cireport writes what CI systems read: JUnit XML reports, GitHub
// Actions workflow commands, and a Recorder that collects each rule's
// outcome, time, error and last output lines from the engine's events.
package cireport

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

// A Report is a JUnit XML document: <testsuites> with one <testsuite> per
// Suite. Write fills in the counts.
type Report struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr,omitempty"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Time     Seconds  `xml:"time,attr"`
	Suites   []Suite  `xml:"testsuite"`
}

// A Suite is one <testsuite>.
type Suite struct {
	Name     string  `xml:"name,attr"`
	Tests    int     `xml:"tests,attr"`
	Failures int     `xml:"failures,attr"`
	Skipped  int     `xml:"skipped,attr"`
	Time     Seconds `xml:"time,attr"`
	Cases    []Case  `xml:"testcase"`
}

// A Case is one <testcase>: it passed unless it has a Failure or Skipped.
type Case struct {
	Name       string      `xml:"name,attr"`
	Classname  string      `xml:"classname,attr"`
	Time       Seconds     `xml:"time,attr"`
	File       string      `xml:"file,attr,omitempty"`
	Line       int         `xml:"line,attr,omitempty"`
	Properties *Properties `xml:"properties,omitempty"`
	Failure    *Failure    `xml:"failure,omitempty"`
	Skipped    *Skipped    `xml:"skipped,omitempty"`
	SystemOut  string      `xml:"system-out,omitempty"`
}

// Properties are the <properties> of a Case.
type Properties struct {
	List []Property `xml:"property"`
}

// Props returns the Properties holding the name and value pairs of kv, or
// nil when kv is empty.
func Props(kv ...string) *Properties {
	if len(kv) == 0 {
		return nil
	}
	p := &Properties{}
	for i := 0; i+1 < len(kv); i += 2 {
		p.List = append(p.List, Property{Name: kv[i], Value: kv[i+1]})
	}
	return p
}

// A Property is a name and value attached to a Case.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// A Failure says why a Case failed; Text holds the details (such as the
// last lines of output).
type Failure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// Skipped marks a Case that did not run, and says why.
type Skipped struct {
	Message string `xml:"message,attr,omitempty"`
}

// Seconds is a duration written as seconds with millisecond precision, as
// JUnit readers expect.
type Seconds time.Duration

// MarshalXMLAttr writes s as "1.234".
func (s Seconds) MarshalXMLAttr(name xml.Name) (xml.Attr, error) {
	return xml.Attr{Name: name, Value: fmt.Sprintf("%.3f", time.Duration(s).Seconds())}, nil
}

// UnmarshalXMLAttr reads "1.234".
func (s *Seconds) UnmarshalXMLAttr(attr xml.Attr) error {
	var f float64
	if _, err := fmt.Sscanf(attr.Value, "%g", &f); err != nil {
		return fmt.Errorf("time %q: %w", attr.Value, err)
	}
	*s = Seconds(f * float64(time.Second))
	return nil
}

// Write counts the tests, failures and skipped cases of each suite and of
// the whole report, and writes it as indented XML.
func (r *Report) Write(w io.Writer) error {
	r.Tests, r.Failures, r.Skipped = 0, 0, 0
	for i := range r.Suites {
		s := &r.Suites[i]
		s.Tests, s.Failures, s.Skipped = len(s.Cases), 0, 0
		for _, c := range s.Cases {
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		r.Tests += s.Tests
		r.Failures += s.Failures
		r.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
