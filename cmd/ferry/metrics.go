package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/exporter"
)

// metricsAddrFile is where a foreground loop writes the address of its
// metrics, relative to the workspace root.
const metricsAddrFile = engine.StateDir + "/metrics.addr"

// addMetricsFlag adds --metrics-port to a command that runs a foreground
// loop (ferry watch, ferry up --follow).
func (a *app) addMetricsFlag(cmd *cobra.Command) {
	cmd.Flags().IntVar(&a.metricsPort, "metrics-port", 0,
		"while the loop runs (watch, up --follow), serve ferry's own Prometheus metrics on 127.0.0.1:`PORT` (0: a free port; -1: none); the address is logged and written to "+metricsAddrFile)
}

// serveMetrics serves ferry's own metrics while a foreground loop on ws
// runs: it adds an exporter to the bus, listens on --metrics-port, logs the
// URL and writes the address to .ferry/metrics.addr. kind names the kind
// of a rule. The returned stop function stops serving and removes the file.
func (a *app) serveMetrics(ws *engine.Workspace, kind func(rule string) string) (stop func(), err error) {
	if a.metricsPort < 0 {
		return func() {}, nil
	}
	x := exporter.New(kind)
	srv, err := x.Serve(a.metricsPort)
	if err != nil {
		return nil, err
	}
	a.bus.Add(x)
	path := ws.Path(metricsAddrFile)
	_, err = ws.StateFolder()
	if err == nil {
		err = engine.WriteFileAtomic(path, []byte(srv.Addr+"\n"), 0o644)
	}
	if err != nil {
		a.bus.Logf(engine.LevelWarn, "could not write the metrics address to %s: %v", metricsAddrFile, err)
	}
	a.bus.Logf(engine.LevelInfo, "serving ferry's metrics on %s", srv.URL())
	return func() {
		// Another ferry may have started serving since: leave its address.
		if b, err := os.ReadFile(path); err == nil && string(b) == srv.Addr+"\n" {
			os.Remove(path)
		}
		if err := srv.Close(); err != nil {
			a.bus.Logf(engine.LevelWarn, "stopping the metrics server: %v", err)
		}
	}, nil
}

// ruleKind returns the kind of a rule of g, or "" for a rule g lacks.
func ruleKind(g *engine.Graph, rule string) string {
	if r := g.Rule(rule); r != nil {
		return r.Info().Kind
	}
	return ""
}
