package k8s

// The volumes of a service on Kubernetes: a named volume is a
// PersistentVolumeClaim of the project, which outlives the pods (and the
// services) that mount it, as a named Docker volume outlives its
// containers; an anonymous one is an emptyDir of each pod.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// claimSize is what a PersistentVolumeClaim that ferry makes requests.
const claimSize = "1Gi"

// claims is the resource of PersistentVolumeClaims: not among kinds, so
// neither a rule's prune nor RemoveExcept deletes one (only down
// --volumes does).
var claims = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}

// checkVolumes refuses the volumes a pod cannot mount: host folders (a
// pod runs on a node of the cluster, not on this machine) and names that
// are no object names.
func checkVolumes(s *deploy.ServiceSpec) error {
	for _, v := range s.Volumes {
		switch {
		case v.Bind:
			src := v.Source
			if !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, "~") {
				src = "./" + src // workspace-relative
			}
			return fmt.Errorf("volumes: %s:%s mounts a folder of this machine, which a pod on a node of the cluster cannot reach; use a named volume (\"NAME:%s\"), which becomes a PersistentVolumeClaim, or copy the files into the image", src, v.Target, v.Target)
		case v.Anonymous:
		default:
			if errs := validation.IsDNS1123Subdomain(claimName(v)); len(errs) > 0 {
				return fmt.Errorf("volumes: %q is not a Kubernetes object name (%s); rename the volume", claimName(v), strings.Join(errs, "; "))
			}
		}
	}
	return nil
}

// claimName is the name of the PersistentVolumeClaim of the named volume
// v: an external one is used by its own name.
func claimName(v deploy.Volume) string {
	if v.External {
		return v.Source
	}
	return objectName(v.Source)
}

// podVolumeName is the name of v among the pod's volumes.
func podVolumeName(n int) string { return fmt.Sprintf("volume-%d", n) }

// podVolumes adds the volumes of s to pod and mounts them into its
// container c.
func podVolumes(s *deploy.ServiceSpec, pod *corev1.PodSpec, c *corev1.Container) {
	for n, v := range s.Volumes {
		src := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		if !v.Anonymous {
			src = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName(v), ReadOnly: v.ReadOnly}}
		}
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: podVolumeName(n), VolumeSource: src})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: podVolumeName(n), MountPath: v.Target, ReadOnly: v.ReadOnly})
	}
}

// volumeClaims are the PersistentVolumeClaims of d's named volumes that
// ferry makes (not the external ones): ReadWriteOnce, claimSize, in the
// cluster's default StorageClass, labelled as the project's but no rule's.
func (t *Target) volumeClaims(d *deploy.Deployment) []*corev1.PersistentVolumeClaim {
	var out []*corev1.PersistentVolumeClaim
	seen := map[string]bool{}
	for _, v := range d.Spec.Volumes {
		if v.Anonymous || v.Bind || v.External || seen[claimName(v)] {
			continue
		}
		seen[claimName(v)] = true
		out = append(out, &corev1.PersistentVolumeClaim{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
			ObjectMeta: metav1.ObjectMeta{
				Name:      claimName(v),
				Namespace: t.namespace,
				Labels: map[string]string{
					LabelManagedBy: managedBy, LabelProject: labelValue(d.Project), LabelKind: "volume", LabelWorkspace: t.owner.ID,
				},
				Annotations: map[string]string{AnnotationWorkspacePath: t.owner.Path},
			},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(claimSize)}},
			},
		})
	}
	return out
}

// claimVolumes makes the PersistentVolumeClaims of d's named volumes that
// are missing (one that exists is left as it is: its data, its size, what
// bound it), and checks that the external ones exist.
func (t *Target) claimVolumes(ctx context.Context, c *clients, d *deploy.Deployment, log io.Writer) error {
	for _, v := range d.Spec.Volumes {
		if !v.External {
			continue
		}
		_, err := c.typed.CoreV1().PersistentVolumeClaims(t.namespace).Get(ctx, v.Source, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("%s %s: volume %s is declared external, but namespace %s has no PersistentVolumeClaim %s: create it (kubectl apply), or drop external = True for ferry to make one", kindOf(d), d.Spec.Name, v.Source, t.namespace, v.Source)
			}
			return t.apiError("reading persistentvolumeclaim/"+v.Source, err)
		}
	}
	for _, pvc := range t.volumeClaims(d) {
		u, err := t.get(ctx, c, claims, pvc.Name)
		if err != nil {
			return err
		}
		if u != nil {
			continue
		}
		if err := t.apply(ctx, c, pvc); err != nil {
			return err
		}
		fmt.Fprintf(log, "applied persistentvolumeclaim/%s\n", pvc.Name)
	}
	return nil
}

// removeVolumes deletes the project's PersistentVolumeClaims (down
// --volumes): the data they hold is lost, unless their volumes' reclaim
// policy keeps it.
func (t *Target) removeVolumes(ctx context.Context, project string) ([]string, error) {
	c, err := t.client()
	if err != nil {
		return nil, err
	}
	list, err := t.resource(c, claims).List(ctx, metav1.ListOptions{LabelSelector: t.selector(project)})
	if err != nil {
		return nil, t.apiError("listing persistentvolumeclaims", err)
	}
	var removed []string
	for _, u := range list.Items {
		if err := t.delete(ctx, c, claims, u.GetName()); err != nil {
			return removed, err
		}
		removed = append(removed, "persistentvolumeclaim/"+u.GetName())
	}
	slices.Sort(removed)
	return removed, nil
}
