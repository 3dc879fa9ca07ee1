package deploy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// devTarget is a Target that records what Dev asks of it.
type devTarget struct {
	Target // the methods Dev does not call
	mu     sync.Mutex
	calls  []string
}

func (t *devTarget) note(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls = append(t.calls, s)
}

func (t *devTarget) RemoveExcept(_ context.Context, project string, keep []string) ([]string, error) {
	t.note("remove except " + project + ": " + strings.Join(keep, " "))
	return []string{project + "-gone-1"}, nil
}

func (t *devTarget) RemoveDeployed(_ context.Context, project string) ([]string, error) {
	t.note("remove deployed " + project)
	return nil, nil
}

// loadTo evaluates src with services deployed to t.
func loadTo(t *testing.T, target Target, src string) *engine.Graph {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ferry.star"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		Plugins:   []engine.Plugin{core.Plugin{}, fakeImagePlugin{}, &Plugin{Project: "p", Target: target}},
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestDev(t *testing.T) {
	target := &devTarget{}
	const scaled = `autoscale = autoscale(min = 1, max = 3, metric = "m", target = 10, port = 8080), ports = ["8080"]`
	g1 := loadTo(t, target, `image(name = "img")
service(name = "api", image = "img", `+scaled+`)
job(name = "migrate", image = "img")
task(name = "gen", cmd = "true")
`)
	followed := make(chan struct{})
	var scales []context.Context
	d := &Dev{
		Bus:    engine.NewBus(redact.New()),
		Follow: func(context.Context) { close(followed) },
		Autoscale: func(ctx context.Context, g *engine.Graph) {
			scales = append(scales, ctx)
		},
	}
	var sel []string
	for _, n := range g1.Names() {
		if d.Selects(g1.Rule(n)) {
			sel = append(sel, n)
		}
	}
	if !slices.Equal(sel, []string{"api", "migrate"}) {
		t.Errorf("Dev selects %q, want the service and the job", sel)
	}

	ctx := context.Background()
	d.Loaded(ctx, nil, g1)
	select {
	case <-followed:
	case <-time.After(10 * time.Second):
		t.Fatal("the first evaluation's services are not followed")
	}
	if len(scales) != 1 {
		t.Fatalf("%d autoscaler starts after the first evaluation, want 1", len(scales))
	}

	// The same policies: the autoscalers go on; the job is dropped.
	g2 := loadTo(t, target, `image(name = "img")
service(name = "api", image = "img", `+scaled+`)
`)
	d.Loaded(ctx, g1, g2)
	if len(scales) != 1 || scales[0].Err() != nil {
		t.Errorf("an unchanged policy restarted the autoscalers")
	}
	// A changed policy restarts them.
	g3 := loadTo(t, target, `image(name = "img")
service(name = "api", image = "img", `+strings.Replace(scaled, "max = 3", "max = 4", 1)+`)
`)
	d.Loaded(ctx, g2, g3)
	if len(scales) != 2 || scales[0].Err() == nil || scales[1].Err() != nil {
		t.Errorf("a changed policy: %d starts, the first one stopped: %v", len(scales), scales[0].Err())
	}

	d.Close(ctx)
	d.Keep = true
	d.Close(ctx)
	target.mu.Lock()
	defer target.mu.Unlock()
	if want := []string{"remove except p: api", "remove deployed p"}; !slices.Equal(target.calls, want) {
		t.Errorf("target calls %q, want %q", target.calls, want)
	}
}
