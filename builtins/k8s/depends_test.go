package k8s

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// depends_on applies a dependent once its dependency is Available: its
// pods ready by their readiness probe, which here passes no sooner than
// 3s after they start. Both run at once if nothing orders them.
func TestDependsOnAvailable(t *testing.T) {
	ctx, ns, admin, ref := onNode(t, 3*time.Minute)

	dir := t.TempDir()
	src := fmt.Sprintf(`
service(name = "db", image = %[1]q, pull = "never", ports = ["8080"], ready_after = "0s",
        health = health.tcp(port = 8080, interval = "1s", start_period = "3s"))
service(name = "api", image = %[1]q, pull = "never", ready_after = "0s", depends_on = ["db"])
`, ref)
	if err := os.WriteFile(filepath.Join(dir, engine.FileName), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ws := &engine.Workspace{Root: dir, File: filepath.Join(dir, engine.FileName)}
	var events []engine.Event
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) { events = append(events, e) }))
	res, err := engine.Evaluate(ctx, engine.Options{
		Workspace: ws,
		Plugins:   []engine.Plugin{core.Plugin{}, &deploy.Plugin{Project: "shop", Target: targetIn(ns, ownerA)}},
		Events:    bus,
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.LoadState(ws, true)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := engine.NewEngine(ws, g, st, bus).Run(ctx, []string{"db", "api"}, engine.RunOptions{Jobs: 2})
	if err != nil || len(sum.Ran) != 2 {
		for _, e := range events {
			t.Logf("%+v", e)
		}
		t.Fatalf("up: %+v, %v", sum, err)
	}
	db, err := admin.AppsV1().Deployments(ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	api, err := admin.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var available time.Time
	for _, cond := range db.Status.Conditions {
		if cond.Type == appsv1.DeploymentAvailable && cond.Status == "True" {
			available = cond.LastTransitionTime.Time
		}
	}
	if available.IsZero() {
		t.Fatalf("db is not Available: %+v", db.Status.Conditions)
	}
	if created := api.CreationTimestamp.Time; created.Before(available) {
		t.Errorf("api was applied at %s, before db was Available at %s", created, available)
	}
	t.Logf("db created %s, Available %s; api created %s", db.CreationTimestamp.Time, available, api.CreationTimestamp.Time)
}
