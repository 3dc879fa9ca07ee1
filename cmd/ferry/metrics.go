package main

import (
	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine/exporter"
)

// metricsAddrFile is where a foreground loop writes the address of its
// metrics, relative to the workspace root.
const metricsAddrFile = exporter.AddrFile

// addMetricsFlag adds --metrics-port to a command that runs a foreground
// loop (ferry watch, ferry up --follow).
func (a *app) addMetricsFlag(cmd *cobra.Command) {
	cmd.Flags().IntVar(&a.metricsPort, "metrics-port", 0,
		"while the loop runs (watch, up --follow), serve ferry's own Prometheus metrics on 127.0.0.1:`PORT` (0: a free port; -1: none); the address is logged and written to "+metricsAddrFile)
}
