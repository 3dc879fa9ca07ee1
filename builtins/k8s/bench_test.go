package k8s

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/k8s/k8stest"
)

// BenchmarkUpReady measures, on the full test cluster, a real create of 3
// services (1 replica each, an HTTP readiness probe, an image already on
// the node) until every pod is Ready: ferry's Deploy of the three at once
// (as `ferry up -j 3`) against `kubectl apply -f` of the manifests `ferry
// render` writes for them, then `kubectl rollout status` of each
// Deployment. Each iteration has fresh namespaces, removed before the
// next; the two alternate which goes first. It reports the medians.
func BenchmarkUpReady(b *testing.B) {
	c := needCluster(b, true)
	kubectl, err := k8stest.Kubectl()
	if err != nil {
		b.Skip(err)
	}
	ref := "ferry.local/k8sbench-web:" + randomHex(b)
	if err := c.ImportImage(staticImage(b, ref, webSrc)); err != nil {
		b.Fatal(err)
	}
	var ds []*deploy.Deployment
	for i := range 3 {
		d := service(fmt.Sprintf("web%d", i), ref, 1)
		d.Spec.Ports = []deploy.Port{{Container: 8080, Protocol: "tcp"}}
		d.Spec.Health = &deploy.HealthCheck{Kind: "http", Port: 8080, Path: "/healthz", Interval: time.Second, Timeout: time.Second, Retries: 3}
		ds = append(ds, d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	ferryUp := func(ns string) error {
		tg := targetIn(ns, ownerA)
		return forEach(ds, func(d *deploy.Deployment) error { return tg.Deploy(ctx, d, io.Discard) })
	}
	kubectlUp := func(ns string) error {
		files, err := targetIn(ns, ownerA).Render(ds)
		if err != nil {
			return err
		}
		dir := b.TempDir()
		for f, content := range files {
			if err := os.WriteFile(filepath.Join(dir, f), content, 0o644); err != nil {
				return err
			}
		}
		if err := run(ctx, kubectl, "--kubeconfig", c.Kubeconfig, "-n", ns, "apply", "-f", dir); err != nil {
			return err
		}
		for _, d := range ds {
			if err := run(ctx, kubectl, "--kubeconfig", c.Kubeconfig, "-n", ns, "rollout", "status", "--timeout=3m", "deployment/"+objectName(d.Spec.Name)); err != nil {
				return err
			}
		}
		return nil
	}

	var ferryTimes, kubectlTimes []time.Duration
	b.ResetTimer()
	for i := range b.N {
		ups := []struct {
			up    func(string) error
			times *[]time.Duration
		}{{ferryUp, &ferryTimes}, {kubectlUp, &kubectlTimes}}
		if i%2 == 1 {
			slices.Reverse(ups)
		}
		for _, u := range ups {
			b.StopTimer()
			ns, admin := testNamespace(b, c)
			waitServiceAccount(b, ctx, admin, ns)
			b.StartTimer()
			start := time.Now()
			if err := u.up(ns); err != nil {
				b.Fatal(err)
			}
			*u.times = append(*u.times, time.Since(start))
			b.StopTimer()
			removeNamespace(b, ctx, admin, ns)
			b.StartTimer()
		}
	}
	f, k := median(ferryTimes), median(kubectlTimes)
	b.ReportMetric(ms(f), "ferry-ms/op")
	b.ReportMetric(ms(k), "kubectl-ms/op")
	b.ReportMetric(float64(f)/float64(k), "ferry/kubectl")
}

// BenchmarkUpNoop measures a no-op `up` of 10 services on the test cluster
// (its API server suffices): a new Target, as each `ferry up` makes one,
// asks whether each service is current, all at once, then prunes what is
// not declared (nothing). It reports the median time and the requests
// sent, reads (list/get) and mutating ones.
func BenchmarkUpNoop(b *testing.B) {
	c := needCluster(b, false)
	ns, _ := testNamespace(b, c)
	ctx := context.Background()
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
	setup := applyingIn(ns, ownerA)
	for _, d := range ds {
		if err := setup.Deploy(ctx, d, io.Discard); err != nil {
			b.Fatal(err)
		}
	}

	var times []time.Duration
	var reads, writes int64
	b.ResetTimer()
	for range b.N {
		tg := applyingIn(ns, ownerA)
		n := counted(tg)
		start := time.Now()
		err := forEach(ds, func(d *deploy.Deployment) error {
			if ok, reason, err := tg.Current(ctx, d); err != nil || !ok {
				return fmt.Errorf("%s is not current: %s %v", d.Spec.Name, reason, err)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if removed, err := tg.RemoveExcept(ctx, "shop", names); err != nil || len(removed) > 0 {
			b.Fatalf("a no-op up removed %v: %v", removed, err)
		}
		times = append(times, time.Since(start))
		reads, writes = n.reads.Load(), n.writes.Load()
	}
	b.ReportMetric(ms(median(times)), "noop-ms/op")
	b.ReportMetric(float64(reads), "reads/op")
	b.ReportMetric(float64(writes), "writes/op")
}

// forEach calls f on each of ds at once, returning the errors joined.
func forEach(ds []*deploy.Deployment, f func(*deploy.Deployment) error) error {
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Go(func() { errs[i] = f(d) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// run runs a command, its output in the error when it fails.
func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
	return nil
}

// removeNamespace deletes ns and waits until it is gone, so that its pods
// do not load the node while the next iteration runs.
func removeNamespace(b *testing.B, ctx context.Context, admin kubernetes.Interface, ns string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := admin.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		b.Fatal(err)
	}
	for {
		_, err := admin.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if err := sleep(ctx, 300*time.Millisecond); err != nil {
			b.Fatalf("namespace %s is still there: %v", ns, err)
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
