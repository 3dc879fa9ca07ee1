package exporter

import (
	"os"

	"github.com/ferryhq/ferry/engine"
)

// AddrFile is where a foreground loop writes the address of its metrics,
// relative to the workspace root.
const AddrFile = engine.StateDir + "/metrics.addr"

// Publish serves ferry's own metrics while a foreground loop on ws runs:
// it adds an Exporter to bus, listens on 127.0.0.1:port (0: a free port;
// negative: it serves nothing), logs the URL and writes the address to
// AddrFile. kind names the kind of a rule. The returned stop function
// stops serving and removes the file.
func Publish(ws *engine.Workspace, bus *engine.Bus, port int, kind func(rule string) string) (stop func(), err error) {
	if port < 0 {
		return func() {}, nil
	}
	x := New(kind)
	srv, err := x.Serve(port)
	if err != nil {
		return nil, err
	}
	bus.Add(x)
	path := ws.Path(AddrFile)
	_, err = ws.StateFolder()
	if err == nil {
		err = engine.WriteFileAtomic(path, []byte(srv.Addr+"\n"), 0o644)
	}
	if err != nil {
		bus.Logf(engine.LevelWarn, "could not write the metrics address to %s: %v", AddrFile, err)
	}
	bus.Logf(engine.LevelInfo, "serving ferry's metrics on %s", srv.URL())
	return func() {
		// Another ferry may have started serving since: leave its address.
		if b, err := os.ReadFile(path); err == nil && string(b) == srv.Addr+"\n" {
			os.Remove(path)
		}
		if err := srv.Close(); err != nil {
			bus.Logf(engine.LevelWarn, "stopping the metrics server: %v", err)
		}
	}, nil
}
