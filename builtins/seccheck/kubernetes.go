package seccheck

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// kubernetesEnvs names the environments whose services and jobs the
// Kubernetes rules check: the selected one when it deploys to Kubernetes
// (none when it deploys elsewhere), or, with none selected, every
// Kubernetes environment ferry.star declares.
func kubernetesEnvs(envs []*deploy.Environment, selected string) []string {
	var out []string
	for _, e := range envs {
		if e.Target == deploy.TargetKubernetes && (selected == "" || selected == e.Name) {
			out = append(out, e.Name)
		}
	}
	return out
}

// checkKubernetes runs the Kubernetes rules on a service or job that the
// environments envs deploy to a cluster, positioned at its call in
// ferry.star: what the pods ferry makes of it (builtins/k8s) would grant
// or leave open.
func checkKubernetes(root string, rule *deploy.Rule, envs []string) ([]Finding, error) {
	info := rule.Info()
	file := ruleFile(root, info)
	lines, err := sourceLines(root, file)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", info.Kind, info.Name, err)
	}
	line := int(info.Pos.Line)
	where := fmt.Sprintf("environment %s deploys to Kubernetes", strings.Join(envs, ", "))
	if len(envs) > 1 {
		where = fmt.Sprintf("environments %s deploy to Kubernetes", strings.Join(envs, ", "))
	}
	var out []Finding
	add := func(id, msg string) {
		if ignoredAt(lines, line, id) {
			return
		}
		f := finding(id, file, line, fmt.Sprintf("%s %q: %s (%s)", info.Kind, info.Name, msg, where))
		f.Col = int(info.Pos.Col)
		out = append(out, f)
	}
	s := rule.Spec()
	if s.Privileged {
		add("FERRY-KUBE001", "privileged = True makes a privileged pod: every capability and device of whichever node runs it, which is root on that node and a way to the rest of the cluster")
	}
	for _, v := range s.Volumes {
		if v.Bind {
			add("FERRY-KUBE002", fmt.Sprintf("mounts the host path %s at %s: on a cluster that is a hostPath volume, a folder of whichever node the pod lands on (ferry refuses to deploy it there)", v.Source, v.Target))
		}
	}
	switch {
	case s.User == "":
		add("FERRY-KUBE003", "sets no user, so its pods run as the image's user, root unless the image says otherwise, and ferry cannot set runAsNonRoot")
	case isRoot(s.User):
		add("FERRY-KUBE003", fmt.Sprintf("user = %q runs its pods as root", s.User))
	}
	var missing []string
	if s.Memory <= 0 {
		missing = append(missing, "memory")
	}
	if s.CPUs <= 0 {
		missing = append(missing, "CPU")
	}
	if len(missing) > 0 {
		what := strings.Join(missing, " or ")
		add("FERRY-KUBE004", fmt.Sprintf("sets no %s limit in resources =: one pod can take all the %s of the node it runs on and starve the other pods there", what, what))
	}
	if len(s.Secrets) > 0 {
		names := slices.Sorted(maps.Keys(s.Secrets))
		add("FERRY-KUBE005", fmt.Sprintf("passes secret %s in environment variables, which every process of the pod inherits and `kubectl exec … env` prints; a Secret volume (secret_files) keeps it in one file", strings.Join(names, ", ")))
	}
	return out, nil
}
