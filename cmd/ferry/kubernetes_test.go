package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const kubernetesStar = `environment("cluster", target = "kubernetes", namespace = "shop")
service(name = "web", image = "acme/web:1", replicas = 2, ports = ["8080"], env = {"TOKEN": secret("token", env = "FERRY_TEST_SECRET")})
job(name = "migrate", image = "acme/migrate:1")
`

// ferry render writes the objects of a Kubernetes environment, the same
// bytes each time, without a cluster, and never a secret's value.
func TestRenderKubernetes(t *testing.T) {
	ws := newWorkspace(t, map[string]string{"ferry.star": kubernetesStar})
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	first := ws.ferry(t, "--env", "cluster", "render")
	first.wantCode(t, 0)
	for _, want := range []string{"# deployment-web.yaml\n", "# job-migrate.yaml\n", "# secret-web-secrets.yaml\n", "# service-web.yaml\n", "namespace: shop\n"} {
		if !strings.Contains(first.stdout, want) {
			t.Errorf("render printed no %q:\n%s", want, first.stdout)
		}
	}
	if strings.Contains(first.stdout, leakValue) {
		t.Errorf("render printed the secret's value")
	}
	if again := ws.ferry(t, "--env", "cluster", "render"); again.stdout != first.stdout {
		t.Errorf("two renders differ:\n%s\n---\n%s", first.stdout, again.stdout)
	}

	out := filepath.Join(t.TempDir(), "manifests")
	r := ws.ferry(t, "--env", "cluster", "render", "--out", out)
	r.wantCode(t, 0)
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"deployment-web.yaml", "job-migrate.yaml", "secret-web-secrets.yaml", "service-web.yaml"}; !slices.Equal(names, want) {
		t.Errorf("render --out wrote %v, want %v", names, want)
	}

	// A relative --out is taken from -C DIR, as --junit, --events and -o are.
	ws.ferry(t, "--env", "cluster", "render", "--out", "rel").wantCode(t, 0)
	if _, err := os.Stat(filepath.Join(ws.dir, "rel", "service-web.yaml")); err != nil {
		t.Errorf("render --out rel under -C %s: %v", ws.dir, err)
	}

	noEnv := ws.ferry(t, "render")
	noEnv.wantCode(t, 2)
	noEnv.wantStderr(t, "ferry render writes the manifests of a Kubernetes environment; select one with --env NAME")
}

// A host folder in volumes is refused on Kubernetes with the line that
// declares it; a named volume renders as a PersistentVolumeClaim.
func TestKubernetesVolumes(t *testing.T) {
	ws := newWorkspace(t, map[string]string{"ferry.star": `environment("cluster", target = "kubernetes")
service(name = "db", image = "acme/db:1", volumes = ["db_data:/var/lib/db"])
service(name = "web", image = "acme/web:1", volumes = ["./static:/srv/static"])
`})
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	r := ws.ferry(t, "--env", "cluster", "render")
	r.wantCode(t, 2)
	r.wantStderr(t, `ferry.star:3:8: service "web": volumes: ./static:/srv/static mounts a folder of this machine, which a pod on a node of the cluster cannot reach; use a named volume ("NAME:/srv/static")`)

	ws.write(t, "ferry.star", `environment("cluster", target = "kubernetes")
service(name = "db", image = "acme/db:1", volumes = ["db_data:/var/lib/db"])
`)
	r = ws.ferry(t, "--env", "cluster", "render")
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, "# persistentvolumeclaim-db-data.yaml\n") || !strings.Contains(r.stdout, "claimName: db-data") {
		t.Errorf("render printed no claim of db_data:\n%s", r.stdout)
	}
}

// ferry port-forward needs a Kubernetes environment.
func TestPortForwardNeedsKubernetes(t *testing.T) {
	ws := newWorkspace(t, map[string]string{"ferry.star": kubernetesStar})
	r := ws.ferry(t, "port-forward", "web", "8080")
	r.wantCode(t, 2)
	r.wantStderr(t, "ferry port-forward reaches the pods of a Kubernetes environment, and no environment is selected: select one with --env NAME")
}

// ferry diff needs a Kubernetes environment, and says which kubeconfig
// it could not read; what it shows is tested against a cluster in
// builtins/k8s (TestDiff).
func TestDiffKubernetesErrors(t *testing.T) {
	ws := newWorkspace(t, map[string]string{"ferry.star": kubernetesStar})
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	noEnv := ws.ferry(t, "diff")
	noEnv.wantCode(t, 2)
	noEnv.wantStderr(t, "ferry diff compares ferry.star with a Kubernetes environment; select one with --env NAME")
	noConfig := ws.ferry(t, "--env", "cluster", "diff")
	if noConfig.code == 0 {
		t.Fatalf("diff without a kubeconfig succeeded:\n%s", noConfig.stdout)
	}
	noConfig.wantStderr(t, "no kubeconfig was found")
	if strings.Contains(noConfig.stdout+noConfig.stderr, leakValue) {
		t.Errorf("diff printed the secret's value")
	}
}
