package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine"
)

func TestWriteStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var sb strings.Builder
	if err := WriteStatus(&sb, "shop", nil, now); err != nil || sb.String() != "project shop has no services running; `ferry up` starts them\n" {
		t.Errorf("no services: %q, %v", sb.String(), err)
	}
	sb.Reset()
	list := []ServiceStatus{
		{Name: "web", Replicas: 2, Desired: 2, State: "running", Health: "healthy", Ports: []string{"8080", "8443"}, Image: "nginx:1", Digest: "nginx@sha256:0123456789abcdef", Started: now.Add(-90 * time.Second), Restarts: 1, Scaling: "a HorizontalPodAutoscaler"},
		{Name: "db", Desired: 1, State: "exited", Health: "unhealthy", HealthError: "connection refused", Image: "postgres@sha256:0123456789abcdef", Digest: "postgres@sha256:0123456789abcdef", Unadopted: []string{"shop-db-2"}},
	}
	if err := WriteStatus(&sb, "shop", list, now); err != nil {
		t.Fatal(err)
	}
	want := `SERVICE  STATE    REPLICAS  HEALTH     PORTS      IMAGE                             UPTIME  RESTARTS
web      running  2/2       healthy    8080,8443  nginx:1 (sha256:0123456789ab)     1m30s   1
db       exited   0/1       unhealthy             postgres@sha256:0123456789abcdef          0
web is autoscaled by a HorizontalPodAutoscaler
db is unhealthy: connection refused
db: shop-db-2 is the new replica of a rollout that stopped; it is not counted, and the next ` + "`ferry up`" + ` removes it
`
	if sb.String() != want {
		t.Errorf("got\n%s\nwant\n%s", sb.String(), want)
	}
}

// The JSON of status keeps its field names, and a health error as it is.
func TestWriteStatusJSON(t *testing.T) {
	var sb strings.Builder
	list := []ServiceStatus{{Name: "web", Replicas: 1, Desired: 2, State: "running", HealthError: "GET /health -> 500 <html>", Image: "nginx:1"}}
	if err := WriteStatusJSON(&sb, list); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[\n  {\n    \"name\": \"web\",\n", `"replicas": 1,`, `"containers": 2,`, `"health_error": "GET /health -> 500 <html>",`} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("no %q in\n%s", want, sb.String())
		}
	}
}

func TestWritePlanImages(t *testing.T) {
	target := &pullTarget{}
	g := loadTo(t, target, `service(name = "db", image = "postgres:16", pull = "always")
service(name = "cache", image = "redis:7", pull = "never")
service(name = "web", image = "web:1")
`)
	if got := Enabled(g); strings.Join(got, ",") != "db,cache,web" {
		t.Errorf("Enabled = %v", got)
	}
	imgs, err := PlanImages(context.Background(), g, g.Names())
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	WritePlanImages(&sb, imgs)
	for _, want := range []string{"images:\n", "  db     postgres:16  postgres@sha256:1; pull = \"always\": up asks the registry\n", `cache  redis:7      not in the Engine, and pull = "never": up fails`, "web    web:1        not in the Engine: up pulls it"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("lacks %q:\n%s", want, sb.String())
		}
	}
	// After a plan of web alone, only its image; a target that cannot
	// look is said in a line.
	sb.Reset()
	WriteImagesOfPlan(context.Background(), &sb, g, []engine.PlanItem{{Rule: "web"}})
	if got := sb.String(); !strings.Contains(got, "  web  web:1  not in the Engine: up pulls it\n") || strings.Contains(got, "postgres") {
		t.Errorf("images of a plan of web:\n%s", got)
	}
	target.localErr = errors.New("the Engine is not running")
	sb.Reset()
	WriteImagesOfPlan(context.Background(), &sb, g, []engine.PlanItem{{Rule: "web"}})
	if got := sb.String(); got != "images: the Engine is not running\n" {
		t.Errorf("images of a plan, with a failing target: %q", got)
	}
	sb.Reset()
	WriteLeftToUp(&sb, g)
	if want := "3 services and jobs are left to `ferry up`: `ferry plan db cache web` plans them\n"; sb.String() != want {
		t.Errorf("got %q, want %q", sb.String(), want)
	}
}

func TestPullResultMessage(t *testing.T) {
	for _, tc := range []struct {
		r    PullResult
		want string
	}{
		{PullResult{Image: "redis:7", Rules: []string{"cache"}, Skipped: `pull = "never"`}, `cache: redis:7 not pulled: pull = "never"`},
		{PullResult{Image: "bad:1", Rules: []string{"broken"}}, ""},
		{PullResult{Image: "pg:16", Rules: []string{"db", "migrate"}, Resolved: ResolvedImage{ID: "sha256:9", Digest: "pg@sha256:1", Pulled: true}}, "db, migrate: pulled pg:16 (pg@sha256:1); ferry up replaces what runs an older image"},
		{PullResult{Image: "local:1", Rules: []string{"web"}, Resolved: ResolvedImage{ID: "sha256:9"}}, "web: local:1 is up to date (sha256:9)"},
	} {
		if got := tc.r.Message(); got != tc.want {
			t.Errorf("Message() = %q, want %q", got, tc.want)
		}
	}
}

func TestWriteManifests(t *testing.T) {
	files := map[string][]byte{"b/Service-web.yaml": []byte("kind: Service\n"), "Deployment-web.yaml": []byte("kind: Deployment\n")}
	var sb strings.Builder
	if err := WriteManifests(&sb, "", files); err != nil || sb.String() != "---\n# Deployment-web.yaml\nkind: Deployment\n---\n# b/Service-web.yaml\nkind: Service\n" {
		t.Errorf("to stdout: %q, %v", sb.String(), err)
	}
	sb.Reset()
	dir := t.TempDir()
	if err := WriteManifests(&sb, dir, files); err != nil || sb.String() != "wrote 2 manifests to "+dir+"\n" {
		t.Errorf("to a folder: %q, %v", sb.String(), err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "b", "Service-web.yaml")); err != nil || string(b) != "kind: Service\n" {
		t.Errorf("b/Service-web.yaml: %q, %v", b, err)
	}
}
