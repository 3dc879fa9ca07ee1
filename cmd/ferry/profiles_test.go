package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// FERRY_PROFILES enables profiles as --profile does, and adds to it.
func TestProfilesFromEnvironment(t *testing.T) {
	t.Parallel()
	ws := newWorkspace(t, map[string]string{"ferry.star": profileStar})
	cmd := exec.Command(ferryBin, append(slices.Clone(jsonArgs), "run")...)
	cmd.Dir = ws.dir
	cmd.Env = append(os.Environ(), "FERRY_PROFILES=perf")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("FERRY_PROFILES=perf ferry run: %v\n%s", err, out)
	}
	if got := []int{ws.countLines("runs.log", "build"), ws.countLines("runs.log", "tools"), ws.countLines("runs.log", "trace")}; !slices.Equal(got, []int{1, 0, 1}) {
		t.Errorf("runs of build, tools, trace: %v, want [1 0 1]", got)
	}
}

// ferry up leaves out services and jobs whose profiles are not enabled,
// and does not remove them as undeclared either.
func TestUpProfiles(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "web", image = "app-image")
job(name = "debug-job", image = "app-image", command = ["migrate"], profiles = ["debug"])
`)
	r := dw.run(t, "up")
	r.wantCode(t, 0)
	if slices.Contains(r.done(), "debug-job") {
		t.Errorf("up ran debug-job without its profile\n%s", r)
	}
	r = dw.run(t, "--profile", "debug", "up")
	r.wantCode(t, 0)
	wantSet(t, "rules run by up --profile debug", r.done(), []string{"debug-job"}, r)
	r = dw.run(t, "up")
	r.wantCode(t, 0)
	got := strings.Join(dw.containers(t), "\n")
	if !strings.Contains(got, dw.project+"-debug-job") || !strings.Contains(got, dw.project+"-web") {
		t.Errorf("containers after a plain up: %s\n%s", got, r)
	}
}
