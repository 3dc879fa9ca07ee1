package console

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// A report is written through the redactor, and its writing is logged
// with the name the user gave.
func TestFlagFileWriteReport(t *testing.T) {
	red := redact.New()
	if err := red.Add("token", "s3cr3t-value-42"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "junit.xml")
	f, err := CreateFlagFile("--junit", "junit.xml", path, red)
	if err != nil {
		t.Fatal(err)
	}
	var logged string
	logf := func(level, format string, args ...any) { logged = level + " " + fmt.Sprintf(format, args...) }
	if err := f.WriteReport("JUnit", func(w io.Writer) error {
		_, err := io.WriteString(w, "<failure>s3cr3t-value-42</failure>\n")
		return err
	}, logf); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), "s3cr3t-value-42") || !strings.Contains(string(got), "<failure>") {
		t.Errorf("report = %q, want the secret redacted", got)
	}
	if logged != engine.LevelInfo+" JUnit report written to junit.xml" {
		t.Errorf("logged %q", logged)
	}
}

// A report that fails to write says which flag and file, and that it is
// incomplete.
func TestFlagFileWriteReportError(t *testing.T) {
	f, err := CreateFlagFile("--sarif", "out.sarif", filepath.Join(t.TempDir(), "out.sarif"), redact.New())
	if err != nil {
		t.Fatal(err)
	}
	err = f.WriteReport("SARIF", func(io.Writer) error { return errors.New("disk full") }, func(string, string, ...any) { t.Error("a failed report was logged as written") })
	if err == nil || err.Error() != "--sarif out.sarif: disk full; the report is incomplete" {
		t.Errorf("err = %v", err)
	}
}

// A file that cannot be created is reported as the user named it, with
// what to do.
func TestCreateFlagFileError(t *testing.T) {
	dir := t.TempDir()
	_, err := CreateFlagFile("--junit", "missing/r.xml", filepath.Join(dir, "missing", "r.xml"), redact.New())
	if err == nil || !strings.HasPrefix(err.Error(), "--junit: open missing/r.xml: ") || !strings.HasSuffix(err.Error(), "; give a file in a folder you can write to") {
		t.Errorf("err = %v", err)
	}
}

// A flag not given is no file: nothing is created and nothing fails.
func TestFlagFileNotGiven(t *testing.T) {
	f, err := CreateFlagFile("--junit", "", "", redact.New())
	if f != nil || err != nil {
		t.Fatalf("CreateFlagFile(\"\") = %v, %v", f, err)
	}
	if f.File() != nil || f.Close() != nil || f.WriteReport("JUnit", nil, nil) != nil {
		t.Error("a flag not given did something")
	}
	e, err := CreateEventFile("--events", "", "", redact.New())
	if e != nil || err != nil || e.File() != nil || e.Close() != nil {
		t.Errorf("CreateEventFile(\"\") = %v, %v", e, err)
	}
}

// The events file holds one redacted JSON line per event once closed.
func TestEventFile(t *testing.T) {
	red := redact.New()
	if err := red.Add("token", "s3cr3t-value-42"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "events.json")
	e, err := CreateEventFile("--events", "events.json", path, red)
	if err != nil {
		t.Fatal(err)
	}
	if e.File() == nil {
		t.Fatal("no file")
	}
	e.Handle(engine.Event{Time: time.Now(), Kind: engine.EventOutput, Rule: "api", Text: "token s3cr3t-value-42"})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(got), "\n") != 1 || strings.Contains(string(got), "s3cr3t-value-42") || !strings.Contains(string(got), `"rule":"api"`) {
		t.Errorf("events file = %q", got)
	}
}

// A write that failed is reported on close: the file misses events.
func TestEventFileWriteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.json")
	e, err := CreateEventFile("--events", "events.json", path, redact.New())
	if err != nil {
		t.Fatal(err)
	}
	e.File().Close() // every write now fails
	e.Handle(engine.Event{Time: time.Now(), Kind: engine.EventOutput, Rule: "api", Text: "line"})
	err = e.Close()
	if err == nil || !strings.HasPrefix(err.Error(), "--events events.json: ") || !strings.HasSuffix(err.Error(), "; the file misses events") {
		t.Errorf("err = %v", err)
	}
}
