package k8s

// autoscale() on Kubernetes: a HorizontalPodAutoscaler where the cluster
// serves the resource metrics API and the policy scales on cpu, else
// ferry's own autoscaler (the scale package's loop, while `ferry up
// --follow` or `ferry watch` runs) through the Deployment's scale
// subresource.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/scale"
)

// metricsGroup is the API group of the resource metrics API that
// metrics-server (or another provider) serves, which an HPA scaling on
// cpu reads.
const metricsGroup = "metrics.k8s.io"

// AnnotationAutoscale, on the Deployment of an autoscaled service, is its
// policy (scale.Policy.String): status says from it what scales the
// service, and Current sees a changed policy.
const AnnotationAutoscale = "ferry.autoscale"

var hpaResource = schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}

// groupLister is the part of discovery that finds the metrics API.
type groupLister interface {
	ServerGroupsWithContext(ctx context.Context) (*metav1.APIGroupList, error)
}

// metricsServed reports whether the cluster serves the resource metrics
// API, found by discovery once per target.
func (t *Target) metricsServed(ctx context.Context, c *clients) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.metrics != nil {
		return *t.metrics, nil
	}
	groups, err := c.groups.ServerGroupsWithContext(ctx)
	if err != nil {
		return false, t.apiError("discovering the cluster's APIs (is there a metrics API, for autoscale?)", err)
	}
	served := slices.ContainsFunc(groups.Groups, func(g metav1.APIGroup) bool { return g.Name == metricsGroup })
	t.metrics = &served
	return served, nil
}

// decideScaling finds, when d autoscales, whether the cluster serves the
// metrics API, for hpaDrives.
func (t *Target) decideScaling(ctx context.Context, c *clients, d *deploy.Deployment) error {
	if d.Job || d.Spec.Autoscale == nil {
		return nil
	}
	_, err := t.metricsServed(ctx, c)
	return err
}

// hpaDrives reports whether a HorizontalPodAutoscaler scales d: it
// autoscales on cpu, and the cluster serves the metrics API (as
// decideScaling found; render assumes it does). A Prometheus metric is
// read by ferry's own autoscaler: an HPA would need a custom metrics
// adapter, whose names for a metric are its own configuration.
func (t *Target) hpaDrives(d *deploy.Deployment) bool {
	a := d.Spec.Autoscale
	if d.Job || a == nil || a.Metric != scale.CPU {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.metrics != nil && *t.metrics
}

// hpa is the HorizontalPodAutoscaler of d, nil when none drives it. The
// policy's target, percent of one core per replica, is an average value
// of cpu (50 is 500m), which needs no resource requests; cooldown is the
// scale-down stabilization window, and scale-ups act at once, as ferry's
// autoscaler does. window has no counterpart: the HPA reads what the
// metrics API has, over its own resolution.
func (t *Target) hpa(d *deploy.Deployment, meta func(string) metav1.ObjectMeta) *autoscalingv2.HorizontalPodAutoscaler {
	if !t.hpaDrives(d) {
		return nil
	}
	a := d.Spec.Autoscale
	name := objectName(d.Spec.Name)
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: meta(name),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr(int32(a.Min)),
			MaxReplicas:    int32(a.Max),
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{
						Type:         autoscalingv2.AverageValueMetricType,
						AverageValue: resource.NewMilliQuantity(int64(a.Target*10), resource.DecimalSI),
					},
				},
			}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp:   &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr(int32(0))},
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr(int32(a.Cooldown / time.Second))},
			},
		},
	}
}

// withLiveReplicas returns d to apply over its Deployment live (nil: none
// yet): an autoscaled service keeps the replicas that run, within min and
// max (min for a new one), so that `ferry up` leaves what the autoscaler
// chose.
func withLiveReplicas(d *deploy.Deployment, live *unstructured.Unstructured) *deploy.Deployment {
	a := d.Spec.Autoscale
	if d.Job || a == nil {
		return d
	}
	n := int64(a.Min)
	if live != nil {
		if r, ok, _ := unstructured.NestedInt64(live.Object, "spec", "replicas"); ok {
			n = r
		}
	}
	spec := *d.Spec
	spec.Replicas = min(max(int(n), a.Min), a.Max)
	c := *d
	c.Spec = &spec
	return &c
}

// scaling says what scales the Deployment dep, from its annotation and
// the HorizontalPodAutoscalers hpas (by name): "" when it does not
// autoscale.
func scaling(dep metav1.Object, hpas map[string]bool) string {
	policy := dep.GetAnnotations()[AnnotationAutoscale]
	switch {
	case policy == "":
		return ""
	case hpas[dep.GetName()]:
		return fmt.Sprintf("the cluster: HorizontalPodAutoscaler %s (%s)", dep.GetName(), policy)
	default:
		return fmt.Sprintf("ferry, through the scale subresource, while `ferry up --follow` or `ferry watch` runs (%s)", policy)
	}
}

// NewScaler returns the Scaler of project's services for ferry's own
// autoscaler; a service that a HorizontalPodAutoscaler scales is left to
// it.
func (t *Target) NewScaler(project, _ string, _ map[string]*deploy.ServiceSpec, _ io.Writer) deploy.Scaler {
	return &Scaler{t: t, project: project}
}

var _ deploy.Scaling = (*Target)(nil)

// A Scaler scales the Deployments of one project through their scale
// subresource, for ferry's autoscaler (see scale.Loop).
type Scaler struct {
	t       *Target
	project string
}

// byHPA returns scale.ErrScaledElsewhere, said for people, when a
// HorizontalPodAutoscaler of ferry's scales service.
func (s *Scaler) byHPA(ctx context.Context, c *clients, service string) error {
	u, err := s.t.get(ctx, c, hpaResource, objectName(service))
	if err != nil || u == nil {
		return err
	}
	return fmt.Errorf("HorizontalPodAutoscaler %s of namespace %s scales it, as the cluster serves %s; ferry's autoscaler leaves it (`kubectl describe hpa %s` shows its decisions): %w",
		u.GetName(), s.t.namespace, metricsGroup, u.GetName(), scale.ErrScaledElsewhere)
}

// pods lists the running pods of service.
func (s *Scaler) pods(ctx context.Context, c *clients, service string) ([]corev1.Pod, error) {
	if err := s.byHPA(ctx, c, service); err != nil {
		return nil, err
	}
	list, err := c.typed.CoreV1().Pods(s.t.namespace).List(ctx, metav1.ListOptions{
		LabelSelector: s.t.selector(s.project) + "," + LabelRule + "=" + objectName(service),
	})
	if err != nil {
		return nil, s.t.apiError("listing the pods of "+service, err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && podRunning(&p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Replicas lists the running pods of service, each at its pod IP and
// port: ferry scrapes their metrics there, so the pods' network must be
// reachable from where it runs (a cluster on this machine).
func (s *Scaler) Replicas(ctx context.Context, service string, port int) ([]scale.Replica, error) {
	c, err := s.t.client()
	if err != nil {
		return nil, err
	}
	pods, err := s.pods(ctx, c, service)
	if err != nil {
		return nil, err
	}
	var out []scale.Replica
	for _, p := range pods {
		r := scale.Replica{Name: p.Name}
		if p.Status.PodIP == "" {
			r.AddrErr = fmt.Errorf("pod %s has no IP yet", p.Name)
		} else {
			r.Addr = fmt.Sprintf("%s:%d", p.Status.PodIP, port)
		}
		out = append(out, r)
	}
	return out, nil
}

// CPU is refused: without the metrics API, ferry has no figure of a pod's
// CPU that it may read with a namespace's permissions.
func (s *Scaler) CPU(ctx context.Context, service string) (int, map[string]float64, error) {
	c, err := s.t.client()
	if err != nil {
		return 0, nil, err
	}
	if err := s.byHPA(ctx, c, service); err != nil {
		return 0, nil, err
	}
	return 0, nil, fmt.Errorf("the cluster of environment %s serves no %s API, so neither a HorizontalPodAutoscaler nor ferry can read the pods' CPU: install metrics-server (then `ferry up` makes an HPA), or autoscale on a metric the service serves",
		s.t.env.Name, metricsGroup)
}

// Scale sets the replicas of service's Deployment through its scale
// subresource.
func (s *Scaler) Scale(ctx context.Context, service string, n int) error {
	c, err := s.t.client()
	if err != nil {
		return err
	}
	if err := s.byHPA(ctx, c, service); err != nil {
		return err
	}
	name := objectName(service)
	if _, err := s.t.get(ctx, c, resourceOf["Deployment"], name); err != nil {
		return err
	}
	deps := c.typed.AppsV1().Deployments(s.t.namespace)
	sc, err := deps.GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		return s.t.apiError("reading the scale of deployment/"+name, err)
	}
	sc.Spec.Replicas = int32(n)
	if _, err := deps.UpdateScale(ctx, name, sc, metav1.UpdateOptions{FieldManager: FieldManager + "-autoscale"}); err != nil {
		return s.t.apiError("scaling deployment/"+name, err)
	}
	return nil
}

// Close does nothing: the Scaler keeps nothing open.
func (s *Scaler) Close() {}

// autoscaled returns d as Deploy applies it: for an autoscaled service,
// with the replicas its Deployment runs (see withLiveReplicas), once it is
// known whether an HPA drives it.
func (t *Target) autoscaled(ctx context.Context, c *clients, d *deploy.Deployment) (*deploy.Deployment, error) {
	if d.Job || d.Spec.Autoscale == nil {
		return d, nil
	}
	if err := t.decideScaling(ctx, c, d); err != nil {
		return nil, err
	}
	live, err := t.get(ctx, c, resourceOf["Deployment"], objectName(d.Spec.Name))
	if err != nil {
		return nil, err
	}
	return withLiveReplicas(d, live), nil
}

// currentScaling reports whether the autoscaled service d, whose
// Deployment is dep, is scaled as declared: by the policy it declares,
// with an HPA exactly when one should drive it.
func (t *Target) currentScaling(ctx context.Context, c *clients, d *deploy.Deployment, dep *unstructured.Unstructured) (bool, string, error) {
	if dep.GetAnnotations()[AnnotationAutoscale] != d.Spec.Autoscale.String() {
		return false, "its autoscale policy changed", nil
	}
	if err := t.decideScaling(ctx, c, d); err != nil {
		return false, "", err
	}
	h, err := t.listedObject(ctx, c, hpaResource, d.Project, objectName(d.Spec.Name))
	if err != nil {
		return false, "", err
	}
	switch want := t.hpaDrives(d); {
	case want && h == nil:
		return false, "the cluster serves " + metricsGroup + ": a HorizontalPodAutoscaler is to scale it", nil
	case !want && h != nil:
		return false, "its HorizontalPodAutoscaler is to go: ferry's autoscaler scales it", nil
	}
	return true, "", nil
}

// hpaNames lists, by name, the HorizontalPodAutoscalers of project, when
// one of deps autoscales (one list call then, none otherwise).
func (t *Target) hpaNames(ctx context.Context, c *clients, project string, deps []appsv1.Deployment) (map[string]bool, error) {
	if !slices.ContainsFunc(deps, func(d appsv1.Deployment) bool { return d.Annotations[AnnotationAutoscale] != "" }) {
		return nil, nil
	}
	list, err := t.resource(c, hpaResource).List(ctx, metav1.ListOptions{LabelSelector: t.selector(project)})
	if err != nil {
		return nil, t.apiError("listing horizontalpodautoscalers", err)
	}
	names := map[string]bool{}
	for _, u := range list.Items {
		names[u.GetName()] = true
	}
	return names, nil
}
