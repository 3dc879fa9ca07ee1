package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine/platform"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print ferry's version",
		// Printing the version needs no logging set up.
		PersistentPreRun: func(*cobra.Command, []string) {},
		Run: func(*cobra.Command, []string) {
			fmt.Fprintln(a.stdout, versionLine())
			// What this system lacks (nothing on Linux).
			for _, g := range platform.Gaps(runtime.GOOS) {
				fmt.Fprintf(a.stdout, "  %s\n", g.Line(runtime.GOOS))
			}
		},
	}
}

// versionLine is what `ferry version` and `ferry --version` print.
func versionLine() string {
	return fmt.Sprintf("ferry %s %s %s/%s", ferryVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// ferryVersion is the version set at build time, else the module's
// version, else "devel".
func ferryVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
