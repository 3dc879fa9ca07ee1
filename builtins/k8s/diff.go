package k8s

// `ferry diff`: what `ferry up` would change, object by object, found by
// server-side dry-run applies.

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/ferryhq/ferry/builtins/deploy"
)

var _ deploy.Differ = (*Target)(nil)

// Diff writes what `ferry up` would change: for each object of ds, a
// unified diff of the live object and the result of a server-side
// dry-run apply (nothing for an object up to date); a Job it would run
// again, with why; each object of project that up would prune. A
// Secret's values are neither read into the diff nor written: its keys
// are compared, and a service whose secrets are unchanged keeps the
// Secret it runs with.
func (t *Target) Diff(ctx context.Context, project string, ds []*deploy.Deployment, out io.Writer) (int, error) {
	c, err := t.client()
	if err != nil {
		return 0, err
	}
	t.forget()
	live := map[string]*unstructured.Unstructured{}
	for _, gvr := range kinds {
		list, err := t.resource(c, gvr).List(ctx, metav1.ListOptions{LabelSelector: t.selector(project)})
		if err != nil {
			return 0, t.apiError("listing "+gvr.Resource, err)
		}
		for i := range list.Items {
			u := &list.Items[i]
			live[u.GetKind()+"/"+u.GetName()] = u
		}
	}
	changed := 0
	declared := map[string]bool{}
	for _, d := range ds {
		if err := checkSpec(d.Spec); err != nil {
			return 0, fmt.Errorf("%s %q: %w", kindOf(d), d.Spec.Name, err)
		}
		if err := t.decideScaling(ctx, c, d); err != nil {
			return 0, err
		}
		d = t.asLive(d, live)
		for _, o := range t.objects(d) {
			kind := o.GetObjectKind().GroupVersionKind().Kind
			id := kind + "/" + o.GetName()
			declared[id] = true
			cur := live[id]
			what := strings.ToLower(kind) + "/" + o.GetName()
			switch {
			case kind == "Secret":
				if msg := secretChange(o.(*corev1.Secret), cur); msg != "" {
					changed++
					fmt.Fprintf(out, "%s %s\n", what, msg)
				}
				continue
			case kind == "Job" && cur != nil:
				if ok, why, err := t.Current(ctx, d); err != nil {
					return 0, err
				} else if !ok {
					changed++
					fmt.Fprintf(out, "%s would run again: %s\n", what, why)
				}
				continue
			}
			if cur != nil {
				if err := t.owns(cur); err != nil {
					return 0, err
				}
			}
			after, err := t.dryRun(ctx, c, o)
			if err != nil {
				return 0, declaredAt(d, err)
			}
			text, err := objectDiff(cur, after)
			if err != nil {
				return 0, err
			}
			if text == "" {
				continue
			}
			changed++
			if cur == nil {
				fmt.Fprintf(out, "%s would be created:\n%s", what, text)
			} else {
				fmt.Fprintf(out, "%s would change:\n%s", what, text)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(live)) {
		if declared[id] {
			continue
		}
		u := live[id]
		changed++
		fmt.Fprintf(out, "%s/%s would be removed: %s no longer declares it\n", strings.ToLower(u.GetKind()), u.GetName(),
			cmp.Or(u.GetLabels()[LabelRule], "ferry.star"))
	}
	if changed == 0 {
		fmt.Fprintf(out, "no changes: namespace %s runs what ferry.star declares\n", t.namespace)
	}
	return changed, nil
}

// asLive returns d as up would deploy it when what diff cannot know is
// unchanged: its secret values (diff never reveals them) are those of the
// Secret it runs with, an image() rule's image, when the rule's key is
// that of the live object, is the one pushed then, and an autoscaled
// service keeps the replicas it runs.
func (t *Target) asLive(d *deploy.Deployment, live map[string]*unstructured.Unstructured) *deploy.Deployment {
	c := *d
	name := objectName(d.Spec.Name)
	if d.SecretsHash == "" && (len(d.Spec.Secrets) > 0 || len(d.Spec.SecretFiles) > 0) {
		for _, u := range live {
			if u.GetKind() == "Secret" && u.GetLabels()[LabelRule] == name && strings.HasPrefix(u.GetName(), name+"-secrets-") {
				c.SecretsHash = strings.TrimPrefix(u.GetName(), name+"-secrets-")
			}
		}
	}
	kind := "Deployment"
	if d.Job {
		kind = "Job"
	}
	cur := live[kind+"/"+name]
	c = *withLiveReplicas(&c, cur)
	if built(d) && t.env.Registry != "" && cur != nil && cur.GetAnnotations()[AnnotationKey] == d.Key.String() {
		containers, _, _ := unstructured.NestedSlice(cur.Object, "spec", "template", "spec", "containers")
		if len(containers) == 1 {
			img, _, _ := unstructured.NestedString(containers[0].(map[string]any), "image")
			c.Digest = img
		}
		pulls, _, _ := unstructured.NestedSlice(cur.Object, "spec", "template", "spec", "imagePullSecrets")
		t.setPullAuth(d.Spec.Name, nil)
		for _, p := range pulls {
			n, _, _ := unstructured.NestedString(p.(map[string]any), "name")
			if sec := live["Secret/"+n]; sec != nil {
				data, _, _ := unstructured.NestedString(sec.Object, "data", corev1.DockerConfigJsonKey)
				if cfg, err := base64Decode(data); err == nil {
					t.setPullAuth(d.Spec.Name, &pullCred{name: n, cfg: cfg})
				}
			}
		}
	}
	return &c
}

// secretChange says how up would change the Secret s, live as cur (nil
// when there is none): by its keys only.
func secretChange(s *corev1.Secret, cur *unstructured.Unstructured) string {
	want := slices.Sorted(maps.Keys(s.Data))
	if cur == nil {
		return fmt.Sprintf("would be created (keys %s)", strings.Join(want, ", "))
	}
	data, _, _ := unstructured.NestedMap(cur.Object, "data")
	have := slices.Sorted(maps.Keys(data))
	if slices.Equal(want, have) {
		return ""
	}
	return fmt.Sprintf("would change its keys from %s to %s", strings.Join(have, ", "), strings.Join(want, ", "))
}

// dryRun returns o as a server-side apply would leave it, changing nothing.
func (t *Target) dryRun(ctx context.Context, c *clients, o object) (*unstructured.Unstructured, error) {
	u, err := applied(o)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	res, err := t.resource(c, resourceOf[u.GetKind()]).Patch(ctx, u.GetName(), types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: FieldManager, Force: ptr(true), DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return nil, t.apiError(fmt.Sprintf("dry-run applying %s/%s", strings.ToLower(u.GetKind()), u.GetName()), err)
	}
	return res, nil
}

// objectDiff is a unified diff of before (nil: none) and after as YAML,
// without what the server keeps for itself (status, managed fields,
// versions); "" when they are the same.
func objectDiff(before, after *unstructured.Unstructured) (string, error) {
	a, err := diffYAML(before)
	if err != nil {
		return "", err
	}
	b, err := diffYAML(after)
	if err != nil {
		return "", err
	}
	if a == b {
		return "", nil
	}
	from := "live"
	if before == nil {
		from = "(none)"
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(a), B: difflib.SplitLines(b), FromFile: from, ToFile: "up", Context: 3,
	})
}

func diffYAML(u *unstructured.Unstructured) (string, error) {
	if u == nil {
		return "", nil
	}
	m := u.DeepCopy().Object
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		for _, k := range []string{"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink"} {
			delete(md, k)
		}
		if an, ok := md["annotations"].(map[string]any); ok {
			delete(an, "deployment.kubernetes.io/revision")
			if len(an) == 0 {
				delete(md, "annotations")
			}
		}
	}
	b, err := yaml.Marshal(m)
	return string(b), err
}

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
