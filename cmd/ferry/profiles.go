package main

import (
	"os"

	"github.com/ferryhq/ferry/engine"
)

// enabledProfiles returns the profiles named by --profile and by the
// FERRY_PROFILES environment variable (comma- or space-separated).
func (a *app) enabledProfiles() []string {
	return append(engine.ParseProfiles(os.Getenv("FERRY_PROFILES")), a.profiles...)
}
