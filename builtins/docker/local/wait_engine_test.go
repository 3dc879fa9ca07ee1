package local

// Waiting for a service against the real Engine: a replica is ready only
// once it has stayed up, without a restart, for the service's ready_after
// (5s by default), so one that dies within seconds of its start fails the
// wait that ferry up --wait and ferry ci make.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// exiterSrc serves 200 on :8080 and, with EXIT_AFTER (a duration), exits
// with code 7 after that long.
const exiterSrc = `package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	go http.ListenAndServe(":8080", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
	fmt.Println("serving")
	if d, err := time.ParseDuration(os.Getenv("EXIT_AFTER")); err == nil {
		time.Sleep(d)
		fmt.Println("exiting on purpose after", d)
		os.Exit(7)
	}
	select {}
}
`

// upAndWait writes ferry.star with an image of exiterSrc and the rules
// given, runs the image and the service web as ferry up does, and then
// waits for web as ferry up --wait does. It returns the error of the one
// that failed.
func upAndWait(t *testing.T, rules string) error {
	t.Helper()
	docker := dockertest.NeedDocker(t)
	w := newWorkspace(t, docker, map[string]string{
		"ferry.star":     `image(name = "img", repo = "REPO", context = "app")` + "\n" + rules,
		"app/Dockerfile": "FROM scratch\nCOPY exiter /exiter\nENTRYPOINT [\"/exiter\"]\n",
	})
	body, err := os.ReadFile(dockertest.StaticBinary(t, "exiter", exiterSrc))
	if err != nil {
		t.Fatal(err)
	}
	w.Write("app/exiter", string(body)+w.Repo) // unique layers, as copyHello does
	if err := os.Chmod(filepath.Join(w.Root, "app/exiter"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := NewTarget(docker, nil)
	t.Cleanup(func() { target.Down(context.Background(), w.Project, true) })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var fails []string
	bus := engine.NewBus(redact.New(), engine.SinkFunc(func(e engine.Event) {
		if e.Kind == engine.EventRuleFail {
			mu.Lock()
			fails = append(fails, e.Rule+": "+e.Err)
			mu.Unlock()
		}
	}))
	ws := &engine.Workspace{Root: w.Root, File: filepath.Join(w.Root, engine.FileName)}
	res, err := engine.Evaluate(ctx, engine.Options{
		Workspace: ws,
		Plugins:   []engine.Plugin{core.Plugin{}, w.images(nil), &deploy.Plugin{Project: w.Project, Target: target}},
		Events:    bus,
	})
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.LoadState(ws, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewEngine(ws, g, st, bus).Run(ctx, []string{"img", "web"}, engine.RunOptions{Jobs: 2}); err != nil {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("up: %v: %s", err, strings.Join(fails, "\n"))
	}
	return g.Rule("web").(*deploy.Rule).WaitHealthy(ctx, time.Minute, io.Discard)
}

// A replica that exits 300 ms or 3 s after its start fails the wait with
// its exit code and last log lines, whether Docker restarts it or not and
// whether it has a health check (which it passes until it exits) or not.
func TestWaitCrashAfterStart(t *testing.T) {
	t.Parallel()
	for _, after := range []string{"300ms", "3s"} {
		for _, restart := range []string{"no", "always"} {
			for _, health := range []string{"", `, health = health.http("/", port = 8080, interval = "100ms")`} {
				name := fmt.Sprintf("after %s, restart %s, health %v", after, restart, health != "")
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					err := upAndWait(t, fmt.Sprintf(`service(name = "web", image = "img", restart = %q, env = {"EXIT_AFTER": %q}%s)`, restart, after, health))
					if err == nil {
						t.Fatal("up and the wait passed")
					}
					for _, want := range []string{"code 7", "its last log lines:", "exiting on purpose after " + after} {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("the error lacks %q:\n%v", want, err)
						}
					}
				})
			}
		}
	}
}

// A replica that keeps running passes the wait, with a check and without,
// once it has run for ready_after.
func TestWaitStableService(t *testing.T) {
	for _, health := range []string{"", `, health = health.http("/", port = 8080, interval = "100ms")`} {
		t.Run(fmt.Sprintf("health %v", health != ""), func(t *testing.T) {
			t.Parallel()
			if err := upAndWait(t, `service(name = "web", image = "img", ready_after = "2s"`+health+`)`); err != nil {
				t.Fatal(err)
			}
		})
	}
}
