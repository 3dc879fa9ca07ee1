package image

import (
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine"
)

// The progress of a pull is reported per layer, when a layer appears or
// finishes and each time the bytes pass a tenth, and read as a bar.
func TestPullTracker(t *testing.T) {
	var got []engine.PullState
	tr := &pullTracker{state: engine.PullState{Image: "reg/pg:16"}, index: map[string]int{}, report: func(p engine.PullState) { got = append(got, p) }}
	for _, p := range []dockerapi.LayerProgress{
		{ID: "a", Status: "Pulling fs layer"},
		{ID: "b", Status: "Already exists"},
		{ID: "a", Status: "Downloading", Current: 10e3, Total: 31.2e6},
		{ID: "a", Status: "Downloading", Current: 20e3, Total: 31.2e6},
		{ID: "a", Status: "Downloading", Current: 14.1e6, Total: 31.2e6},
		{ID: "a", Status: "Download complete"},
		{ID: "a", Status: "Extracting", Current: 5e6, Total: 31.2e6},
		{ID: "a", Status: "Pull complete"},
	} {
		tr.layer(p)
	}
	tr.finish("reg/pg@sha256:abc")
	var texts []string
	for _, p := range got {
		texts = append(texts, p.String())
	}
	want := []string{
		"pulling reg/pg:16, 0/1 layers",
		"pulling reg/pg:16, 1/2 layers",
		"pulling reg/pg:16 [#########···········] 45% of 31.2 MB, 1/2 layers",
		"pulling reg/pg:16 [####################] 100% of 31.2 MB, 1/2 layers",
		"pulling reg/pg:16 [####################] 100% of 31.2 MB, 2/2 layers",
		"pulled reg/pg:16 (reg/pg@sha256:abc)",
	}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
	if got[0].Layers[0].Status != "Pulling fs layer" {
		t.Errorf("a report shares the tracker's layers: %+v", got[0].Layers)
	}
}

func TestLocalRef(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for in, want := range map[string]string{
		"postgres:16":                                "postgres:16",
		"postgres:16@" + d:                           "postgres@" + d,
		"127.0.0.1:5000/a/b:v1@" + d:                 "127.0.0.1:5000/a/b@" + d,
		"127.0.0.1:5000/a/b@" + d:                    "127.0.0.1:5000/a/b@" + d,
		"ferrytest-hello:" + strings.Repeat("a", 12): "ferrytest-hello:" + strings.Repeat("a", 12),
	} {
		if got := LocalRef(in); got != want {
			t.Errorf("LocalRef(%q) = %q, want %q", in, got, want)
		}
	}
}
