package k8s

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// forwarded matches the line that says where a forward listens.
var forwarded = regexp.MustCompile(`forwarding (127\.0\.0\.1:\d+) to web:8080 \(pod ([^)]+)\)`)

// TestPortForwardOnCluster forwards web's declared port (a free local
// one) to its pod: an HTTP request through it reaches the pod, and still
// does through the same local port once a restart replaced the pod.
func TestPortForwardOnCluster(t *testing.T) {
	ctx, tg, _, _, _ := opsService(t)
	fctx, stop := context.WithCancel(ctx)
	var log syncBuffer
	done := make(chan error, 1)
	go func() { done <- tg.PortForward(fctx, "shop", "web", nil, nil, &log) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("port-forward: %v", err)
		}
	}()
	waitForwards := func(n int) (string, string) {
		t.Helper()
		for {
			if m := forwarded.FindAllStringSubmatch(log.String(), -1); len(m) >= n {
				return m[n-1][1], m[n-1][2]
			}
			select {
			case err := <-done:
				t.Fatalf("port-forward ended: %v; log %q", err, log.String())
			case <-time.After(100 * time.Millisecond):
			}
			if ctx.Err() != nil {
				t.Fatalf("no forward %d; log %q", n, log.String())
			}
		}
	}
	get := func(addr string) string {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatalf("GET through %s: %v; log %q", addr, err, log.String())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	addr, pod := waitForwards(1)
	if body := get(addr); body != "hello from ferry\n" {
		t.Errorf("through the forward: %q", body)
	}

	if err := tg.Restart(ctx, "shop", []string{"web"}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	addr2, pod2 := waitForwards(2)
	if addr2 != addr || pod2 == pod || !strings.Contains(log.String(), "pod "+pod+" of web went away") {
		t.Errorf("after the restart: forward from %s to pod %s (was %s to %s); log %q", addr2, pod2, addr, pod, log.String())
	}
	if body := get(addr); body != "hello from ferry\n" {
		t.Errorf("through the forward after the restart: %q", body)
	}
}

func TestPortForwardErrorsOnCluster(t *testing.T) {
	ctx, tg, _, _, _ := opsService(t)
	for specs, want := range map[string]string{
		"nope":       "service nope of project shop runs no pod",
		"web 8080:x": `"x" is not a port number`,
	} {
		f := strings.Fields(specs)
		err := tg.PortForward(ctx, "shop", f[0], f[1:], nil, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", specs, err, want)
		}
	}
}

// TestForwardDeclaredOnCluster forwards the declared port of web, as ferry
// watch does: the log says which local port reaches it, and a request
// through that port reaches the pod.
func TestForwardDeclaredOnCluster(t *testing.T) {
	ctx, tg, _, _, _ := opsService(t)
	fctx, stop := context.WithCancel(ctx)
	var log syncBuffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		tg.ForwardDeclared(fctx, "shop", &log)
	}()
	defer func() {
		stop()
		<-done
	}()
	for !forwarded.MatchString(log.String()) {
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			t.Fatalf("no forward: %v; log %q", err, log.String())
		}
	}
	addr := forwarded.FindStringSubmatch(log.String())[1]
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "hello from ferry\n" {
		t.Errorf("through the forward: %q", b)
	}
}

// TestPortAccessSwitchOnAPI applies a service's Service as a NodePort with
// the node port declared, then, once the environment's port_access
// changes (which changes no rule's key), as a ClusterIP again.
func TestPortAccessSwitchOnAPI(t *testing.T) {
	c := needCluster(t, false)
	ns, admin := testNamespace(t, c)
	ctx := context.Background()
	d := service("web", "ferry.local/none:1", 1)
	d.Spec.Ports = []deploy.Port{{HostStart: 30080, HostEnd: 30080, Container: 8080, Protocol: "tcp"}}

	np := applyingIn(ns, ownerA)
	np.env.PortAccess = deploy.NodePort
	if err := np.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	svc, err := admin.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil || svc.Spec.Type != corev1.ServiceTypeNodePort || svc.Spec.Ports[0].NodePort != 30080 {
		t.Fatalf("nodeport: %+v, %v", svc, err)
	}
	if ok, reason, err := np.Current(ctx, d); !ok || err != nil {
		t.Errorf("nodeport after applying: not current (%s, %v)", reason, err)
	}

	pf := applyingIn(ns, ownerA)
	if ok, reason, err := pf.Current(ctx, d); ok || err != nil || reason != "its Service differs" {
		t.Errorf("port-forward, with a NodePort there: ok %v, %q, %v", ok, reason, err)
	}
	if err := pf.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	svc, err = admin.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil || svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Ports[0].NodePort != 0 || svc.Annotations[AnnotationLocalPorts] != "30080:8080" {
		t.Fatalf("port-forward: %+v, %v", svc, err)
	}
}
