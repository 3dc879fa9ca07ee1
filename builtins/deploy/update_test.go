package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/engine"
)

// service(update = ...) is read, checked against the ports, and left out
// of the config hash: changing how a change rolls out replaces nothing.
func TestUpdatePolicy(t *testing.T) {
	for src, want := range map[string]UpdatePolicy{
		`service(name = "a", image = "x")`: {Parallelism: 1},
		`service(name = "a", image = "x", update = {"order": "stop-first", "parallelism": 2})`:         {Order: StopFirst, Parallelism: 2},
		`service(name = "a", image = "x", update = {"order": "start-first"}, ports = ["80"])`:          {Order: StartFirst, Parallelism: 1},
		`service(name = "a", image = "x", update = {"order": "stop-first"}, ports = ["8080-8081:80"])`: {Order: StopFirst, Parallelism: 1},
	} {
		g, err := load(t, src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got := g.Rule("a").(*Rule).Spec().Update; got != want {
			t.Errorf("%s: update %+v, want %+v", src, got, want)
		}
	}
	for src, want := range map[string]string{
		`service(name = "a", image = "x", update = {"order": "random"})`:                           `ferry.star:1:8: service "a": update: order: got "random", want "start-first" or "stop-first"`,
		`service(name = "a", image = "x", update = {"parallelism": 0})`:                            "parallelism: got 0, want a number of replicas, 1 or more",
		`service(name = "a", image = "x", update = {"delay": "1s"})`:                               `unknown key "delay": want order or parallelism`,
		`service(name = "a", image = "x", update = "fast")`:                                        "update: got string, want a dict",
		`service(name = "a", image = "x", update = {"order": "start-first"}, ports = ["8080:80"])`: `update: order "start-first" starts each new replica beside the old one, which holds the fixed host port of "8080:80/tcp"; use "stop-first", or publish "80"`,
	} {
		_, err := load(t, src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %q", src, err, want)
		}
	}
	hash := func(src string) engine.Digest {
		g, err := load(t, src)
		if err != nil {
			t.Fatal(err)
		}
		h := engine.NewHasher()
		g.Rule("a").Definition(context.Background(), h)
		return h.Sum()
	}
	if hash(`service(name = "a", image = "x")`) != hash(`service(name = "a", image = "x", update = {"parallelism": 3})`) {
		t.Error("the update policy changed the config hash, so changing it would replace every replica")
	}
}

func TestUpdateOrder(t *testing.T) {
	fixed := Port{HostStart: 8080, HostEnd: 8081, Container: 80, Protocol: "tcp"}
	free := Port{Container: 80, Protocol: "tcp"}
	for _, tc := range []struct {
		spec ServiceSpec
		want string
	}{
		{ServiceSpec{}, StartFirst},
		{ServiceSpec{Ports: []Port{free}}, StartFirst},
		{ServiceSpec{Ports: []Port{free, fixed}}, StopFirst},
		{ServiceSpec{Update: UpdatePolicy{Order: StopFirst}}, StopFirst},
	} {
		if got := tc.spec.UpdateOrder(); got != tc.want {
			t.Errorf("%+v: order %s, want %s", tc.spec, got, tc.want)
		}
	}
}

// service(ready_after = ...) is read, 5s by default, and left out of the
// config hash: changing it replaces nothing.
func TestReadyAfter(t *testing.T) {
	for src, want := range map[string]time.Duration{
		`service(name = "a", image = "x")`:                       DefaultReadyAfter,
		`service(name = "a", image = "x", ready_after = "0s")`:   0,
		`service(name = "a", image = "x", ready_after = "1m")`:   time.Minute,
		`service(name = "a", image = "x", ready_after = 2)`:      2 * time.Second,
		`service(name = "a", image = "x", ready_after = "1.5s")`: 1500 * time.Millisecond,
	} {
		g, err := load(t, src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got := g.Rule("a").(*Rule).Spec().ReadyAfter; got != want {
			t.Errorf("%s: ready_after %s, want %s", src, got, want)
		}
	}
	if _, err := load(t, `service(name = "a", image = "x", ready_after = "-1s")`); err == nil || !strings.Contains(err.Error(), `ferry.star:1:8: service "a": ready_after`) {
		t.Errorf("a negative ready_after: got %v", err)
	}
	if _, err := load(t, `job(name = "a", image = "x", ready_after = "1s")`); err == nil || !strings.Contains(err.Error(), "ready_after") {
		t.Errorf("ready_after on a job: got %v", err)
	}
	hash := func(src string) engine.Digest {
		g, err := load(t, src)
		if err != nil {
			t.Fatal(err)
		}
		h := engine.NewHasher()
		g.Rule("a").Definition(context.Background(), h)
		return h.Sum()
	}
	if hash(`service(name = "a", image = "x")`) != hash(`service(name = "a", image = "x", ready_after = "1m")`) {
		t.Error("ready_after changed the config hash, so changing it would replace every replica")
	}
}
