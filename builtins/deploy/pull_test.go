package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// pullTarget pulls by pretending: it records each pull and fails on
// images named "bad…".
type pullTarget struct {
	Target
	pulled   []string
	localErr error // what LocalImage fails with, when set
}

func (p *pullTarget) PullImage(_ context.Context, ref, policy string, progress func(engine.PullState)) (ResolvedImage, error) {
	p.pulled = append(p.pulled, ref+" "+policy)
	if strings.HasPrefix(ref, "bad") {
		return ResolvedImage{}, errors.New("no such image")
	}
	progress(engine.PullState{Image: ref, Done: true, Digest: ref + "@sha256:1"})
	return ResolvedImage{ID: "sha256:id", Digest: ref + "@sha256:1", Pulled: true}, nil
}

func (p *pullTarget) LocalImage(_ context.Context, ref string) (ResolvedImage, bool, error) {
	if p.localErr != nil {
		return ResolvedImage{}, false, p.localErr
	}
	if ref == "postgres:16" {
		return ResolvedImage{ID: "sha256:id", Digest: "postgres@sha256:1"}, true, nil
	}
	return ResolvedImage{}, false, nil
}

func TestPull(t *testing.T) {
	target := &pullTarget{}
	g := loadTo(t, target, `image(name = "img")
service(name = "web", image = "img")
service(name = "db", image = "postgres:16")
job(name = "migrate", image = "postgres:16")
service(name = "cache", image = "redis:7", pull = "never")
service(name = "broken", image = "bad:1")
task(name = "gen", cmd = "true")
`)
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"web"}, `service "web" runs the image that the image() rule "img" builds`},
		{[]string{"dbb"}, `no service or job "dbb" in ferry.star (did you mean "db"?)`},
		{[]string{"gen"}, `"gen" is a task, not a service or job`},
	} {
		if _, err := SelectPull(g, tc.names); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SelectPull(%v): %v, want %q", tc.names, err, tc.want)
		}
	}
	sel, err := SelectPull(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	var events []engine.Event
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) { events = append(events, e) }))
	res, err := Pull(context.Background(), sel, bus)
	if err == nil || !strings.Contains(err.Error(), "broken: no such image") {
		t.Errorf("Pull: %v, want the failure of broken", err)
	}
	if got := strings.Join(target.pulled, ", "); got != "postgres:16 always, bad:1 always" {
		t.Errorf("pulled %s", got)
	}
	if len(res) != 3 || strings.Join(res[0].Rules, ",") != "db,migrate" || res[0].Resolved.Digest != "postgres:16@sha256:1" || res[1].Skipped != `pull = "never"` {
		t.Errorf("results: %+v", res)
	}
	imgs, err := PlanImages(context.Background(), g, []string{"web", "db", "cache", "gen"})
	if err != nil || len(imgs) != 2 || imgs[0].Digest != "postgres@sha256:1" || imgs[0].Missing || !imgs[1].Missing || imgs[1].Pull != PullNever {
		t.Errorf("PlanImages: %+v %v", imgs, err)
	}
	if len(events) != 1 || events[0].Kind != engine.EventImagePull || events[0].Rule != "db" || events[0].Text != "pulled postgres:16 (postgres:16@sha256:1)" {
		t.Errorf("events: %+v", events)
	}
}

func TestPullAttribute(t *testing.T) {
	g, err := load(t, `service(name = "db", image = "postgres:16")`)
	if err != nil {
		t.Fatal(err)
	}
	if p := g.Rule("db").(*Rule).Spec().Pull; p != PullMissing {
		t.Errorf("default pull = %q", p)
	}
	_, err = load(t, `service(name = "db", image = "postgres:16", pull = "sometimes")`)
	if err == nil || !strings.Contains(err.Error(), `ferry.star:1:8: service "db": pull: got "sometimes", want "missing", "always" or "never"`) {
		t.Errorf("a bad pull: %v", err)
	}
}
