package k8s

// `ferry up --wait` and depends_on read each pod's readiness, as the
// kubelet checks it with the Deployment's readiness probe: ferry need not
// reach the pods.

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferryhq/ferry/builtins/deploy"
)

var _ deploy.ReadinessReporter = (*Target)(nil)

// ReportsReadiness says that Replicas gives each pod's readiness.
func (t *Target) ReportsReadiness() {}

// podHealth is the readiness of p as a health status, and why it is not
// ready: a pod that cannot start (its image cannot be pulled, its
// container cannot be made) is unhealthy; one whose readiness probe fails
// is starting, with the probe's last failure, until the wait gives up.
func (t *Target) podHealth(ctx context.Context, c *clients, d *deploy.Deployment, p *corev1.Pod) (health, why string) {
	if podReady(p) {
		return deploy.Healthy, ""
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
			return deploy.Starting, "" // Replica.Restarting reports it
		}
	}
	if err := t.podFailure(ctx, c, d, p); err != nil {
		return deploy.Unhealthy, err.Error()
	}
	if !podRunning(p) {
		return deploy.Starting, podWaiting(p)
	}
	if msg := t.lastProbeFailure(ctx, c, p); msg != "" {
		return deploy.Starting, msg
	}
	return deploy.Starting, fmt.Sprintf("pod %s is not ready yet", p.Name)
}

// lastProbeFailure is the message of the last failed probe of p that the
// kubelet reported as an event, "" when there is none.
func (t *Target) lastProbeFailure(ctx context.Context, c *clients, p *corev1.Pod) string {
	evs, err := c.typed.CoreV1().Events(t.namespace).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=Pod,involvedObject.name=" + p.Name + ",reason=Unhealthy",
	})
	if err != nil || len(evs.Items) == 0 {
		return ""
	}
	last := slices.MaxFunc(evs.Items, func(a, b corev1.Event) int { return eventTime(a).Time.Compare(eventTime(b).Time) })
	return last.Message
}

func eventTime(e corev1.Event) (t metav1.MicroTime) {
	switch {
	case e.Series != nil:
		return e.Series.LastObservedTime
	case !e.LastTimestamp.IsZero():
		return metav1.NewMicroTime(e.LastTimestamp.Time)
	}
	return e.EventTime
}
