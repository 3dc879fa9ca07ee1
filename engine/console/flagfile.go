package console

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// A FlagFile is a file that a command-line flag names for ferry to write,
// such as --junit FILE: created when the command starts, so that a wrong
// path fails before any work, and written through the secret redactor. A
// nil *FlagFile is a flag that was not given: its methods do nothing.
type FlagFile struct {
	flag, name string
	f          *os.File
	w          *redact.Writer
}

// CreateFlagFile creates (or empties) path, the file that flag names as
// name: what the user wrote, which errors show, path being name resolved
// against the folder ferry runs in. Everything written passes through red.
// It returns nil when name is "" (the flag was not given).
func CreateFlagFile(flag, name, path string, red *redact.Redactor) (*FlagFile, error) {
	if name == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			pe.Path = name
		}
		return nil, fmt.Errorf("%s: %w; give a file in a folder you can write to", flag, err)
	}
	return &FlagFile{flag: flag, name: name, f: f, w: red.Writer(f)}, nil
}

// File returns the open file, or nil for a flag not given.
func (o *FlagFile) File() *os.File {
	if o == nil {
		return nil
	}
	return o.f
}

// Close flushes what the redactor holds back and closes the file.
func (o *FlagFile) Close() error {
	if o == nil {
		return nil
	}
	err := o.w.Flush()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// WriteReport writes a report with write, closes the file, and logs with
// logf (engine.Bus.Logf) that the report of kind ("JUnit") was written.
// An error names the flag and the file, and says the report is incomplete.
func (o *FlagFile) WriteReport(kind string, write func(io.Writer) error, logf func(level, format string, args ...any)) error {
	if o == nil {
		return nil
	}
	err := write(o.w)
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w; the report is incomplete", o.flag, o.name, err)
	}
	logf(engine.LevelInfo, "%s report written to %s", kind, o.name)
	return nil
}

// An EventFile is the file of --events FILE: an EventLog, a sink of every
// engine event, writing to a FlagFile.
type EventFile struct {
	*EventLog
	out *FlagFile
}

// CreateEventFile creates the file of flag (see CreateFlagFile) for an
// EventLog. It returns nil when name is "".
func CreateEventFile(flag, name, path string, red *redact.Redactor) (*EventFile, error) {
	out, err := CreateFlagFile(flag, name, path, red)
	if out == nil {
		return nil, err
	}
	return &EventFile{EventLog: NewEventLog(out.w), out: out}, nil
}

// File returns the open file, or nil when the flag was not given.
func (e *EventFile) File() *os.File {
	if e == nil {
		return nil
	}
	return e.out.File()
}

// Close closes the file. An error (of a write, or of closing) names the
// flag and the file, and says that events are missing from it.
func (e *EventFile) Close() error {
	if e == nil {
		return nil
	}
	err := e.Err()
	if cerr := e.out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w; the file misses events", e.out.flag, e.out.name, err)
	}
	return nil
}
