package seccheck

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker"
	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
)

// kubeFindings checks the workspace of files as `ferry lint --env env`
// would, and returns the ids and positions of its Kubernetes findings.
func kubeFindings(t *testing.T, files map[string]string, env string) []string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		Plugins:   []engine.Plugin{core.Plugin{}, docker.Plugin{Project: "p"}, &deploy.Plugin{Project: "p"}, &secret.Plugin{}, Plugin{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	o := OptionsFor(dir, res)
	o.Env = env
	rep, err := Check(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range rep.Findings {
		if strings.HasPrefix(f.Rule, "FERRY-KUBE") {
			out = append(out, f.Rule+" "+f.Pos())
			if f.Fix == "" || !strings.Contains(f.Message, "deploys to Kubernetes") {
				t.Errorf("%s: no fix, or no environment in %q", f.Rule, f.Message)
			}
		}
	}
	return out
}

const kubeStar = `
environment("k8s", target = "kubernetes", namespace = "demo")
environment("local")
db = secret("db", env = "DB")
service(name = "good", image = "web:1", user = "65534:65534", resources = {"memory": "256Mi", "cpus": 0.5}, secret_files = {"/run/secrets/db": db})
job(name = "good-job", image = "tool:1", user = "1000", resources = {"memory": "64Mi", "cpus": 0.25})
service(name = "priv", image = "web:1", privileged = True, user = "1", resources = {"memory": "1Gi", "cpus": 1})
service(name = "files", image = "web:1", volumes = ["./data:/data", "cache:/cache"], user = "1", resources = {"memory": "1Gi", "cpus": 1})
service(name = "anon", image = "web:1", resources = {"memory": "1Gi", "cpus": 1})
job(name = "as-root", image = "tool:1", user = "0:0", resources = {"memory": "1Gi", "cpus": 1})
service(name = "no-mem", image = "web:1", user = "1", resources = {"cpus": 1})
job(name = "no-limits", image = "tool:1", user = "1")
service(name = "env-secret", image = "web:1", user = "1", resources = {"memory": "1Gi", "cpus": 1}, env = {"DB_PASSWORD": db, "MODE": "prod"})
# ferry:ignore FERRY-KUBE003, FERRY-KUBE004 (a throwaway debug pod)
job(name = "debug", image = "tool:1")
`

// TestKubernetesRules: the FERRY-KUBE rules flag, at the service's or
// job's call, what its pods would grant on a cluster, and nothing in a
// service that sets a non-root user, limits and secret files.
func TestKubernetesRules(t *testing.T) {
	files := map[string]string{"ferry.star": kubeStar}
	want := []string{
		"FERRY-KUBE001 ferry.star:7:8",
		"FERRY-KUBE002 ferry.star:8:8",
		"FERRY-KUBE003 ferry.star:9:8",
		"FERRY-KUBE003 ferry.star:10:4",
		"FERRY-KUBE004 ferry.star:11:8",
		"FERRY-KUBE004 ferry.star:12:4",
		"FERRY-KUBE005 ferry.star:13:8",
	}
	slices.Sort(want)
	for _, env := range []string{"", "k8s"} {
		got := kubeFindings(t, files, env)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("--env %q: got\n%v\nwant\n%v", env, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// A workspace selected to deploy elsewhere, or with no Kubernetes
	// environment, is not checked for a cluster.
	if got := kubeFindings(t, files, "local"); len(got) != 0 {
		t.Errorf("--env local: got %v, want none", got)
	}
	noKube := strings.Replace(kubeStar, `environment("k8s", target = "kubernetes", namespace = "demo")`, "", 1)
	if got := kubeFindings(t, map[string]string{"ferry.star": noKube}, ""); len(got) != 0 {
		t.Errorf("no kubernetes environment: got %v, want none", got)
	}
}
