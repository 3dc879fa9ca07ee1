package k8s

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fakediscovery "k8s.io/client-go/discovery/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/scale"
)

// autoscaledService is a service that autoscales on metric.
func autoscaledService(name, metric string) *deploy.Deployment {
	d := service(name, "ferry.local/none:1", 1)
	d.Spec.Autoscale = &scale.Policy{Min: 2, Max: 5, Metric: metric, Target: 50, Window: 30 * time.Second, Cooldown: 90 * time.Second, Path: "/metrics", Port: 8080}
	d.Spec.Replicas = 2
	return d
}

// discovering makes tg's cluster look as if it served the metrics API
// (metrics-server) or not, as discovery finds it: the API server of the
// tests serves none.
func discovering(t *testing.T, tg *Target, metrics bool) {
	t.Helper()
	c, err := tg.client()
	if err != nil {
		t.Fatal(err)
	}
	groups := []*metav1.APIResourceList{{GroupVersion: "v1"}, {GroupVersion: "apps/v1"}}
	if metrics {
		groups = append(groups, &metav1.APIResourceList{GroupVersion: "metrics.k8s.io/v1beta1"})
	}
	c.groups = &fakediscovery.FakeDiscovery{Fake: &k8stesting.Fake{Resources: groups}}
}

// A cpu policy renders as an HPA: the policy's percent of a core per
// replica as an average value, cooldown as the scale-down window; a
// Prometheus metric, which an HPA cannot read without an adapter, does not.
func TestRenderAutoscale(t *testing.T) {
	files, err := testTarget().Render([]*deploy.Deployment{autoscaledService("web", scale.CPU), autoscaledService("api", "http_requests_total")})
	if err != nil {
		t.Fatal(err)
	}
	b, ok := files["horizontalpodautoscaler-web.yaml"]
	if !ok {
		t.Fatalf("no HPA rendered for a cpu policy: %v", keysOf(files))
	}
	if _, ok := files["horizontalpodautoscaler-api.yaml"]; ok {
		t.Errorf("an HPA rendered for a Prometheus metric")
	}
	h := decodeStrict(t, "horizontalpodautoscaler-web.yaml", b).(*autoscalingv2.HorizontalPodAutoscaler)
	s := h.Spec
	if s.ScaleTargetRef.Kind != "Deployment" || s.ScaleTargetRef.Name != "web" || *s.MinReplicas != 2 || s.MaxReplicas != 5 {
		t.Errorf("HPA target %+v, %d-%d replicas", s.ScaleTargetRef, *s.MinReplicas, s.MaxReplicas)
	}
	if len(s.Metrics) != 1 || s.Metrics[0].Resource == nil || s.Metrics[0].Resource.Name != "cpu" ||
		s.Metrics[0].Resource.Target.Type != autoscalingv2.AverageValueMetricType || s.Metrics[0].Resource.Target.AverageValue.String() != "500m" {
		t.Errorf("HPA metrics %+v, want cpu at an average of 500m (50%% of a core)", s.Metrics)
	}
	if b := s.Behavior; b == nil || *b.ScaleDown.StabilizationWindowSeconds != 90 || *b.ScaleUp.StabilizationWindowSeconds != 0 {
		t.Errorf("HPA behavior %+v, want scale-down window 90s, scale-up 0", s.Behavior)
	}
	dep := string(files["deployment-api.yaml"])
	if !strings.Contains(dep, AnnotationAutoscale+": autoscale(2-5 replicas, http_requests_total") || !strings.Contains(dep, "replicas: 2\n") {
		t.Errorf("the deployment of an autoscaled service:\n%s", dep)
	}
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Where the cluster serves the metrics API, a cpu policy is an HPA that
// up applies and status names; where it does not, up prunes the HPA,
// ferry's autoscaler scales the Deployment through its scale
// subresource, and a later up keeps the count it chose.
func TestAutoscaleOnCluster(t *testing.T) {
	c := needCluster(t, false)
	ns, admin := testNamespace(t, c)
	ctx := context.Background()
	d := autoscaledService("web", scale.CPU)

	withMetrics := applyingIn(ns, ownerA)
	discovering(t, withMetrics, true)
	if err := withMetrics.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	h, err := admin.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("no HPA once the cluster serves metrics.k8s.io: %v", err)
	}
	if *h.Spec.MinReplicas != 2 || h.Spec.MaxReplicas != 5 || h.Labels[LabelWorkspace] != ownerA.ID {
		t.Errorf("HPA %d-%d, labels %v", *h.Spec.MinReplicas, h.Spec.MaxReplicas, h.Labels)
	}
	if ok, why, err := withMetrics.Current(ctx, d); !ok || err != nil {
		t.Errorf("not current after up: %s, %v", why, err)
	}
	st := statusOf(t, withMetrics, "web")
	if !strings.Contains(st.Scaling, "the cluster: HorizontalPodAutoscaler web") {
		t.Errorf("status says it is scaled by %q", st.Scaling)
	}
	sc := withMetrics.NewScaler("shop", "", nil, io.Discard)
	if err := sc.Scale(ctx, "web", 4); !errors.Is(err, scale.ErrScaledElsewhere) {
		t.Errorf("ferry's autoscaler scales a service its HPA scales: %v", err)
	}

	// No metrics API: the HPA goes, and ferry's autoscaler scales.
	without := applyingIn(ns, ownerA)
	discovering(t, without, false)
	if ok, why, _ := without.Current(ctx, d); ok || !strings.Contains(why, "HorizontalPodAutoscaler is to go") {
		t.Errorf("without a metrics API, the HPA is current: %v %q", ok, why)
	}
	var log strings.Builder
	if err := without.Deploy(ctx, d, &log); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{}); err == nil {
		t.Errorf("the HPA is left once the cluster serves no metrics API:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "removed horizontalpodautoscaler/web") {
		t.Errorf("up does not say it removed the HPA:\n%s", log.String())
	}
	if st := statusOf(t, without, "web"); !strings.Contains(st.Scaling, "ferry, through the scale subresource") {
		t.Errorf("status says it is scaled by %q", st.Scaling)
	}
	sc = without.NewScaler("shop", "", nil, io.Discard)
	if err := sc.Scale(ctx, "web", 4); err != nil {
		t.Fatal(err)
	}
	dep, err := admin.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 4 {
		t.Errorf("scaled to 4 through the scale subresource: %d replicas", *dep.Spec.Replicas)
	}
	if _, _, err := sc.CPU(ctx, "web"); err == nil || !strings.Contains(err.Error(), "install metrics-server") {
		t.Errorf("cpu without a metrics API: %v", err)
	}

	// up keeps what the autoscaler chose: current, and no change applied.
	if ok, why, err := without.Current(ctx, d); !ok || err != nil {
		t.Errorf("after a scale to 4, up would apply again: %s, %v", why, err)
	}
	var out strings.Builder
	if n, err := without.Diff(ctx, "shop", []*deploy.Deployment{d}, &out); err != nil || n != 0 {
		t.Errorf("after a scale to 4, diff finds %d changes (%v):\n%s", n, err, out.String())
	}
	if err := without.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	if dep, _ := admin.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); *dep.Spec.Replicas != 4 {
		t.Errorf("up undid the autoscaler's count: %d replicas", *dep.Spec.Replicas)
	}

	// A new policy is a change; a count outside it is brought within.
	d.Spec.Autoscale.Max = 3
	if ok, why, _ := without.Current(ctx, d); ok || why != "its autoscale policy changed" {
		t.Errorf("a new policy: current %v, %q", ok, why)
	}
	if err := without.Deploy(ctx, d, io.Discard); err != nil {
		t.Fatal(err)
	}
	if dep, _ := admin.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); *dep.Spec.Replicas != 3 {
		t.Errorf("max 3: %d replicas", *dep.Spec.Replicas)
	}
}

func statusOf(t *testing.T, tg *Target, name string) deploy.ServiceStatus {
	t.Helper()
	list, err := tg.Status(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("status lists no %s: %+v", name, list)
	return deploy.ServiceStatus{}
}
