package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// ferry diff --exit-code exits 1 when up would change something, 0 when
// not, and 2 on an error, as git diff --exit-code and kubectl diff do.
func TestDiffExitCode(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	ws := newWorkspace(t, map[string]string{"ferry.star": kubernetesStar})
	noConfig := ws.ferry(t, "--env", "cluster", "diff", "--exit-code")
	noConfig.wantCode(t, 2)
	noConfig.wantStderr(t, "no kubeconfig was found")

	apiCluster(t)
	star := `environment("cluster", target = "kubernetes", namespace = "default")
service(name = "web", image = "acme/web:1", ports = ["8080"])
`
	ws = newWorkspace(t, map[string]string{"ferry.star": star})
	changes := ws.ferry(t, "--env", "cluster", "diff", "--exit-code")
	changes.wantCode(t, 1)
	if !strings.Contains(changes.stdout, "deployment/web would be created:") {
		t.Errorf("diff --exit-code shows no change:\n%s", changes.stdout)
	}
	if strings.TrimSpace(changes.stderr) != "" {
		t.Errorf("diff --exit-code with changes reports an error:\n%s", changes.stderr)
	}
	ws.ferry(t, "--env", "cluster", "diff").wantCode(t, 0)

	none := newWorkspace(t, map[string]string{"ferry.star": `environment("cluster", target = "kubernetes", namespace = "default")
`})
	same := none.ferry(t, "--env", "cluster", "diff", "--exit-code")
	same.wantCode(t, 0)
	if !strings.Contains(same.stdout, "no changes: namespace default runs what ferry.star declares") {
		t.Errorf("diff --exit-code with nothing to change says:\n%s", same.stdout)
	}
}
