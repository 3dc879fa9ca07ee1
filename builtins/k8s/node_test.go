package k8s

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/k8s/k8stest"
	"github.com/google/go-containerregistry/pkg/registry"
	"k8s.io/client-go/kubernetes"
)

// onNode is how a test that runs pods begins: the full test cluster (the
// test is skipped without one), a namespace of its own whose default
// service account is there, a context that ends after timeout, and the
// image of webSrc imported into the node, whose reference it returns.
func onNode(t *testing.T, timeout time.Duration) (ctx context.Context, ns string, admin kubernetes.Interface, ref string) {
	t.Helper()
	c := needCluster(t, true)
	ns, admin = testNamespace(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	ref = "ferry.local/k8stest-web:" + randomHex(t)
	if err := c.ImportImage(staticImage(t, ref, webSrc)); err != nil {
		t.Fatal(err)
	}
	waitServiceAccount(t, ctx, admin, ns)
	return ctx, ns, admin, ref
}

// serveRegistry serves a registry, in memory, at the address the node's
// containerd trusts over plain HTTP, until the test ends; wrap wraps its
// handler (to ask for credentials, say).
func serveRegistry(t *testing.T, c *k8stest.Cluster, wrap func(http.Handler) http.Handler) {
	t.Helper()
	l, err := net.Listen("tcp", c.Registry)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: wrap(registry.New(registry.Logger(log.New(io.Discard, "", 0))))}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}
