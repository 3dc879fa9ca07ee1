package main

// The save → answer part: a compiled Go service with 2 replicas and a
// health check, whose binary a task builds into the image's context and
// live_update syncs into the running containers and restarts them with,
// so that no image is built on the way. Each save rewrites a .go file with
// a new version number; the time is from just before the write to the
// moment every replica answers the new number.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/bench/internal/measure"
)

// targetSaveP50 is the target for the median save → answer time.
const targetSaveP50 = 3 * time.Second

// SaveReport holds the save → answer figures.
type SaveReport struct {
	Saves  int           `json:"saves"`
	Answer measure.Stats `json:"answer"` // from the write to every replica answering the new version
	// Medians of the phases, from ferry's events: the batch reaching the
	// run (save → the build's start), the go build task, the live update
	// (sync and restart, as ferry reports them), and the replicas
	// answering after the live update ended.
	Phases      map[string]float64 `json:"phase_medians_ms"`
	Met         bool               `json:"target_met"`
	LiveUpdates int                `json:"live_updates"`
	Builds      int                `json:"image_builds_after_start"`
	Load        measure.Load       `json:"machine"`
}

// versionMain is the service: GET /version answers its version, and
// /healthz its health.
const versionMain = `package main

import (
	"fmt"
	"net/http"
)

const version = "0"

func main() {
	http.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, version) })
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	http.ListenAndServe(":8080", nil)
}
`

func writeSaveWorkspace(dir, repo string) error {
	files := map[string]string{
		"app/main.go":    versionMain,
		"app/go.mod":     "module example.com/app\n\ngo 1.22\n",
		"app/Dockerfile": "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
		"ferry.star": fmt.Sprintf(`task(name = "app-bin", cmd = "go build -o app .", dir = "app", env = {"CGO_ENABLED": "0", "GOOS": "linux"}, srcs = ["app/main.go", "app/go.mod"], outs = ["app/app"])
image(name = "app-image", repo = %q, context = "app", ignore = ["*.go", "go.mod"], deps = ["app-bin"], live_update = [
    sync("app/app", "/app"),
    restart_container(trigger = ["app/app"]),
])
service(name = "web", image = "app-image", replicas = 2, ports = ["8080"], health = health.http("/healthz", port = 8080, interval = "1s"))
`, repo),
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func saveAnswer(ctx context.Context, c Config, log io.Writer) (rep *SaveReport, err error) {
	step := func(format string, args ...any) { fmt.Fprintf(log, "bench/liveupdate: "+format+"\n", args...) }
	ferry, err := filepath.Abs(c.Ferry)
	if err != nil {
		return nil, err
	}
	step("save → answer: ferry watch on a Go service with 2 replicas and a health check")
	w, err := startWatch(ctx, ferry, "save", writeSaveWorkspace, func(root string) []string {
		return []string{"--events", filepath.Join(root, "events.jsonl")}
	}, step)
	if err != nil {
		return nil, err
	}
	defer func() {
		err = errors.Join(err, w.stop(ctx, "removing the containers, network and images the save → answer part created"))
	}()
	ws, project, out, exited, events := w.dir, w.project, w.out, w.exited, filepath.Join(w.root, "events.jsonl")
	ids, err := measure.Output(ctx, "docker", "ps", "-q", "--no-trunc", "--filter", "label=ferry.project="+project, "--filter", "label=ferry.rule=web")
	if err != nil || len(strings.Fields(ids)) != 2 {
		return nil, fmt.Errorf("want 2 web containers after the first run, have %q (%v)\n%s", ids, err, measure.Tail(out.String(), 20))
	}
	containers := strings.Fields(ids)
	startLog := len(out.String())

	const warmup = 2
	step("%d warm-up saves of app/main.go, then %d timed ones", warmup, c.Saves)
	client := &http.Client{Timeout: time.Second}
	type save struct{ before, answered time.Time }
	var saves []save
	var load0 measure.CPUSample
	for n := 1; n <= warmup+c.Saves; n++ {
		if n == warmup+1 {
			load0 = measure.SampleCPU()
		}
		time.Sleep(500 * time.Millisecond)
		src := strings.Replace(versionMain, `const version = "0"`, fmt.Sprintf("const version = %q", strconv.Itoa(n)), 1)
		before := time.Now()
		if err := os.WriteFile(filepath.Join(ws, "app/main.go"), []byte(src), 0o644); err != nil {
			return nil, err
		}
		if err := waitVersion(ctx, client, containers, strconv.Itoa(n), time.Minute); err != nil {
			ps, _ := measure.Output(ctx, "docker", "ps", "-a", "--filter", "label=ferry.project="+project)
			return nil, fmt.Errorf("save %d: %w\n%s\n%s", n, err, ps, measure.Tail(out.String(), 20))
		}
		if n > warmup {
			saves = append(saves, save{before, time.Now()})
		}
	}
	rep = &SaveReport{Saves: c.Saves}
	rep.Load = measure.LoadBetween(load0, measure.SampleCPU(), runtime.NumCPU())
	waitFor(ctx, 10*time.Second, exited, out, func() bool {
		return strings.Count(out.String()[startLog:], `"live-updated in `) >= warmup+c.Saves
	})
	log2 := out.String()[startLog:]
	rep.LiveUpdates = strings.Count(log2, `"live-updated in `)
	rep.Builds = strings.Count(log2, "Successfully built") + strings.Count(log2, "naming to ")
	if rep.Builds > 0 || rep.LiveUpdates < warmup+c.Saves {
		return nil, fmt.Errorf("%d image builds and %d live updates for %d saves; want no build and a live update each\n%s", rep.Builds, rep.LiveUpdates, warmup+c.Saves, measure.Tail(log2, 30))
	}
	evs, err := readEvents(events)
	if err != nil {
		return nil, err
	}
	var answer []time.Duration
	phases := map[string][]float64{}
	for n, s := range saves {
		answer = append(answer, s.answered.Sub(s.before))
		// The events of this save, up to the next one: the build task's
		// start and end, the live update's end; each the first after the
		// write. The replicas may answer before ferry reports the live
		// update done (the restart has returned, the event is on its way).
		end := time.Now()
		if n+1 < len(saves) {
			end = saves[n+1].before
		}
		var buildStart, buildEnd, liveEnd time.Time
		for _, e := range evs {
			if e.Time.Before(s.before) || e.Time.After(end) {
				continue
			}
			switch {
			case e.Kind == "rule.start" && e.Rule == "app-bin" && buildStart.IsZero():
				buildStart = e.Time
			case e.Kind == "rule.done" && e.Rule == "app-bin" && buildEnd.IsZero():
				buildEnd = e.Time
			case e.Kind == "rule.live_updated" && e.Rule == "app-image" && liveEnd.IsZero():
				liveEnd = e.Time
			}
		}
		if buildStart.IsZero() || buildEnd.IsZero() || liveEnd.IsZero() {
			return nil, fmt.Errorf("the events of the save at %s lack the build or the live update", s.before.Format(time.RFC3339Nano))
		}
		phases["save → build starts"] = append(phases["save → build starts"], measure.MS(buildStart.Sub(s.before)))
		phases["go build"] = append(phases["go build"], measure.MS(buildEnd.Sub(buildStart)))
		phases["live update (sync + restart)"] = append(phases["live update (sync + restart)"], measure.MS(liveEnd.Sub(buildEnd)))
		phases["answering after it"] = append(phases["answering after it"], measure.MS(max(s.answered.Sub(liveEnd), 0)))
	}
	rep.Answer = measure.StatsOf(answer)
	rep.Met = rep.Answer.Median <= measure.MS(targetSaveP50)
	rep.Phases = map[string]float64{}
	for k, v := range phases {
		sort.Float64s(v)
		rep.Phases[k] = v[len(v)/2]
	}
	return rep, nil
}

// waitVersion polls every container until each answers want on its
// published port, which a restart may change.
func waitVersion(ctx context.Context, client *http.Client, containers []string, want string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	done := make([]bool, len(containers))
	urls := make([]string, len(containers))
	for time.Now().Before(deadline) && ctx.Err() == nil {
		all := true
		for n, c := range containers {
			if done[n] {
				continue
			}
			if urls[n] == "" {
				port, err := firstLine(measure.Output(ctx, "docker", "inspect", "-f", `{{range $p, $b := .NetworkSettings.Ports}}{{range $b}}{{.HostPort}} {{end}}{{end}}`, c))
				if err == nil && port != "" {
					urls[n] = "http://127.0.0.1:" + strings.Fields(port)[0] + "/version"
				}
			}
			if urls[n] != "" {
				resp, err := client.Get(urls[n])
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					done[n] = string(b) == want
				} else {
					urls[n] = "" // look the port up again
				}
			}
			all = all && done[n]
		}
		if all {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("not every replica answered version %s within %s", want, limit)
}

type event struct {
	Kind string    `json:"kind"`
	Rule string    `json:"rule"`
	Time time.Time `json:"time"`
}

func readEvents(file string) ([]event, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}

func (r *SaveReport) writeText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("save → answer: a Go service with 2 replicas and a health check, its binary live-updated (sync + restart_container)")
	p("answer      %s (from the write of main.go to every replica answering the new version)", r.Answer)
	verdict := "met"
	if !r.Met {
		verdict = "MISSED"
	}
	p("target      p50 ≤ %.0f s: %s", targetSaveP50.Seconds(), verdict)
	for _, k := range []string{"save → build starts", "go build", "live update (sync + restart)", "answering after it"} {
		p("  %-30s %7.0f ms (median)", k, r.Phases[k])
	}
	p("checks      %d live updates, %d image builds", r.LiveUpdates, r.Builds)
	p("%s", r.Load.Describe("other processes (the Docker Engine included)", "timed saves", busyPct))
}
