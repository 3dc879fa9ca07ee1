package k8s

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine/redact"
)

// opsToken is the secret value that web prints, redacted in its logs.
const opsToken = "Open-Sesame-Ops-Value"

// opsService deploys web (webSrc) with a start period and resources, and
// waits until its pod is ready: the startup probe passed, then the
// readiness probe.
func opsService(t *testing.T) (context.Context, *Target, kubernetes.Interface, string, *deploy.Deployment) {
	ctx, ns, admin, ref := onNode(t, 4*time.Minute)
	tg := targetIn(ns, ownerA)
	tg.red = redact.New()
	tg.red.Add("tok", opsToken)
	d := service("web", ref, 1)
	d.Spec.Env = map[string]string{"TOKEN": opsToken}
	d.Spec.Ports = []deploy.Port{{Container: 8080, Protocol: "tcp"}}
	d.Spec.Memory, d.Spec.CPUs = 64<<20, 0.1
	d.Spec.Health = &deploy.HealthCheck{Kind: "http", Port: 8080, Path: "/healthz", Interval: time.Second, Timeout: time.Second,
		Retries: 3, StartPeriod: 5 * time.Second}
	if err := tg.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ctx, admin, ns, "web", 1)
	return ctx, tg, admin, ns, d
}

func TestProbesAndRequestsOnCluster(t *testing.T) {
	ctx, _, admin, ns, _ := opsService(t)
	pods, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRule + "=web"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods %v, %v", pods, err)
	}
	c := pods.Items[0].Spec.Containers[0]
	if c.StartupProbe == nil || c.StartupProbe.FailureThreshold != 8 || c.ReadinessProbe == nil {
		t.Errorf("probes: startup %+v, readiness %+v", c.StartupProbe, c.ReadinessProbe)
	}
	if m := c.Resources.Requests[corev1.ResourceMemory]; m.Value() != 64<<20 {
		t.Errorf("memory request %s", m.String())
	}
	if cpu := c.Resources.Requests[corev1.ResourceCPU]; cpu.MilliValue() != 100 {
		t.Errorf("cpu request %s", cpu.String())
	}
	if q := pods.Items[0].Status.QOSClass; q != corev1.PodQOSGuaranteed {
		t.Errorf("QoS class %s, want Guaranteed", q)
	}
	for _, st := range pods.Items[0].Status.ContainerStatuses {
		if st.Started == nil || !*st.Started || !st.Ready {
			t.Errorf("container status %+v", st)
		}
	}
}

func TestExecAndRestartOnCluster(t *testing.T) {
	ctx, tg, admin, ns, d := opsService(t)
	var out, errs bytes.Buffer
	code, err := tg.Exec(ctx, deploy.ExecRequest{Project: "shop", Service: "web", Cmd: []string{"/app", "cat"},
		Stdin: strings.NewReader("hello through the pod\n"), Stdout: &out, Stderr: &errs})
	if err != nil || code != 7 || out.String() != "hello through the pod\n" || errs.String() != "copied 22 bytes\n" {
		t.Errorf("exec: code %d, %v, stdout %q, stderr %q", code, err, out.String(), errs.String())
	}
	// With a terminal, one stream carries both outputs, its lines ended by the terminal.
	var tty bytes.Buffer
	resize := make(chan deploy.TermSize, 1)
	resize <- deploy.TermSize{Height: 30, Width: 100}
	code, err = tg.Exec(ctx, deploy.ExecRequest{Project: "shop", Service: "web", Cmd: []string{"/app", "fail"}, TTY: true,
		Size: deploy.TermSize{Height: 24, Width: 80}, Resize: resize, Stdout: &tty, Stderr: &errs})
	if err != nil || code != 3 || tty.String() != "failing on purpose\r\n" {
		t.Errorf("exec with a terminal: code %d, %v, output %q", code, err, tty.String())
	}
	if _, err := tg.Exec(ctx, deploy.ExecRequest{Project: "shop", Service: "web", Cmd: []string{"/app"}, User: "0"}); err == nil || !strings.Contains(err.Error(), "--user cannot be given") {
		t.Errorf("exec --user: %v", err)
	}
	_, err = tg.Exec(ctx, deploy.ExecRequest{Project: "shop", Service: "web", Cmd: []string{"sh"}, Stdout: io.Discard})
	if err == nil || !strings.Contains(err.Error(), `has no program "sh"`) {
		t.Errorf("a program the image lacks: %v", err)
	}
	_, err = tg.Exec(ctx, deploy.ExecRequest{Project: "shop", Service: "api", Cmd: []string{"/app"},
		Declared: func() (map[string]string, error) { return map[string]string{"web": "service"}, nil }})
	if err == nil || !strings.Contains(err.Error(), "declares no service api") {
		t.Errorf("an undeclared service: %v", err)
	}

	before := podNames(t, ctx, admin, ns)
	var log bytes.Buffer
	if err := tg.Restart(ctx, "shop", []string{"web"}, nil, &log); err != nil {
		t.Fatal(err)
	}
	after := podNames(t, ctx, admin, ns)
	if len(after) != 1 || slices.Contains(before, after[0]) || !strings.Contains(log.String(), "restarted web") {
		t.Errorf("pods %v before the restart, %v after; log %q", before, after, log.String())
	}
	// Applying the service again keeps the restart: its pods stay.
	if err := tg.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	if again := podNames(t, ctx, admin, ns); !slices.Equal(again, after) {
		t.Errorf("pods %v after the restart, %v after applying again", after, again)
	}
	other := targetIn(ns, ownerB)
	if err := other.Restart(ctx, "shop", []string{"web"}, nil, io.Discard); err == nil || !strings.Contains(err.Error(), "another checkout (/src/a/shop)") {
		t.Errorf("restart from another workspace: %v", err)
	}
	if err := tg.Restart(ctx, "shop", []string{"nope"}, nil, io.Discard); err == nil || !strings.Contains(err.Error(), "runs no pod") {
		t.Errorf("restart of a service that is not up: %v", err)
	}
}

// podNames lists the live pods of ns, by name.
func podNames(t *testing.T, ctx context.Context, admin kubernetes.Interface, ns string) []string {
	pods, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			names = append(names, p.Name)
		}
	}
	return names
}

// syncBuffer is a bytes.Buffer that goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestLogsFollowOnCluster(t *testing.T) {
	ctx, tg, _, _, _ := opsService(t)
	fctx, stop := context.WithCancel(ctx)
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- tg.Logs(fctx, "shop", nil, deploy.LogOptions{Follow: true}, &out) }()
	waitFor := func(what string, n int) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); strings.Count(out.String(), what) < n; {
			if time.Now().After(deadline) {
				t.Fatalf("no %d× %q in the followed logs:\n%s", n, what, out.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor("web | listening on :8080\n", 1)
	// The pods of a rollout are followed as they start.
	if err := tg.Restart(ctx, "shop", []string{"web"}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	waitFor("web | listening on :8080\n", 2)
	waitFor("web | token: [redacted tok]\n", 2)
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("logs -f ended with %v at Ctrl-C", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("logs -f did not end with its context")
	}
	if strings.Contains(out.String(), opsToken) {
		t.Errorf("the followed logs show the secret:\n%s", out.String())
	}
}
