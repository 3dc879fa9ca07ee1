package k8s

import (
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// Render returns the manifests of ds, one file per object named
// KIND-NAME.yaml, as `ferry render` writes them: the objects `ferry up`
// applies, keys sorted, without status or creation time. A Secret holds
// its keys with empty values: ferry never renders a secret's value (`ferry
// up` fills them).
func (t *Target) Render(ds []*deploy.Deployment) (map[string][]byte, error) {
	t.load()
	// The manifests are for a cluster that ferry's autoscaler does not
	// watch: a cpu policy is an HPA.
	t.mu.Lock()
	t.metrics = ptr(true)
	t.mu.Unlock()
	out := map[string][]byte{}
	for _, d := range ds {
		if err := t.CheckSpec(d.Spec); err != nil {
			return nil, fmt.Errorf("%s %q: %w", kindOf(d), d.Spec.Name, err)
		}
		objs := t.objects(d)
		for _, pvc := range t.volumeClaims(d) {
			objs = append(objs, pvc)
		}
		for _, o := range objs {
			u, err := applied(o)
			if err != nil {
				return nil, err
			}
			b, err := yaml.Marshal(u.Object)
			if err != nil {
				return nil, err
			}
			file := strings.ToLower(u.GetKind()) + "-" + u.GetName() + ".yaml"
			if prev, dup := out[file]; dup && u.GetKind() == "PersistentVolumeClaim" && string(prev) == string(b) {
				continue // a volume that several services mount
			}
			if _, dup := out[file]; dup {
				return nil, fmt.Errorf("two services or jobs make %s/%s: rename one (object names turn '_' into '-')", strings.ToLower(u.GetKind()), u.GetName())
			}
			out[file] = b
		}
	}
	return out, nil
}

func kindOf(d *deploy.Deployment) string {
	if d.Job {
		return "job"
	}
	return "service"
}
