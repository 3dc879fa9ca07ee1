package k8s

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

var (
	ownerA = deploy.Owner{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", Path: "/src/a/shop"}
	ownerB = deploy.Owner{ID: "bbbbbbbbbbbbbbbbbbbbbbbb", Path: "/src/b/shop"}
)

// service returns a deployment of a service named name of project shop,
// whose key is its name and version.
func service(name, image string, version int) *deploy.Deployment {
	return &deploy.Deployment{
		Project: "shop", Image: image,
		Key: engine.NewHasher().String(name).String(fmt.Sprint(version)).Sum(),
		Spec: &deploy.ServiceSpec{Name: name, Image: image, Replicas: 1,
			Env:    map[string]string{"VERSION": fmt.Sprint(version)},
			Update: deploy.UpdatePolicy{Parallelism: 1}},
	}
}

func TestApplyNoopPrune(t *testing.T) {
	c := needCluster(t, false)
	ns, admin := testNamespace(t, c)
	ctx := context.Background()
	tg := applyingIn(ns, ownerA)
	n := counted(tg)

	var ds []*deploy.Deployment
	var names []string
	for i := range 10 {
		d := service(fmt.Sprintf("svc%d", i), "ferry.local/none:1", 1)
		if i%2 == 0 {
			d.Spec.Ports = []deploy.Port{{Container: 8080, Protocol: "tcp"}}
		}
		ds = append(ds, d)
		names = append(names, d.Spec.Name)
	}
	for _, d := range ds {
		ok, reason, err := tg.Current(ctx, d)
		if err != nil || ok || reason != "not deployed" {
			t.Fatalf("%s before deploying: ok %v, reason %q, err %v", d.Spec.Name, ok, reason, err)
		}
		if err := tg.Deploy(ctx, d, io.Discard); err != nil {
			t.Fatal(err)
		}
	}

	// A no-op `up`: every service is current, and nothing is sent that
	// changes anything.
	n.reads.Store(0)
	n.writes.Store(0)
	for _, d := range ds {
		if ok, reason, err := tg.Current(ctx, d); err != nil || !ok {
			t.Fatalf("%s after deploying: not current (%s, %v)", d.Spec.Name, reason, err)
		}
	}
	if w := n.writes.Load(); w != 0 {
		t.Errorf("a no-op up on 10 services sent %d mutating requests, want 0", w)
	}
	if r := n.reads.Load(); r > 2 {
		t.Errorf("a no-op up on 10 services sent %d read requests, want one list of deployments and one of services", r)
	}
	t.Logf("no-op up on 10 services: %d read requests, %d mutating", n.reads.Load(), n.writes.Load())

	// Server-side apply, as field manager ferry.
	dep, err := admin.AppsV1().Deployments(ns).Get(ctx, "svc0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(dep.ManagedFields, func(m metav1.ManagedFieldsEntry) bool {
		return m.Manager == FieldManager && m.Operation == metav1.ManagedFieldsOperationApply
	}) {
		t.Errorf("svc0 is not applied by field manager %s: %+v", FieldManager, dep.ManagedFields)
	}

	// A change: another replica count, then another definition.
	more := service("svc1", "ferry.local/none:1", 1)
	more.Spec.Replicas = 3
	if ok, reason, _ := tg.Current(ctx, more); ok || reason != "1 replicas, 3 declared" {
		t.Errorf("3 replicas declared: ok %v, reason %q", ok, reason)
	}
	changed := service("svc2", "ferry.local/none:1", 2)
	changed.Spec.Ports = ds[2].Spec.Ports
	if ok, reason, _ := tg.Current(ctx, changed); ok || reason != "its definition changed" {
		t.Errorf("a new definition: ok %v, reason %q", ok, reason)
	}
	if err := tg.Deploy(ctx, changed, io.Discard); err != nil {
		t.Fatal(err)
	}
	dep, _ = admin.AppsV1().Deployments(ns).Get(ctx, "svc2", metav1.GetOptions{})
	if env := dep.Spec.Template.Spec.Containers[0].Env; len(env) != 1 || env[0].Value != "2" {
		t.Errorf("svc2 was not updated: env %v", env)
	}
	if ok, reason, err := tg.Current(ctx, changed); !ok {
		t.Errorf("svc2 is not current right after its deploy: %s, %v", reason, err)
	}
	// svc2's ports went: its Service goes with them.
	noPorts := service("svc2", "ferry.local/none:1", 3)
	var log bytes.Buffer
	if err := tg.Deploy(ctx, noPorts, &log); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Services(ns).Get(ctx, "svc2", metav1.GetOptions{}); err == nil {
		t.Errorf("svc2's Service is still there once its ports went; log:\n%s", log.String())
	}

	// Objects ferry did not create, or another workspace did, are left alone.
	other := applyingIn(ns, ownerB)
	if err := other.Deploy(ctx, service("theirs", "ferry.local/none:1", 1), io.Discard); err != nil {
		t.Fatal(err)
	}
	manual := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "manual", Labels: map[string]string{LabelProject: "shop"}},
		Spec:       dep.Spec,
	}
	manual.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "manual"}}
	manual.Spec.Template.Labels = map[string]string{"app": "manual"}
	if _, err := admin.AppsV1().Deployments(ns).Create(ctx, manual, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := tg.Current(ctx, service("theirs", "ferry.local/none:1", 1)); ok || err != nil {
		t.Errorf("another workspace's deployment is current: %v, %v", ok, err)
	}
	if err := tg.Deploy(ctx, service("theirs", "ferry.local/none:1", 1), io.Discard); err == nil || !strings.Contains(err.Error(), "belongs to the workspace at /src/b/shop") {
		t.Errorf("deploying over another workspace's deployment: %v", err)
	}
	if err := tg.Deploy(ctx, service("manual", "ferry.local/none:1", 1), io.Discard); err == nil || !strings.Contains(err.Error(), "ferry did not create it") {
		t.Errorf("deploying over a deployment ferry did not create: %v", err)
	}

	// Prune: what ferry.star no longer declares, by label, nothing else.
	removed, err := tg.RemoveExcept(ctx, "shop", names[:5])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"deployment/svc5", "deployment/svc6", "deployment/svc7", "deployment/svc8", "deployment/svc9", "service/svc6", "service/svc8"}
	slices.Sort(removed)
	if !slices.Equal(removed, want) {
		t.Errorf("pruned %v, want %v", removed, want)
	}
	left, err := admin.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var leftNames []string
	for _, d := range left.Items {
		leftNames = append(leftNames, d.Name)
	}
	slices.Sort(leftNames)
	if want := []string{"manual", "svc0", "svc1", "svc2", "svc3", "svc4", "theirs"}; !slices.Equal(leftNames, want) {
		t.Errorf("deployments left %v, want %v", leftNames, want)
	}

	removed, err = tg.Down(ctx, "shop", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 7 { // 5 deployments, the Services of svc0 and svc4
		t.Errorf("down removed %v", removed)
	}
	left, _ = admin.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if len(left.Items) != 2 {
		t.Errorf("down left %d deployments, want manual and theirs", len(left.Items))
	}
}

func TestSecretRotation(t *testing.T) {
	c := needCluster(t, false)
	ns, admin := testNamespace(t, c)
	ctx := context.Background()
	tg := applyingIn(ns, ownerA)

	deploySecret := func(version int, value, hash string) string {
		d := service("web", "ferry.local/none:1", version)
		d.Spec.Secrets = map[string]engine.Secret{"TOKEN": nil}
		d.SecretEnv = map[string]string{"TOKEN": value}
		d.SecretsHash = hash
		var log bytes.Buffer
		if err := tg.Deploy(ctx, d, &log); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(log.String(), value) {
			t.Errorf("the deploy log shows the secret value:\n%s", log.String())
		}
		return "web-secrets-" + hash[:10]
	}
	first := deploySecret(1, "token-one", "1111111111aaaa")
	sec, err := admin.CoreV1().Secrets(ns).Get(ctx, first, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["env.TOKEN"]) != "token-one" || sec.Immutable == nil || !*sec.Immutable {
		t.Errorf("secret %s: immutable %v", first, sec.Immutable)
	}
	second := deploySecret(2, "token-two", "2222222222bbbb")
	if _, err := admin.CoreV1().Secrets(ns).Get(ctx, first, metav1.GetOptions{}); err == nil {
		t.Errorf("the rotated-out Secret %s is still there", first)
	}
	dep, err := admin.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := dep.Spec.Template.Spec.Containers[0].Env[1].ValueFrom.SecretKeyRef.Name; ref != second {
		t.Errorf("the pods refer to %s, want %s", ref, second)
	}
}

func TestKubeconfigErrors(t *testing.T) {
	ctx := context.Background()
	d := service("web", "ferry.local/none:1", 1)

	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("HOME", t.TempDir())
	tg := targetIn("default", ownerA)
	if _, _, err := tg.Current(ctx, d); err == nil || !strings.Contains(err.Error(), "no kubeconfig was found: set KUBECONFIG") {
		t.Errorf("no kubeconfig: %v", err)
	}

	kc := filepath.Join(t.TempDir(), "config")
	os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: ci, context: {cluster: c, user: u}}]
current-context: ci
`), 0o600)
	t.Setenv("KUBECONFIG", kc)
	tg = NewTarget(&deploy.Environment{Name: "k", Target: deploy.TargetKubernetes, Context: "prod"}, nil)
	if _, _, err := tg.Current(ctx, d); err == nil || !strings.Contains(err.Error(), `the kubeconfig has no context "prod"`) {
		t.Errorf("unknown context: %v", err)
	}
	tg = NewTarget(&deploy.Environment{Name: "k", Target: deploy.TargetKubernetes}, nil)
	if _, _, err := tg.Current(ctx, d); err == nil || !strings.Contains(err.Error(), "cannot reach the cluster of environment k") {
		t.Errorf("unreachable cluster: %v", err)
	}
}

// webSrc serves /healthz on :8080, and says hello; with "fail" it exits 3.
// It prints $TOKEN when set, for the logs' redaction; with "cat" it
// copies its input to its output and says so on its error stream.
const webSrc = `package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "cat" {
		n, _ := io.Copy(os.Stdout, os.Stdin)
		fmt.Fprintf(os.Stderr, "copied %d bytes\n", n)
		os.Exit(7)
	}
	if len(os.Args) > 1 && os.Args[1] == "fail" {
		fmt.Println("failing on purpose")
		os.Exit(3)
	}
	if len(os.Args) > 1 && os.Args[1] == "once" {
		fmt.Println("job done")
		return
	}
	if tok := os.Getenv("TOKEN"); tok != "" {
		fmt.Println("token:", tok)
	}
	fmt.Println("listening on :8080")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello from ferry") })
	http.ListenAndServe(":8080", nil)
}
`

func TestDeploymentReadyOnNode(t *testing.T) {
	ctx, ns, admin, ref := onNode(t, 3*time.Minute)
	tg := targetIn(ns, ownerA)
	tg.red = redact.New()
	const value = "Hunter2-Sesame-Value"
	tg.red.Add("tok", value)

	d := service("web", ref, 1)
	d.Spec.Env = map[string]string{"TOKEN": value}
	d.Spec.Replicas = 2
	d.Spec.Ports = []deploy.Port{{Container: 8080, Protocol: "tcp"}}
	d.Spec.Health = &deploy.HealthCheck{Kind: "http", Port: 8080, Path: "/healthz", Interval: time.Second, Timeout: time.Second, Retries: 3}
	start := time.Now()
	if err := tg.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ctx, admin, ns, "web", 2)
	t.Logf("2 FROM-scratch replicas Ready %s after apply", time.Since(start).Round(100*time.Millisecond))

	reps, err := tg.Replicas(ctx, d)
	if err != nil || len(reps) != 2 {
		t.Fatalf("replicas %+v, %v", reps, err)
	}
	for _, r := range reps {
		if !r.Running || r.Health != deploy.Healthy {
			t.Errorf("replica %+v", r)
		}
	}
	if err := deploy.WaitHealthy(ctx, tg, d, 30*time.Second, io.Discard); err != nil {
		t.Errorf("up --wait: %v", err)
	}
	// What the pods print is shown redacted, each line after its service.
	var logs bytes.Buffer
	if err := tg.Logs(ctx, "shop", []string{"web"}, deploy.LogOptions{}, &logs); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), value) || !strings.Contains(logs.String(), "web | token: [redacted tok]") {
		t.Errorf("logs:\n%s", logs.String())
	}
	st, err := tg.Status(ctx, "shop")
	if err != nil || len(st) != 1 || st[0].Replicas != 2 || st[0].State != "running" {
		t.Errorf("status %+v, %v", st, err)
	}

	job := service("once", ref, 1)
	job.Job = true
	job.Spec.Command = []string{"once"}
	var log bytes.Buffer
	if err := tg.RunJob(ctx, job, &log); err != nil {
		t.Errorf("job: %v\n%s", err, log.String())
	}
	failing := service("failing", ref, 1)
	failing.Job = true
	failing.Spec.Command = []string{"fail"}
	if err := tg.RunJob(ctx, failing, io.Discard); err == nil || !strings.Contains(err.Error(), "failing on purpose") {
		t.Errorf("a failing job: %v", err)
	}
}

// The node pulls from a registry on loopback over plain HTTP, as images
// that ferry pushes for the cluster will reach it.
func TestPullFromLoopbackRegistry(t *testing.T) {
	c := needCluster(t, true)
	ns, admin := testNamespace(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	serveRegistry(t, c, func(reg http.Handler) http.Handler { return reg })
	ref := c.Registry + "/k8stest/web:" + randomHex(t)
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, scratchImage(t, webSrc)); err != nil {
		t.Fatal(err)
	}
	waitServiceAccount(t, ctx, admin, ns)

	d := service("pulled", ref, 1)
	d.Spec.Pull = deploy.PullAlways
	d.Spec.Health = &deploy.HealthCheck{Kind: "tcp", Port: 8080, Interval: time.Second, Timeout: time.Second, Retries: 3}
	if err := targetIn(ns, ownerA).Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ctx, admin, ns, "pulled", 1)
}

// A rollout whose pods cannot start ends with why: an image the node
// cannot pull, a container that keeps crashing.
func TestDeployReportsPodFailures(t *testing.T) {
	ctx, ns, _, ref := onNode(t, 3*time.Minute)
	tg := targetIn(ns, ownerA)

	crashing := service("crashing", ref, 1)
	crashing.Spec.Command = []string{"fail"}
	crashing.Spec.ReadyAfter = 5 * time.Second
	start := time.Now()
	defer func() { t.Logf("both failures reported in %s", time.Since(start).Round(100*time.Millisecond)) }()
	if err := tg.Deploy(ctx, crashing, io.Discard); err == nil || !strings.Contains(err.Error(), "service crashing is crash-looping: pod crashing-") ||
		!strings.Contains(err.Error(), "exited with code 3") || !strings.Contains(err.Error(), "failing on purpose") {
		t.Errorf("a crash loop: %v", err)
	}
	t.Logf("crash loop reported in %s", time.Since(start).Round(100*time.Millisecond))

	job := service("unpullable-job", "127.0.0.1:1/nothing/here:1", 1)
	job.Job = true
	if err := tg.RunJob(ctx, job, io.Discard); err == nil || !strings.Contains(err.Error(), "cannot get its image 127.0.0.1:1/nothing/here:1") {
		t.Errorf("a job whose image the node cannot pull: %v", err)
	}

	missing := service("missing", "127.0.0.1:1/nothing/here:1", 1)
	if err := tg.Deploy(ctx, missing, io.Discard); err == nil || !strings.Contains(err.Error(), "service missing: pod missing-") ||
		!strings.Contains(err.Error(), "cannot get its image 127.0.0.1:1/nothing/here:1: ErrImagePull") && !strings.Contains(err.Error(), ": ImagePullBackOff") {
		t.Errorf("an image the node cannot pull: %v", err)
	}
}
