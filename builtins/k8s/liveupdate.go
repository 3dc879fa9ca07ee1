package k8s

// Live update of a service's pods: ferry watch copies changed files into
// the running pods through exec, with the image's own tar, and runs the
// live_update steps there (see deploy.LiveUpdater).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferryhq/ferry/builtins/deploy"
)

var _ deploy.LiveUpdater = (*Target)(nil)

// LiveReplicas lists the running pods of the project's services whose
// container runs img: by its reference, or by the digest it was pushed
// as.
func (t *Target) LiveReplicas(ctx context.Context, project string, img deploy.LiveImage) ([]deploy.LiveReplica, error) {
	c, err := t.client()
	if err != nil {
		return nil, err
	}
	list, err := c.typed.CoreV1().Pods(t.namespace).List(ctx, metav1.ListOptions{LabelSelector: t.selector(project) + "," + LabelKind + "=service"})
	if err != nil {
		return nil, t.apiError("listing pods", err)
	}
	var out []deploy.LiveReplica
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil || !podRunning(&p) || !runsImage(&p, img) {
			continue
		}
		out = append(out, &livePod{t: t, c: c, pod: p})
	}
	slices.SortFunc(out, func(a, b deploy.LiveReplica) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// runsImage reports whether the first container of p runs img.
func runsImage(p *corev1.Pod, img deploy.LiveImage) bool {
	ref := p.Spec.Containers[0].Image
	if ref == img.Ref {
		return true
	}
	_, digest, ok := strings.Cut(ref, "@")
	if !ok {
		return false
	}
	return slices.ContainsFunc(img.RepoDigests, func(d string) bool { return strings.HasSuffix(d, "@"+digest) })
}

// A livePod is a running pod that a live update updates.
type livePod struct {
	t   *Target
	c   *clients
	pod corev1.Pod
}

func (p *livePod) ID() string      { return string(p.pod.UID) }
func (p *livePod) Name() string    { return "pod " + p.pod.Name }
func (p *livePod) Service() string { return p.pod.Labels[LabelRule] }
func (p *livePod) Image() string   { return p.pod.Spec.Containers[0].Image }

// Extract runs `tar -xmf - -C /` in the pod with tarStream as its input.
func (p *livePod) Extract(ctx context.Context, tarStream io.Reader) error {
	var stderr strings.Builder
	code, err := p.t.execInPod(ctx, p.c, &p.pod, []string{"tar", "-xmf", "-", "-C", "/"}, tarStream, io.Discard, &stderr)
	var np *noProgramError
	switch {
	case errors.As(err, &np):
		return fmt.Errorf("%w in pod %s: %v", deploy.ErrNoTar, p.pod.Name, np.cause)
	case err != nil:
		return err
	case code != 0:
		return fmt.Errorf("tar -x in %s exited with code %d: %s", p.Name(), code, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Exec runs argv in the pod.
func (p *livePod) Exec(ctx context.Context, argv []string, stdout, stderr io.Writer) (int, error) {
	return p.t.execInPod(ctx, p.c, &p.pod, argv, nil, stdout, stderr)
}

// Signal is not possible in place: Kubernetes has no API to signal a
// container's process.
func (p *livePod) Signal(context.Context, string) error {
	return fmt.Errorf("Kubernetes cannot signal a container's process (%w); use run() with a program of the image, such as [\"kill\", \"-HUP\", \"1\"]", deploy.ErrLiveUnsupported)
}

// Restart is not possible in place: a restarted container of a pod starts
// afresh from its image, without the synced files.
func (p *livePod) Restart(context.Context) error {
	return fmt.Errorf("a container of a Kubernetes pod restarts from its image, without the synced files (%w)", deploy.ErrLiveUnsupported)
}
