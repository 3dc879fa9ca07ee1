package k8s

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/k8s/k8stest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The test cluster, started by the first test that needs it and stopped
// by TestMain: a full one (with a node) when the tests run as root and
// FERRY_K8S_NODE is not 0, else the API server alone.
var cluster struct {
	once sync.Once
	c    *k8stest.Cluster
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster.c != nil {
		if err := cluster.c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// required says whether a missing cluster fails the tests (CI, or
// FERRY_K8S_REQUIRED) instead of skipping them.
func required() bool {
	for _, v := range []string{os.Getenv("CI"), os.Getenv("FERRY_K8S_REQUIRED")} {
		if v != "" && v != "false" && v != "0" {
			return true
		}
	}
	return false
}

// needCluster returns the test cluster, starting it once; full asks for a
// node, and skips the test when the cluster has none.
func needCluster(t testing.TB, full bool) *k8stest.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no test cluster")
	}
	cluster.once.Do(func() {
		if cluster.c = k8stest.FromEnv(); cluster.c != nil {
			return
		}
		if !k8stest.Built() {
			cluster.err = fmt.Errorf("the test cluster's binaries are not built: run hack/k8s/cluster.sh build (~12 min the first time)")
			return
		}
		mode := k8stest.API
		if os.Geteuid() == 0 && os.Getenv("FERRY_K8S_NODE") != "0" {
			mode = k8stest.Full
		}
		start := time.Now()
		cluster.c, cluster.err = k8stest.Start(mode)
		fmt.Fprintf(os.Stderr, "test cluster (%s) up in %s\n", mode, time.Since(start).Round(100*time.Millisecond))
	})
	if cluster.err != nil {
		if required() {
			t.Fatal(cluster.err)
		}
		t.Skip(cluster.err)
	}
	if full && cluster.c.Mode != k8stest.Full {
		t.Skip("the test cluster has no node (run as root, without FERRY_K8S_NODE=0)")
	}
	return cluster.c
}

// counter counts the requests a Target sends, by whether they change
// anything.
type counter struct {
	reads, writes atomic.Int64
}

func (c *counter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			c.reads.Add(1)
		default:
			c.writes.Add(1)
		}
		return rt.RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// testNamespace makes a namespace of its own in the cluster, removed when
// the test ends, points KUBECONFIG at the cluster and returns an admin
// client.
func testNamespace(t testing.TB, c *k8stest.Cluster) (string, kubernetes.Interface) {
	t.Helper()
	t.Setenv("KUBECONFIG", c.Kubeconfig)
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	admin := kubernetes.NewForConfigOrDie(cfg)
	ns := "t-" + randomHex(t)
	if _, err := admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	return ns, admin
}

// targetIn returns a Target for namespace ns, owned by owner.
func targetIn(ns string, owner deploy.Owner) *Target {
	tg := NewTarget(&deploy.Environment{Name: "k", Target: deploy.TargetKubernetes, Namespace: ns}, nil)
	tg.Own(owner)
	return tg
}

// applyingIn returns a Target for namespace ns whose Deploy does not wait
// for pods, which an API server without a node never runs.
func applyingIn(ns string, owner deploy.Owner) *Target {
	tg := targetIn(ns, owner)
	tg.applyOnly = true
	return tg
}

func counted(tg *Target) *counter {
	c := &counter{}
	tg.wrap = c.wrap
	return c
}

func randomHex(t testing.TB) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// staticImage builds the Go program src statically and writes an image FROM
// scratch running it as ref, in docker save format, to a file it returns.
func staticImage(t testing.TB, ref, src string) string {
	t.Helper()
	return imageFile(t, ref, scratchImage(t, src))
}

// imageFile writes img as ref, in docker save format, to a file it
// returns.
func imageFile(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(out, tag, img); err != nil {
		t.Fatal(err)
	}
	return out
}

// scratchImage is an image FROM scratch whose entrypoint is the Go program
// src, built statically.
func scratchImage(t testing.TB, src string) v1.Image {
	t.Helper()
	return scratchImageAt(t, src, "app")
}

// scratchImageAt is an image FROM scratch holding the Go program src,
// built statically, at each of paths (relative to /), the first its
// entrypoint.
func scratchImageAt(t testing.TB, src string, paths ...string) v1.Image {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "app")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, filepath.Join(dir, "main.go"))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	content, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	dirs := map[string]bool{}
	for _, p := range paths {
		if d := filepath.Dir(p); d != "." && !dirs[d] {
			dirs[d] = true
			tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir})
		}
		tw.WriteHeader(&tar.Header{Name: p, Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg})
		tw.Write(content)
	}
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Entrypoint: []string{"/" + paths[0]}})
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.ConfigFile(img, mustConfigFile(t, img))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// waitReady waits until the Deployment name of ns has n Ready replicas,
// logging its pods' states if it times out.
func waitReady(t *testing.T, ctx context.Context, admin kubernetes.Interface, ns, name string, n int32) {
	t.Helper()
	for {
		dep, err := admin.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if dep.Status.ReadyReplicas == n {
			return
		}
		if err := sleep(ctx, 300*time.Millisecond); err != nil {
			pods, _ := admin.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
			for _, p := range pods.Items {
				t.Logf("pod %s: %s %+v", p.Name, p.Status.Phase, p.Status.ContainerStatuses)
			}
			t.Fatalf("%d replicas of %s not Ready: %v", n, name, err)
		}
	}
}

// waitServiceAccount waits for the default service account of ns, without
// which no pod starts there.
func waitServiceAccount(t testing.TB, ctx context.Context, admin kubernetes.Interface, ns string) {
	t.Helper()
	for {
		if _, err := admin.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			return
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			t.Fatalf("no default service account in %s: %v", ns, err)
		}
	}
}

// mustConfigFile sets the platform, which an image FROM scratch lacks and
// containerd's import needs, and a label that makes each image's ID its
// own: the kubelet pulls again an image it once pulled under another
// name (its pull records are by image ID), which an imported image under
// a name no registry serves cannot be.
func mustConfigFile(t testing.TB, img v1.Image) *v1.ConfigFile {
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Labels = map[string]string{"ferry.test": randomHex(t)}
	return cf
}
