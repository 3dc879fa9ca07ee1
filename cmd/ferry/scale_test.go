package main

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ferry up --follow runs the autoscaler of examples/autoscale (with a
// shorter window and cooldown): api goes up under the load, back to 1 once
// the test stops the load, each decision logged with its reason and
// counted in ferry's metrics. The load runs until the scale-up is seen: a
// load of a fixed 8s could end, on a loaded machine, before the autoscaler
// had looked at it.
func TestUpFollowAutoscales(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	b := make([]byte, 4)
	rand.Read(b)
	id := hex.EncodeToString(b)
	project, repo := "ferrytest-"+id, "ferrytest/autoscale-"+id
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/autoscale")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, ".ferry"))
	star, err := os.ReadFile(filepath.Join(dir, "ferry.star"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(`"autoscale/app"`, `"`+repo+`"`, `window = "6s"`, `window = "3s"`, `cooldown = "15s"`, `cooldown = "4s"`, `"30", "45s"]`, `"30"]`).Replace(string(star))
	if s == string(star) || strings.Contains(s, `"45s"`) || !strings.Contains(s, repo) {
		t.Fatalf("the example's ferry.star changed; adapt this test:\n%s", star)
	}
	if err := os.WriteFile(filepath.Join(dir, "ferry.star"), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command(ferryBin, "-C", dir, "--project", project, "down", "--volumes").Run()
		ids, _ := exec.Command("docker", "images", "-q", repo).Output()
		for _, id := range strings.Fields(string(ids)) {
			exec.Command("docker", "rmi", "-f", id).Run()
		}
	})

	p := startFerry(t, dir, "--project", project, "up", "--follow")
	// 30 requests a second make 3 replicas; a starved load generator may
	// send fewer.
	up := regexp.MustCompile(`autoscale api: 1 → [234] replicas: \d+\.\d http_requests_total/s per replica over 3s, target 10\.0 http_requests_total/s`)
	eventually(t, "a scale-up", func() bool { return up.MatchString(p.stderr.String()) })
	if out, err := exec.Command("docker", "stop", project+"-load-1").CombinedOutput(); err != nil {
		t.Fatalf("stopping the load: %v\n%s", err, out)
	}
	eventually(t, "a scale-down to 1", func() bool { return strings.Contains(p.stderr.String(), " → 1 replicas: 0.0 http_requests_total/s") })
	addr, err := os.ReadFile(filepath.Join(dir, metricsAddrFile))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + strings.TrimSpace(string(addr)) + "/metrics"
	// The decision is logged before it is applied, and counted after.
	wants := []string{`ferry_scaling_decisions_total{direction="up",service="api"} `, `ferry_scaling_decisions_total{direction="down",service="api"} `, `ferry_service_replicas{service="api"} 1`}
	eventually(t, "the decisions in ferry's metrics", func() bool {
		m := httpGet(t, url)
		for _, w := range wants {
			if !strings.Contains(m, w) {
				return false
			}
		}
		return true
	})
	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	r.wantStderr(t, "autoscaling api: autoscale(1-4 replicas, http_requests_total from :8080/metrics at 10 per replica over 3s, cooldown 4s)", "starting "+project+"-api-2", "removing "+project+"-api-2")
}
