// Command health measures what health gating adds to `ferry up`: `ferry up
// --wait` of a service with an http health check whose server is ready at
// once, against `ferry up` of the same service without a check. The claim
// it checks is that gating adds at most one probe interval.
//
// It generates two workspaces (one project each) in which a task compiles a
// static Go HTTP server that listens at once, and an image() rule packs it
// FROM scratch (nothing is pulled). After an untimed cold up that builds
// the image, each round runs `ferry down` (untimed) and then times the whole
// `ferry up` process, alternating the two variants so that a slow patch of
// the machine hits both. It removes everything it made.
//
// Usage:
//
//	go run ./bench/health -ferry bin/ferry [-runs 10] [-json]
//
// It exits 0 whenever the measurement was sound, even when the claim does
// not hold (the report says so); 1 when a run failed.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/ferryhq/ferry/bench/internal/measure"
)

// interval is the probe interval of the gated service.
const interval = time.Second

const appMain = `package main

import (
	"fmt"
	"net/http"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	http.ListenAndServe(":8080", nil)
}
`

// A Report is what the bench measured.
type Report struct {
	Platform     string        `json:"platform"`
	Engine       string        `json:"engine"`
	Runs         int           `json:"runs"`
	Interval     time.Duration `json:"interval_ns"`
	Up           measure.Stats `json:"up"`
	UpWait       measure.Stats `json:"up_wait"`
	AddedMedian  float64       `json:"added_median_ms"` // median of the per-round differences
	Holds        bool          `json:"holds"`
	MachineLoad  string        `json:"machine_load"`
	FerryVersion string        `json:"ferry_version"`
}

func main() {
	ferry := flag.String("ferry", "", "path of the ferry binary to measure (required; `make build` writes bin/ferry)")
	runs := flag.Int("runs", 10, "timed rounds (one up and one up --wait each)")
	asJSON := flag.Bool("json", false, "print the figures as JSON")
	flag.Parse()
	if *ferry == "" || flag.NArg() > 0 || *runs < 1 {
		measure.Usage("go run ./bench/health -ferry bin/ferry [-runs N] [-json]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench(ctx, *ferry, *runs, os.Stderr)
	if err != nil {
		measure.Fail("bench/health", err)
	}
	measure.Print(rep, *asJSON, rep.WriteText)
}

// variant is one of the two workspaces.
type variant struct {
	dir, project string
	up           []string // the timed command
	check        string   // what the up's log must say
}

func bench(ctx context.Context, ferry string, runs int, log io.Writer) (rep *Report, err error) {
	step := func(format string, args ...any) { fmt.Fprintf(log, "bench/health: "+format+"\n", args...) }
	if ferry, err = filepath.Abs(ferry); err != nil {
		return nil, err
	}
	rep = &Report{Platform: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()), Runs: runs, Interval: interval}
	if rep.FerryVersion, err = measure.Output(ctx, ferry, "version"); err != nil {
		return nil, fmt.Errorf("ferry binary: %w (run `make build` first)", err)
	}
	if rep.Engine, err = measure.Output(ctx, "docker", "version", "--format", "Docker Engine {{.Server.Version}}"); err != nil {
		return nil, fmt.Errorf("the Docker Engine is needed: %w", err)
	}
	rep.FerryVersion, rep.Engine = strings.TrimSpace(rep.FerryVersion), strings.TrimSpace(rep.Engine)
	root, err := os.MkdirTemp("", "ferry-bench-health-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	b := make([]byte, 4)
	rand.Read(b)
	id := hex.EncodeToString(b)
	repo := "ferrybench/health-" + id
	plain := &variant{dir: filepath.Join(root, "plain"), project: "ferrybench-plain-" + id, check: "is up"}
	gated := &variant{dir: filepath.Join(root, "gated"), project: "ferrybench-gated-" + id, check: "web is healthy after"}
	plain.up = []string{ferry, "--project", plain.project, "up"}
	gated.up = []string{ferry, "--project", gated.project, "up", "--wait"}
	defer func() {
		step("removing the containers, networks and images it created")
		for _, v := range []*variant{plain, gated} {
			if _, derr := measure.Command(context.WithoutCancel(ctx), v.dir, nil, ferry, "--project", v.project, "down"); derr != nil {
				err = errors.Join(err, derr)
			}
		}
		if ids, _ := exec.Command("docker", "images", "-q", repo).Output(); len(ids) > 0 {
			exec.Command("docker", append([]string{"rmi", "-f"}, strings.Fields(string(ids))...)...).Run()
		}
	}()
	// ready_after = "0s": the figure is what probing costs; the stability
	// period is a wait the service asks for, as long as it says.
	health := fmt.Sprintf(", health = health.http(\"/\", port = 8080, interval = %q), ready_after = \"0s\"", interval)
	for _, v := range []*variant{plain, gated} {
		check := ""
		if v == gated {
			check = health
		}
		if err := writeWorkspace(v.dir, repo, check); err != nil {
			return nil, err
		}
		step("cold up of %s: compile, build the image, start the service", filepath.Base(v.dir))
		if _, err := measure.Command(ctx, v.dir, nil, v.up...); err != nil {
			return nil, err
		}
	}
	var ups, waits, added []time.Duration
	load0 := measure.SampleCPU()
	step("%d timed rounds of `ferry up` and `ferry up --wait`, each after `ferry down`", runs)
	for i := range runs {
		order := []*variant{plain, gated}
		if i%2 == 1 {
			order = []*variant{gated, plain}
		}
		var round [2]time.Duration
		for _, v := range order {
			if _, err := measure.Command(ctx, v.dir, nil, ferry, "--project", v.project, "down"); err != nil {
				return nil, err
			}
			r, err := measure.Command(ctx, v.dir, nil, v.up...)
			if err != nil {
				return nil, err
			}
			if !strings.Contains(string(r.Stderr), v.check) || !strings.Contains(string(r.Stderr), "1 ran, 2 up to date") {
				return nil, fmt.Errorf("%s did not start the service alone, or did not say %q:\n%s", strings.Join(v.up[1:], " "), v.check, measure.Tail(string(r.Stderr), 20))
			}
			if v == plain {
				round[0] = r.Wall
			} else {
				round[1] = r.Wall
			}
		}
		ups, waits, added = append(ups, round[0]), append(waits, round[1]), append(added, round[1]-round[0])
	}
	load := measure.LoadBetween(load0, measure.SampleCPU(), runtime.NumCPU())
	rep.Up, rep.UpWait = measure.StatsOf(ups), measure.StatsOf(waits)
	rep.AddedMedian = measure.StatsOf(added).Median
	rep.Holds = rep.AddedMedian <= measure.MS(interval)
	rep.MachineLoad = load.Describe("other processes (the Docker Engine included)", "timed runs", 15)
	return rep, nil
}

func writeWorkspace(dir, repo, health string) error {
	files := map[string]string{
		"app/main.go":    appMain,
		"app/go.mod":     "module example.com/app\n\ngo 1.22\n",
		"app/Dockerfile": "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
		"ferry.star": fmt.Sprintf(`task(name = "app-bin", cmd = "CGO_ENABLED=0 go build -trimpath -o app .", dir = "app", srcs = ["app/main.go", "app/go.mod"], outs = ["app/app"])
image(name = "app-image", repo = %q, context = "app", deps = ["app-bin"])
service(name = "web", image = "app-image"%s)
`, repo, health),
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

// WriteText prints the report as a table.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "ferry up with health gating: one service whose server is ready at once (%s; %s; %s)\n\n", r.Platform, r.Engine, r.FerryVersion)
	fmt.Fprintf(w, "  ferry up                       %s\n", r.Up)
	fmt.Fprintf(w, "  ferry up --wait (http check)   %s\n", r.UpWait)
	verdict := "holds"
	if !r.Holds {
		verdict = "DOES NOT HOLD"
	}
	fmt.Fprintf(w, "\n  added by gating: %.0f ms (median of %d paired rounds) = %.0f%% of the %s probe interval; claim \"at most one interval\" %s\n",
		r.AddedMedian, r.Runs, 100*r.AddedMedian/measure.MS(r.Interval), r.Interval, verdict)
	fmt.Fprintf(w, "  %s\n", r.MachineLoad)
}
