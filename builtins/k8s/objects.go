// Package k8s is the Kubernetes deploy target: it turns the target-neutral
// service() and job() specs of the deploy package into typed k8s.io/api
// objects (never YAML templates), applies them to the cluster that the
// user's kubeconfig names with server-side apply, and prunes, by label,
// what it created and the workspace no longer declares.
package k8s

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// Labels and annotations on every object ferry creates. The labels select
// (the project, the rule) and own (the workspace); the annotations carry
// what a label value cannot hold.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by" // always "ferry"
	LabelProject   = "ferry.project"
	LabelRule      = "ferry.rule"
	LabelKind      = "ferry.kind"      // service or job
	LabelWorkspace = "ferry.workspace" // deploy.Owner.ID

	AnnotationKey           = "ferry.config"         // the rule's key (its config hash): it decides whether to apply
	AnnotationWorkspacePath = "ferry.workspace.path" // whose an object is, for messages

	managedBy = "ferry"
)

// FieldManager is the field manager of ferry's server-side applies.
const FieldManager = "ferry"

// An object is a typed Kubernetes object (a *corev1.Secret, say).
type object interface {
	runtime.Object
	metav1.Object
}

// objectName is the name of the objects of the rule name: rule names may
// hold '_', which object names cannot.
func objectName(rule string) string { return strings.ReplaceAll(rule, "_", "-") }

// checkSpec refuses what the target cannot deploy yet, before anything runs
// (see deploy.SpecChecker); docs/kubernetes.md lists the same.
func checkSpec(s *deploy.ServiceSpec) error {
	if errs := validation.IsDNS1123Label(objectName(s.Name)); len(errs) > 0 {
		return fmt.Errorf("its name %q is not a Kubernetes object name: %s; rename it", objectName(s.Name), strings.Join(errs, "; "))
	}
	if err := checkVolumes(s); err != nil {
		return err
	}
	var unsupported []string
	if len(s.Networks) > 0 || s.NetworkMode != "" {
		unsupported = append(unsupported, "networks and network_mode (every pod shares the cluster network)")
	}
	if s.User != "" {
		if _, _, err := parseUser(s.User); err != nil {
			unsupported = append(unsupported, err.Error())
		}
	}
	if len(unsupported) > 0 {
		return fmt.Errorf("the kubernetes target does not deploy %s yet", strings.Join(unsupported, ", "))
	}
	return nil
}

// parseUser reads user = "UID" or "UID:GID": a pod's security context
// takes numbers, not names.
func parseUser(u string) (uid, gid *int64, err error) {
	name, group, hasGroup := strings.Cut(u, ":")
	n, err := strconv.ParseInt(name, 10, 64)
	if err != nil {
		return nil, nil, fmt.Errorf("user %q (Kubernetes takes a numeric UID[:GID])", u)
	}
	uid = &n
	if hasGroup {
		g, err := strconv.ParseInt(group, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("user %q (Kubernetes takes a numeric UID[:GID])", u)
		}
		gid = &g
	}
	return uid, gid, nil
}

// objects converts one service or job into the objects that run it: for a
// service, a Deployment and, when it has ports, a ClusterIP Service; for a
// job, a Job; and for either, the immutable Secret of its secret values
// (named by their HMAC, so a rotation makes a new one and rolls the pods).
// Without revealed values (ferry render), the Secret is named for the rule
// and holds the keys only.
func (t *Target) objects(d *deploy.Deployment) []object {
	s := d.Spec
	name := objectName(s.Name)
	kind := "service"
	if d.Job {
		kind = "job"
	}
	meta := func(n string) metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Name:      n,
			Namespace: t.namespace,
			Labels: map[string]string{
				LabelManagedBy: managedBy, LabelProject: labelValue(d.Project), LabelRule: name,
				LabelKind: kind, LabelWorkspace: t.owner.ID,
			},
			Annotations: map[string]string{AnnotationKey: d.Key.String(), AnnotationWorkspacePath: t.owner.Path},
		}
	}
	selector := map[string]string{LabelProject: labelValue(d.Project), LabelRule: name}
	var out []object

	secretName := ""
	if len(s.Secrets) > 0 || len(s.SecretFiles) > 0 {
		secretName = name + "-secrets"
		if d.SecretsHash != "" {
			secretName += "-" + d.SecretsHash[:min(10, len(d.SecretsHash))]
		}
		sec := &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: meta(secretName),
			Immutable:  ptr(true),
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{},
		}
		for _, k := range secretEnv(d) {
			sec.Data[envKey(k)] = []byte(d.SecretEnv[k])
		}
		for _, p := range secretFiles(d) {
			sec.Data[fileKey(p)] = fileValue(d, p)
		}
		out = append(out, sec)
	}

	pod := corev1.PodSpec{
		Containers:                   []corev1.Container{t.container(d, name, secretName)},
		AutomountServiceAccountToken: ptr(false),
		EnableServiceLinks:           ptr(false),
	}
	if ps := t.pullSecret(s.Name, meta); ps != nil {
		out = append(out, ps)
		pod.ImagePullSecrets = []corev1.LocalObjectReference{{Name: ps.Name}}
	}
	if len(s.SecretFiles) > 0 {
		pod.Volumes = []corev1.Volume{{
			Name:         "ferry-secrets",
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secretName, DefaultMode: ptr(int32(0o400))}},
		}}
	}
	podVolumes(s, &pod, &pod.Containers[0])
	if s.StopGrace() > 0 {
		pod.TerminationGracePeriodSeconds = ptr(int64(s.StopGrace().Seconds()))
	}
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{
			LabelManagedBy: managedBy, LabelProject: labelValue(d.Project), LabelRule: name, LabelKind: kind, LabelWorkspace: t.owner.ID,
		}},
		Spec: pod,
	}

	if d.Job {
		template.Spec.RestartPolicy = corev1.RestartPolicyNever
		out = append(out, &batchv1.Job{
			TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: meta(name),
			Spec: batchv1.JobSpec{
				BackoffLimit: ptr(int32(0)),
				Template:     template,
			},
		})
		return out
	}

	template.Spec.RestartPolicy = corev1.RestartPolicyAlways
	replicas := int32(max(s.Replicas, 1))
	dep := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta(name),
		Spec: appsv1.DeploymentSpec{
			Replicas:        &replicas,
			Selector:        &metav1.LabelSelector{MatchLabels: selector},
			Template:        template,
			Strategy:        strategy(s),
			MinReadySeconds: int32(s.ReadyAfter.Seconds()),
		},
	}
	if s.Autoscale != nil {
		dep.Annotations[AnnotationAutoscale] = s.Autoscale.String()
	}
	out = append(out, dep)
	if h := t.hpa(d, meta); h != nil {
		out = append(out, h)
	}

	if len(s.Ports) > 0 {
		svc := &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: meta(name),
			Spec:       corev1.ServiceSpec{Selector: selector},
		}
		t.service(s, svc)
		out = append(out, svc)
	}
	return out
}

// container is the one container of a service's or job's pods.
func (t *Target) container(d *deploy.Deployment, name, secretName string) corev1.Container {
	s := d.Spec
	c := corev1.Container{
		Name:       name,
		Image:      t.imageRef(d),
		Command:    s.Entrypoint,
		Args:       s.Command,
		WorkingDir: s.Workdir,
		// An image built by ferry is tagged by its key: what runs changes
		// only when the tag does.
		ImagePullPolicy: corev1.PullIfNotPresent,
	}
	if s.Pull == deploy.PullAlways {
		c.ImagePullPolicy = corev1.PullAlways
	} else if s.Pull == deploy.PullNever {
		c.ImagePullPolicy = corev1.PullNever
	}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: s.Env[k]})
	}
	for _, k := range secretEnv(d) {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secretName}, Key: envKey(k),
		}}})
	}
	for _, p := range secretFiles(d) {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "ferry-secrets", MountPath: p, SubPath: fileKey(p), ReadOnly: true})
	}
	for _, p := range s.Ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: portName(p), ContainerPort: int32(p.Container), Protocol: protocol(p)})
	}
	if s.Memory > 0 || s.CPUs > 0 {
		// service() declares no reservations: the scheduler reserves
		// what the pod may use (requests = limits, QoS Guaranteed).
		c.Resources.Limits = corev1.ResourceList{}
		if s.Memory > 0 {
			c.Resources.Limits[corev1.ResourceMemory] = *resource.NewQuantity(s.Memory, resource.BinarySI)
		}
		if s.CPUs > 0 {
			c.Resources.Limits[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(s.CPUs*1000), resource.DecimalSI)
		}
		c.Resources.Requests = c.Resources.Limits.DeepCopy()
	}
	if s.Health != nil {
		c.ReadinessProbe = probe(s.Health)
		c.StartupProbe = startupProbe(s.Health)
	}
	var sc corev1.SecurityContext
	set := false
	if s.Privileged {
		sc.Privileged, set = ptr(true), true
	}
	if s.User != "" {
		uid, gid, err := parseUser(s.User)
		if err == nil { // checkSpec refused it otherwise
			sc.RunAsUser, sc.RunAsGroup, set = uid, gid, true
			if *uid != 0 { // the kubelet refuses to start it as root
				sc.RunAsNonRoot = ptr(true)
			}
		}
	}
	if set {
		c.SecurityContext = &sc
	}
	return c
}

// probe is the readiness probe of a health check. With a start period,
// the startup probe runs first: the kubelet starts the readiness probe
// once it has passed.
func probe(h *deploy.HealthCheck) *corev1.Probe {
	p := &corev1.Probe{
		PeriodSeconds:    max(seconds(h.Interval), 1),
		TimeoutSeconds:   max(seconds(h.Timeout), 1),
		FailureThreshold: max(int32(h.Retries), 1),
	}
	switch h.Kind {
	case "http":
		p.HTTPGet = &corev1.HTTPGetAction{Path: h.Path, Port: intstr.FromInt32(int32(h.Port))}
	case "tcp":
		p.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(h.Port))}
	default:
		cmd := h.Argv
		if cmd == nil {
			cmd = []string{"/bin/sh", "-c", h.Shell}
		}
		p.Exec = &corev1.ExecAction{Command: cmd}
	}
	return p
}

// startupProbe is the startup probe of a health check with a start
// period: it probes every start_interval (else interval), and fails the
// container, which the kubelet then restarts, only once the start period
// is over and the retries too, as the health check's start period lets
// failures go uncounted.
func startupProbe(h *deploy.HealthCheck) *corev1.Probe {
	if h.StartPeriod <= 0 {
		return nil
	}
	p := probe(h)
	every := max(h.ProbeInterval(true), time.Second)
	p.PeriodSeconds = seconds(every)
	p.FailureThreshold = int32((h.StartPeriod+every-1)/every) + max(int32(h.Retries), 1)
	return p
}

// strategy maps update = {order, parallelism} to a rolling update: start
// first surges by the parallelism and never goes below the replica count;
// stop first takes that many down before their replacements start.
func strategy(s *deploy.ServiceSpec) appsv1.DeploymentStrategy {
	n := intstr.FromInt32(int32(max(s.Update.Parallelism, 1)))
	zero := intstr.FromInt32(0)
	ru := &appsv1.RollingUpdateDeployment{MaxSurge: &n, MaxUnavailable: &zero}
	if s.UpdateOrder() == deploy.StopFirst {
		ru = &appsv1.RollingUpdateDeployment{MaxSurge: &zero, MaxUnavailable: &n}
	}
	return appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: ru}
}

func seconds(d interface{ Seconds() float64 }) int32 {
	return int32(d.Seconds())
}

func portName(p deploy.Port) string {
	return fmt.Sprintf("%s-%d", strings.ToLower(p.Protocol), p.Container)
}

func protocol(p deploy.Port) corev1.Protocol {
	if p.Protocol == "udp" {
		return corev1.ProtocolUDP
	}
	return corev1.ProtocolTCP
}

// envKey and fileKey are the keys of a secret environment variable and
// of a secret file in the rule's Secret.
func envKey(name string) string { return "env." + name }

func fileKey(path string) string {
	return "file" + strings.NewReplacer("/", ".", "_", "-").Replace(path)
}

// secretEnv lists the secret environment variables of d, sorted: those
// whose values it revealed (an optional secret may have none), else (ferry
// render) every one declared.
func secretEnv(d *deploy.Deployment) []string {
	if d.SecretEnv != nil {
		return slices.Sorted(maps.Keys(d.SecretEnv))
	}
	return slices.Sorted(maps.Keys(d.Spec.Secrets))
}

// secretFiles lists the container paths of d's secret files, as secretEnv
// lists its variables.
func secretFiles(d *deploy.Deployment) []string {
	if d.SecretFileValues != nil {
		return slices.Sorted(maps.Keys(d.SecretFileValues))
	}
	return slices.Sorted(maps.Keys(d.Spec.SecretFiles))
}

// fileValue is the content of the secret file at container path p, when
// the rule revealed it (nil for ferry render).
func fileValue(d *deploy.Deployment, p string) []byte {
	if v, ok := d.SecretFileValues[p]; ok {
		return []byte(v.Value)
	}
	return nil
}

// labelValue makes s a valid label value: at most 63 characters of
// letters, digits, '-', '_' and '.', starting and ending with a letter or
// digit.
func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '-'
		}
	}
	return strings.Trim(string(b[:min(len(b), 63)]), "-_.")
}

func ptr[T any](v T) *T { return &v }
