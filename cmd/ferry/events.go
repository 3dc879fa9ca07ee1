package main

import (
	"fmt"

	"github.com/ferryhq/ferry/engine/console"
)

// openEvents adds the --events sink to the bus: the file is created (or
// emptied) and every event is appended to it as a JSON line.
func (a *app) openEvents() error {
	if a.events == "" {
		return nil
	}
	f, err := a.create("--events", a.events)
	if err != nil {
		return err
	}
	a.eventsFile = f
	a.eventsOut = a.redactor.Writer(f)
	a.eventLog = console.NewEventLog(a.eventsOut)
	a.bus.Add(a.eventLog)
	return nil
}

// closeEvents closes the --events file and reports a write that failed.
func (a *app) closeEvents() {
	if a.eventsFile == nil {
		return
	}
	err := a.eventLog.Err()
	if ferr := a.eventsOut.Flush(); err == nil {
		err = ferr
	}
	if cerr := a.eventsFile.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		a.printErr(fmt.Sprintf("--events %s: %v; the file misses events", a.events, err))
	}
}
