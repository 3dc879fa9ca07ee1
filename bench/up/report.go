package main

import (
	"fmt"
	"github.com/ferryhq/ferry/bench/internal/measure"
	"io"
	"strings"
)

// Report holds every figure of one run of the bench.
type Report struct {
	Services       int    `json:"services"`
	Platform       string `json:"platform"`
	FerryVersion   string `json:"ferry_version"`
	Engine         string `json:"engine"`
	ComposeVersion string `json:"compose_version,omitempty"`
	Image          string `json:"image"` // the reference ferry built (or, with -pulled, pulled), also used by Compose
	// Pulled says the services pulled their image from a registry on
	// loopback; RegistryRequests counts the requests it was sent during
	// the timed no-op runs.
	Pulled           bool  `json:"pulled,omitempty"`
	RegistryRequests int64 `json:"noop_registry_requests"`
	Runs             int   `json:"runs"`
	ComposeRuns      int   `json:"compose_runs"`

	FerryCold   measure.Stats `json:"ferry_cold"`
	FerryNoop   measure.Stats `json:"ferry_noop"`
	FerryEvents EventCount    `json:"ferry_noop_events"`
	// FerryColdEvents is the mutating events of the cold up: the check
	// that the event stream is read right.
	FerryColdEvents int    `json:"ferry_cold_mutating_events"`
	FerryCalls      Calls  `json:"ferry_noop_api_calls"`
	APINote         string `json:"api_note,omitempty"`

	ComposeCold   measure.Stats `json:"compose_cold"`
	ComposeNoop   measure.Stats `json:"compose_noop"`
	ComposeEvents EventCount    `json:"compose_noop_events"`
	ComposeCalls  Calls         `json:"compose_noop_api_calls"`

	Load    measure.Load `json:"machine"`
	Targets []Target     `json:"targets"`
}

// A Target is one performance goal and whether this run met it. A
// target that Must hold is a count, which a busy machine does not change:
// when it fails, the bench exits 1. Timings are reported only.
type Target struct {
	Goal string `json:"goal"`
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
	Must bool   `json:"must,omitempty"`
}

// failedMusts lists the goals of the targets that must hold and did not.
func failedMusts(ts []Target) []string {
	var out []string
	for _, t := range ts {
		if t.Must && !t.Pass {
			out = append(out, fmt.Sprintf("%s: %s", t.Goal, t.Got))
		}
	}
	return out
}

// noopLimitMS is the target for a no-op `ferry up` of 10 services.
const noopLimitMS = 60.0

func targets(r *Report) []Target {
	ts := []Target{{
		Goal: fmt.Sprintf("no-op ferry up < %.0f ms (median, whole process)", noopLimitMS),
		Got:  fmt.Sprintf("%.1f ms", r.FerryNoop.Median),
		Pass: r.FerryNoop.Median < noopLimitMS,
	}, {
		Goal: "mutating Engine events during the no-op ferry ups = 0",
		Got:  fmt.Sprint(r.FerryEvents.Mutating),
		Pass: r.FerryEvents.Mutating == 0,
		Must: true,
	}}
	if r.Pulled {
		ts = append(ts, Target{
			Goal: `registry requests during the no-op ferry ups (pull = "missing") = 0`,
			Got:  fmt.Sprint(r.RegistryRequests),
			Pass: r.RegistryRequests == 0,
			Must: true,
		})
	}
	if r.FerryCalls.Runs > 0 {
		ts = append(ts, Target{
			Goal: "mutating Engine API calls (POST/PUT/DELETE) by a no-op ferry up = 0",
			Got:  fmt.Sprintf("%d in %d runs", r.FerryCalls.Mutating, r.FerryCalls.Runs),
			Pass: r.FerryCalls.Mutating == 0,
			Must: true,
		})
	}
	return ts
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("ferry up with nothing changed: %d services of one image, in the local Docker Engine", r.Services)
	p("%s; %s; %s", r.Platform, r.Engine, r.FerryVersion)
	if r.ComposeVersion != "" {
		p("compose: %s", r.ComposeVersion)
	}
	if r.Pulled {
		p("image: %s (built FROM scratch by the workspace, pushed to a registry on loopback, pulled by ferry up; used by both tools)", r.Image)
	} else {
		p("image: %s (built FROM scratch by the workspace; used by both tools)", r.Image)
	}
	p("")
	p("ferry")
	p("  cold up (compile, build image, start %d services)  %.0f ms; %d mutating Engine events (checks the event count works)", r.Services, r.FerryCold.Median, r.FerryColdEvents)
	p("  no-op up, whole process                           %s", r.FerryNoop)
	p("  samples (ms): %s", samples(r.FerryNoop.All))
	p("  Engine events in the window of the %d no-op runs: %d; mutating, about this project's objects: %d%s",
		r.FerryNoop.N, r.FerryEvents.Total, r.FerryEvents.Mutating, list(r.FerryEvents.Seen))
	if r.FerryEvents.OtherMutating > 0 {
		p("    (%d mutating events about other programs' objects on the same Engine, not counted: %s)",
			r.FerryEvents.OtherMutating, strings.Join(r.FerryEvents.OtherSeen, ", "))
	}
	if r.Pulled {
		p("  registry requests during the %d no-op runs: %d", r.FerryNoop.N, r.RegistryRequests)
	}
	if r.FerryCalls.Runs > 0 {
		p("  Engine API calls of a no-op up (logging proxy): %s", r.FerryCalls)
	} else if r.APINote != "" {
		p("  Engine API calls: not counted (%s)", r.APINote)
	}
	if r.ComposeNoop.N > 0 {
		p("")
		p("compose baseline (same services, same image, pull_policy: never)")
		p("  cold up -d                                        %.0f ms", r.ComposeCold.Median)
		p("  no-op up -d, whole process                        %s", r.ComposeNoop)
		p("  samples (ms): %s", samples(r.ComposeNoop.All))
		p("  Engine events in the window of the %d no-op runs: %d; mutating, about its project's objects: %d%s",
			r.ComposeNoop.N, r.ComposeEvents.Total, r.ComposeEvents.Mutating, list(r.ComposeEvents.Seen))
		if r.ComposeCalls.Runs > 0 {
			p("  Engine API calls of a no-op up -d (logging proxy): %s", r.ComposeCalls)
		}
		p("")
		p("compose no-op ÷ ferry no-op (medians): %.1f×", r.ComposeNoop.Median/r.FerryNoop.Median)
	}
	p("")
	p("%s", loadText(r.Load))
	p("")
	p("targets")
	for _, t := range r.Targets {
		verdict := "FAIL"
		if t.Pass {
			verdict = "PASS"
		} else if t.Must {
			verdict = "FAIL!" // the bench exits 1
		}
		p("  %-5s  %s: %s", verdict, t.Goal, t.Got)
	}
}

func samples(all []float64) string {
	var parts []string
	for _, v := range all {
		parts = append(parts, fmt.Sprintf("%.1f", v))
	}
	return strings.Join(parts, " ")
}

func list(seen []string) string {
	if len(seen) == 0 {
		return ""
	}
	if len(seen) > 10 {
		seen = append(seen[:10:10], fmt.Sprintf("… %d more", len(seen)-10))
	}
	return " (" + strings.Join(seen, ", ") + ")"
}
