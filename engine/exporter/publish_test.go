package exporter_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/exporter"
	"github.com/ferryhq/ferry/engine/redact"
)

func TestPublish(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ws := &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")}
	var logs []string
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) {
		if e.Kind == engine.EventLog {
			logs = append(logs, e.Text)
		}
	}))
	stop, err := exporter.Publish(ws, bus, 0, func(string) string { return "task" })
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(ws.Path(exporter.AddrFile))
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(string(b))
	resp, err := http.Get("http://" + addr + exporter.Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", exporter.Path, resp.Status)
	}
	if len(logs) != 1 || logs[0] != "serving ferry's metrics on http://"+addr+exporter.Path {
		t.Fatalf("logs %q, want the metrics' URL", logs)
	}
	stop()
	if _, err := os.Stat(ws.Path(exporter.AddrFile)); !os.IsNotExist(err) {
		t.Fatalf("%s left after stop: %v", exporter.AddrFile, err)
	}
	// A negative port serves nothing.
	stop, err = exporter.Publish(ws, bus, -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if len(logs) != 1 {
		t.Fatalf("logs %q after port -1, want none more", logs)
	}
}
