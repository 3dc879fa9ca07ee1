package main

import (
	"fmt"
	"github.com/ferryhq/ferry/bench/internal/measure"
	"io"
	"strings"
)

// Report holds every figure of one run of the bench.
type Report struct {
	Layout       Layout `json:"layout"`
	ContextFiles int    `json:"context_files"` // the data files, the Dockerfile and the marker
	ContextBytes int64  `json:"context_bytes"`
	Platform     string `json:"platform"`
	FerryVersion string `json:"ferry_version"`
	Engine       string `json:"engine"`
	ColdRuns     int    `json:"cold_runs"`
	WarmRuns     int    `json:"warm_runs"`
	BuildRuns    int    `json:"build_runs"`

	Generate float64 `json:"generate_s"`
	Sync     float64 `json:"sync_s"`

	Cold        measure.Stats `json:"ferry_plan_cold"`
	ColdRSSKB   int64         `json:"ferry_plan_cold_max_rss_kib"`
	FerryBuild  measure.Stats `json:"ferry_run_first_build"`
	StateBytes  int64         `json:"state_bytes"`
	Warm        measure.Stats `json:"ferry_plan_warm"`
	WarmRSSKB   int64         `json:"ferry_plan_warm_max_rss_kib"`
	Walk        measure.Stats `json:"bare_walk_in_process"`
	WalkProcess measure.Stats `json:"bare_walk_process"`

	DockerSend  measure.Stats `json:"docker_build_until_step_1"`
	DockerBuild measure.Stats `json:"docker_build_total"`
	DockerSent  string        `json:"docker_build_context_size"`

	Load    measure.Load `json:"machine"`
	Targets []Target     `json:"targets"`
}

// A Target is one performance goal and whether this run met it.
type Target struct {
	Goal string `json:"goal"`
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
}

// warmLimit is how many times a bare stat walk a warm key may take.
const warmLimit = 1.5

func targets(r *Report) []Target {
	ratio := r.Warm.Median / r.Walk.Median
	return []Target{{
		Goal: fmt.Sprintf("warm key (ferry plan, whole process) within %.1f× a bare stat walk of the tree", warmLimit),
		Got:  fmt.Sprintf("%.2f× (%.0f ms ÷ %.0f ms)", ratio, r.Warm.Median, r.Walk.Median),
		Pass: ratio <= warmLimit,
	}}
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("image() context key: %d files, %s (%d data files in %d folders, a Dockerfile and one small file)",
		r.ContextFiles, human(r.ContextBytes), r.Layout.Files, folders(r.Layout.Files))
	p("%s; %s; %s", r.Platform, r.Engine, r.FerryVersion)
	p("generated in %.1f s, written back (sync) in %.1f s; the page cache is warm for every figure below", r.Generate, r.Sync)
	p("")
	p("ferry plan ctx, whole process")
	p("  cold (no .ferry: reads and hashes every file)    %s", r.Cold)
	p("                                                    %s read and hashed: %.0f MB/s; peak RSS %.0f MB",
		human(r.ContextBytes), float64(r.ContextBytes)/1e6/(r.Cold.Median/1e3), float64(r.ColdRSSKB)*1024/1e6)
	p("  warm (stat cache, nothing changed)               %s", r.Warm)
	p("                                                    peak RSS %.0f MB; .ferry/state %s", float64(r.WarmRSSKB)*1024/1e6, human(r.StateBytes))
	p("  samples (ms): %s", samples(r.Warm.All))
	p("bare stat walk (filepath.WalkDir + os.Lstat of every file)")
	p("  in the bench's process                           %s", r.Walk)
	p("  as a process of its own (start-up included)      %s", r.WalkProcess)
	p("")
	p("ferry run ctx: first build (hash, send, build)     %.0f ms", r.FerryBuild.Median)
	p("docker build, classic builder, same context (%s sent)", r.DockerSent)
	p("  until \"Step 1/\": context walked, sent, unpacked  %s", r.DockerSend)
	p("  whole build                                      %s", r.DockerBuild)
	p("")
	p("ratios (medians)")
	p("  warm ferry plan ÷ bare walk in process           %.2f×", r.Warm.Median/r.Walk.Median)
	p("  the same, fastest runs (less sensitive to load)  %.2f×", r.Warm.Min/r.Walk.Min)
	p("  warm ferry plan ÷ bare walk as a process         %.2f×", r.Warm.Median/r.WalkProcess.Median)
	p("  cold ferry plan ÷ bare walk in process           %.1f×", r.Cold.Median/r.Walk.Median)
	p("  docker build's sending ÷ warm ferry plan         %.1f×", r.DockerSend.Median/r.Warm.Median)
	p("  docker build's sending ÷ cold ferry plan         %.2f×", r.DockerSend.Median/r.Cold.Median)
	p("")
	p("%s", loadText(r.Load))
	p("")
	p("targets")
	for _, t := range r.Targets {
		verdict := "FAIL"
		if t.Pass {
			verdict = "PASS"
		}
		p("  %-4s  %s: %s", verdict, t.Goal, t.Got)
	}
}

// folders counts the folders the layout makes, data/ included.
func folders(files int) int {
	leaves := (files + perLeaf - 1) / perLeaf
	return 1 + (leaves+perMid-1)/perMid + leaves
}

func samples(all []float64) string {
	var parts []string
	for _, v := range all {
		parts = append(parts, fmt.Sprintf("%.0f", v))
	}
	return strings.Join(parts, " ")
}
