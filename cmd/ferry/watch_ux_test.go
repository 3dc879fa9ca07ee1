package main

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// eventRecord is a line of an --events file, decoded strictly enough to
// catch a renamed field.
type eventRecord struct {
	Time       string   `json:"time"`
	Kind       string   `json:"kind"`
	Rule       string   `json:"rule"`
	Level      string   `json:"level"`
	Text       string   `json:"text"`
	Stream     string   `json:"stream"`
	Pos        string   `json:"pos"`
	Reason     string   `json:"reason"`
	Error      string   `json:"error"`
	Attempt    int      `json:"attempt"`
	DurationMS *float64 `json:"duration_ms"`
	Summary    *struct {
		Ran         []string `json:"ran"`
		Cached      []string `json:"cached"`
		Failed      []string `json:"failed"`
		Skipped     []string `json:"skipped"`
		Interrupted bool     `json:"interrupted"`
		DurationMS  float64  `json:"duration_ms"`
	} `json:"summary"`
}

// readEvents decodes an --events file, failing on any line that is not one
// complete JSON object with known fields.
func readEvents(t *testing.T, name string) []eventRecord {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []eventRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		var e eventRecord
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("%s: line %q: %v", name, sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

func TestEventsFile(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "gen", cmd = "echo generated", srcs = ["in.txt"])
task(name = "bad", cmd = "echo oops >&2; exit 3", deps = ["gen"])
`,
		"in.txt": "x\n",
	})
	r := ws.ferry(t, "--events", "ev.ndjson", "run", "--keep-going")
	r.wantCode(t, 1)
	evs := readEvents(t, ws.path("ev.ndjson"))
	var kinds []string
	for _, e := range evs {
		if e.Time == "" {
			t.Errorf("event without time: %+v", e)
		}
		kinds = append(kinds, e.Kind+":"+e.Rule)
		switch {
		case e.Kind == "rule.done" && e.Rule == "gen":
			if e.DurationMS == nil || *e.DurationMS <= 0 {
				t.Errorf("rule.done without a duration: %+v", e)
			}
		case e.Kind == "rule.output" && e.Rule == "gen":
			if e.Text != "generated" || e.Stream != "stdout" {
				t.Errorf("output event: %+v", e)
			}
		case e.Kind == "rule.failed":
			if e.Rule != "bad" || !strings.Contains(e.Error, "exit") {
				t.Errorf("failed event: %+v", e)
			}
		case e.Kind == "run.done":
			if e.Summary == nil || !slices.Equal(e.Summary.Ran, []string{"gen"}) || !slices.Equal(e.Summary.Failed, []string{"bad"}) || e.Summary.Cached == nil {
				t.Errorf("run.done summary: %+v", e.Summary)
			}
		}
	}
	for _, want := range []string{"run.start:", "rule.start:gen", "rule.output:gen", "rule.done:gen", "rule.start:bad", "rule.failed:bad", "run.done:"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("no %s event in %q", want, kinds)
		}
	}

	r = ws.ferry(t, "--events", "no/such/dir/ev.ndjson", "run")
	r.wantCode(t, 2)
	r.wantStderr(t, "--events: open no/such/dir/ev.ndjson", "give a file in a folder you can write to")
}

const profileStar = `
task(name = "build", cmd = "echo build >> runs.log")
task(name = "tools", cmd = "echo tools >> runs.log", profiles = ["debug"])
task(name = "trace", cmd = "echo trace >> runs.log", profiles = ["debug", "perf"], deps = ["build"])
`

func TestProfiles(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": profileStar})
	ws.ferryJSON(t, "run").wantRan(t, []string{"build"}, nil)
	ws.ferryJSON(t, "--profile", "perf", "run").wantRan(t, []string{"trace"}, []string{"build"})
	ws.ferryJSON(t, "run", "tools").wantRan(t, []string{"tools"}, nil)
	ws.ferryJSON(t, "--profile", "debug", "run").wantRan(t, nil, []string{"build", "tools", "trace"})

	r := ws.ferry(t, "--profile", "debgu", "run")
	r.wantCode(t, 2)
	r.wantStderr(t, `--profile debgu: no rule has this profile (did you mean "debug"?)`)

	bad := newWorkspace(t, map[string]string{"ferry.star": `task(name = "a", cmd = "true", profiles = ["no good"])` + "\n"})
	r = bad.ferry(t, "run")
	r.wantCode(t, 2)
	r.wantStderrMatch(t, `ferry\.star:1:5: task "a": profiles: "no good" is not a profile name`)

	bad = newWorkspace(t, map[string]string{"ferry.star": `task(name = "a", cmd = "true", trigger = "sometimes")` + "\n"})
	r = bad.ferry(t, "run")
	r.wantCode(t, 2)
	r.wantStderrMatch(t, `ferry\.star:1:5: task "a": trigger: got "sometimes", want "auto" or "manual"`)
}

func TestWatchManualTrigger(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `
task(name = "build", cmd = "echo build >> runs.log", srcs = ["build.src"])
task(name = "seed", cmd = "echo seed >> runs.log", srcs = ["seed.src"], deps = ["build"], trigger = "manual")
`,
		"build.src": "v1\n",
		"seed.src":  "v1\n",
	})
	p := ws.start(t, append(slices.Clone(jsonArgs), "--events", "ev.ndjson", "watch")...)
	eventually(t, "the first run and the watch to start", func() bool {
		return strings.Contains(p.stderr.String(), "watching ")
	})
	if got := []int{ws.countLines("runs.log", "build"), ws.countLines("runs.log", "seed")}; !slices.Equal(got, []int{1, 0}) {
		t.Fatalf("first run: runs of build, seed = %v, want [1 0]\n%s", got, p.stderr.String())
	}
	// A change to the manual rule's input does not run it.
	ws.write(t, "seed.src", "v2\n")
	eventually(t, "the batch to be logged", func() bool {
		return regexp.MustCompile(`seed\.src[^"]*; no selected rule uses them`).MatchString(p.stderr.String())
	})

	r := ws.ferry(t, "trigger", "seed")
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "runs seed now") {
		t.Errorf("trigger's stdout: %q", r.stdout)
	}
	eventually(t, "seed to run", func() bool { return ws.countLines("runs.log", "seed") == 1 })
	// Triggered again, it runs although it is up to date.
	ws.ferry(t, "trigger", "seed").wantCode(t, 0)
	eventually(t, "seed to run again", func() bool { return ws.countLines("runs.log", "seed") == 2 })
	// The events file is written as events happen.
	eventually(t, "seed's rule.done event in the events file", func() bool {
		n := 0
		for _, e := range readEvents(t, ws.path("ev.ndjson")) {
			if e.Kind == "rule.done" && e.Rule == "seed" {
				n++
			}
		}
		return n == 2
	})

	r = ws.ferry(t, "trigger", "sed")
	r.wantCode(t, 2)
	r.wantStderr(t, `no rule named "sed" (did you mean "seed"?)`)

	p.cmd.Process.Signal(os.Interrupt)
	p.wait(t).wantCode(t, 130)
	if got := []int{ws.countLines("runs.log", "build"), ws.countLines("runs.log", "seed")}; !slices.Equal(got, []int{1, 2}) {
		t.Errorf("runs of build, seed = %v, want [1 2]", got)
	}
	if ws.exists(".ferry/watch.sock") {
		t.Error("the watch left .ferry/watch.sock behind")
	}
	r = ws.ferry(t, "trigger", "seed")
	r.wantCode(t, 2)
	r.wantStderr(t, "no ferry watch is running in ", "start one with `ferry watch`, or run the rules once with `ferry run seed`")
}

func TestWatchSettings(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{
		"ferry.star": `watch_settings(debounce = "20ms", max_batch_age = "1s", ignore = ["scratch"])
task(name = "a", cmd = "echo a >> runs.log", srcs = ["src.txt"])
`,
		"scratch/x": "1\n",
		"src.txt":   "1\n",
	})
	p := ws.start(t, append(slices.Clone(jsonArgs), "watch")...)
	eventually(t, "the watch to start", func() bool { return strings.Contains(p.stderr.String(), "watching ") })
	if !strings.Contains(p.stderr.String(), "watching with watch_settings from ferry.star:1:15") {
		t.Errorf("the settings were not applied\n%s", p.stderr.String())
	}
	ws.write(t, "scratch/x", "2\n")
	ws.write(t, "src.txt", "2\n")
	eventually(t, "the src.txt batch", func() bool { return strings.Contains(p.stderr.String(), "src.txt); running a") })
	if regexp.MustCompile(`changed \([^)]*scratch`).MatchString(p.stderr.String()) {
		t.Errorf("a change under the ignored scratch was reported\n%s", p.stderr.String())
	}
	p.cmd.Process.Signal(os.Interrupt)
	p.wait(t).wantCode(t, 130)

	for _, tt := range []struct{ star, want string }{
		{`watch_settings(debounce = "1s", max_batch_age = "100ms")`, `ferry\.star:1:15: watch_settings: max_batch_age \(100ms\) is shorter than debounce \(1s\)`},
		{`watch_settings(debounce = "0s")`, `ferry\.star:1:15: watch_settings: debounce: got 0s, want at least 1ms`},
		{`watch_settings(ignore = ["[x"])`, `ferry\.star:1:15: watch_settings: ignore: `},
		{"watch_settings()\nwatch_settings(debounce = \"1s\")", `ferry\.star:2:15: watch_settings is called a second time \(first at ferry\.star:1:15\); call it once`},
		{`watch_settings(debounse = "1s")`, `unexpected keyword argument "debounse" \(did you mean "debounce"\?\)`},
	} {
		bad := newWorkspace(t, map[string]string{"ferry.star": tt.star + "\n"})
		r := bad.ferry(t, "run")
		r.wantCode(t, 2)
		r.wantStderrMatch(t, tt.want)
	}
}
