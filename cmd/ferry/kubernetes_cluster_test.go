package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferryhq/ferry/builtins/k8s/k8stest"
)

// The API-only cluster of the tests, started by the first test that needs
// one and stopped by TestMain (see stopAPICluster).
var apiTestCluster struct {
	once    sync.Once
	c       *k8stest.Cluster
	err     error
	skipped string // why there is none
}

// apiCluster returns a cluster of the API server alone (FERRY_K8S_KUBECONFIG's,
// else one started for the package's tests), and points KUBECONFIG at it;
// the test is skipped when the cluster's binaries are not built.
func apiCluster(t *testing.T) *k8stest.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no test cluster")
	}
	a := &apiTestCluster
	a.once.Do(func() {
		if a.c = k8stest.FromEnv(); a.c != nil {
			return
		}
		if !k8stest.Built() {
			a.skipped = "the test cluster's binaries are not built: run hack/k8s/cluster.sh build"
			return
		}
		a.c, a.err = k8stest.Start(k8stest.API)
	})
	switch {
	case a.err != nil:
		t.Fatal(a.err)
	case a.skipped != "" && os.Getenv("FERRY_K8S_REQUIRED") != "":
		t.Fatal(a.skipped)
	case a.skipped != "":
		t.Skip(a.skipped)
	}
	t.Setenv("KUBECONFIG", a.c.Kubeconfig)
	return a.c
}

// stopAPICluster stops the cluster apiCluster started, if it did.
func stopAPICluster() error {
	if apiTestCluster.c == nil {
		return nil
	}
	return apiTestCluster.c.Stop()
}

// clusterNamespace makes a namespace of its own in c, removed when the
// test ends.
func clusterNamespace(t *testing.T, c *k8stest.Cluster) string {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	admin := kubernetes.NewForConfigOrDie(cfg)
	b := make([]byte, 4)
	rand.Read(b)
	ns := "t-" + hex.EncodeToString(b)
	if _, err := admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	return ns
}

// A manifest the API server rejects fails up with the server's message
// and the line of ferry.star that declares the service.
func TestUpQuotesRejectedManifest(t *testing.T) {
	ns := clusterNamespace(t, apiCluster(t))
	ws := newWorkspace(t, map[string]string{"ferry.star": `environment("cluster", target = "kubernetes", namespace = "` + ns + `")

service(name = "web", image = "acme/web:1", env = {"BAD=NAME": "x"})
`})
	r := ws.ferry(t, "--env", "cluster", "up")
	if r.code == 0 {
		t.Fatalf("up of a Service the cluster rejects succeeded:\n%s", r.stdout)
	}
	for _, want := range []string{"ferry.star:3:8: service web: applying deployment/web in namespace " + ns + ": the cluster rejected it:", "environment variable name"} {
		if !strings.Contains(r.stderr+r.stdout, want) {
			t.Errorf("up does not say %q:\n%s\n%s", want, r.stdout, r.stderr)
		}
	}
}
