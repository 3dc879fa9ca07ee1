package k8s

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// The kinds ferry creates, in the order they are applied (what a pod
// refers to first) and pruned.
var kinds = []schema.GroupVersionResource{
	{Version: "v1", Resource: "secrets"},
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "batch", Version: "v1", Resource: "jobs"},
	{Version: "v1", Resource: "services"},
	hpaResource,
}

// resourceOf is the resource of a typed object's kind.
var resourceOf = map[string]schema.GroupVersionResource{
	"Secret": kinds[0], "Deployment": kinds[1], "Job": kinds[2], "Service": kinds[3], "HorizontalPodAutoscaler": hpaResource,
	"PersistentVolumeClaim": claims,
}

// A Target deploys an environment's services and jobs to the Kubernetes
// cluster its kubeconfig context names, in its namespace (a deploy.Target).
type Target struct {
	env   *deploy.Environment
	owner deploy.Owner
	red   *redact.Redactor // removes secret values from the pods' output it shows

	// wrap, when set, wraps the client's transport (tests count requests).
	wrap func(http.RoundTripper) http.RoundTripper
	// applyOnly makes Deploy return once applied, without waiting for the
	// pods: for the tests of apply and prune on an API server alone.
	applyOnly bool

	once      sync.Once
	namespace string
	clients   *clients
	cfgErr    error // why the kubeconfig could not be read, for a target that renders only

	// lists holds, by resource, what one list call found of the
	// project's objects, for Current: an up of many services asks once
	// per kind. A list is dropped when the target writes, and is kept for
	// listFresh only, so what others change is seen soon after.
	mu    sync.Mutex
	lists map[schema.GroupVersionResource]*listed
	// metrics says whether the cluster serves the resource metrics API
	// (nil until asked; see autoscale.go).
	metrics *bool

	// images pushes what image() rules built to the environment's
	// registry; pullAuth holds, by rule, its imagePullSecret (see
	// images.go).
	images   ImagePusher
	pullAuth map[string]*pullCred

	// warn receives what the user should know but that is no error (the
	// log of the rule being deployed when nil); noRegistry says once that
	// built images are not pushed.
	warn       func(string)
	noRegistry sync.Once
}

type listed struct {
	at      time.Time
	project string
	byName  map[string]*unstructured.Unstructured
}

// listFresh is how long Current trusts a list: one `ferry up` decides on
// every service well within it.
const listFresh = 2 * time.Second

type clients struct {
	config  *rest.Config // for the streams of exec
	typed   kubernetes.Interface
	dynamic dynamic.Interface
	groups  groupLister // discovery, for the metrics API
}

var (
	_ deploy.Target      = (*Target)(nil)
	_ deploy.Owned       = (*Target)(nil)
	_ deploy.SpecChecker = (*Target)(nil)
	_ deploy.Renderer    = (*Target)(nil)
	_ deploy.Logger      = (*Target)(nil)
	_ deploy.Execer      = (*Target)(nil)
	_ deploy.Restarter   = (*Target)(nil)
)

// NewTarget returns the target of env, whose kubeconfig is read (with
// client-go's loading rules: KUBECONFIG, else ~/.kube/config) when first
// needed. red removes secret values from the pods' output that it shows
// (nothing when nil).
func NewTarget(env *deploy.Environment, red *redact.Redactor) *Target {
	return &Target{env: env, red: red}
}

// PushWith makes the target push the images that image() rules build to
// the environment's registry with p.
func (t *Target) PushWith(p ImagePusher) { t.images = p }

// Own makes the target label what it creates as o's, and prune only that.
func (t *Target) Own(o deploy.Owner) { t.owner = o }

// CheckSpec refuses what the target does not deploy yet (see checkSpec).
func (t *Target) CheckSpec(s *deploy.ServiceSpec) error {
	if err := checkSpec(s); err != nil {
		return err
	}
	return t.checkPorts(s)
}

// StoresSecretFiles says that secret_files become keys of the rule's
// Secret, mounted into its pods, instead of host files.
func (t *Target) StoresSecretFiles() {}

// load reads the kubeconfig once: the namespace, and the clients unless
// it cannot be read (cfgErr says why; render goes on without them).
func (t *Target) load() {
	t.once.Do(func() {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: t.env.Context})
		t.namespace = t.env.Namespace
		if t.namespace == "" {
			ns, _, err := cc.Namespace()
			if err != nil || ns == "" {
				ns = "default"
			}
			t.namespace = ns
		}
		cfg, err := cc.ClientConfig()
		if err != nil {
			t.cfgErr = t.configError(err)
			return
		}
		cfg.UserAgent = "ferry"
		// client-go's default (5 requests a second) would make an up of a
		// few services wait on the client, not the cluster.
		cfg.QPS, cfg.Burst = 50, 100
		if t.wrap != nil {
			cfg.Wrap(t.wrap)
		}
		typed, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.cfgErr = t.configError(err)
			return
		}
		dyn, err := dynamic.NewForConfig(cfg)
		if err != nil {
			t.cfgErr = t.configError(err)
			return
		}
		t.clients = &clients{config: cfg, typed: typed, dynamic: dyn, groups: typed.Discovery()}
	})
}

// configError explains why the kubeconfig gave no client.
func (t *Target) configError(err error) error {
	where := fmt.Sprintf("environment %s (declared at %s)", t.env.Name, t.env.Pos)
	if clientcmd.IsEmptyConfig(err) {
		return fmt.Errorf("%s deploys to Kubernetes, but no kubeconfig was found: set KUBECONFIG or write ~/.kube/config (`kubectl config view` shows what ferry reads)", where)
	}
	if t.env.Context != "" && (strings.Contains(err.Error(), "context was not found") || strings.Contains(err.Error(), "does not exist")) {
		return fmt.Errorf("%s: the kubeconfig has no context %q; `kubectl config get-contexts` lists those it has", where, t.env.Context)
	}
	return fmt.Errorf("%s: reading the kubeconfig: %w", where, err)
}

// client returns the cluster's clients, or why there are none.
func (t *Target) client() (*clients, error) {
	t.load()
	if t.clients == nil {
		return nil, t.cfgErr
	}
	return t.clients, nil
}

// resource is the dynamic client of gvr in the target's namespace.
func (t *Target) resource(c *clients, gvr schema.GroupVersionResource) dynamic.ResourceInterface {
	return c.dynamic.Resource(gvr).Namespace(t.namespace)
}

// apiError explains an error of the API server, naming the cluster.
func (t *Target) apiError(what string, err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("%s in namespace %s: the cluster refused: %v (ask for the permission, or choose another namespace with environment(%q, namespace = ...))", what, t.namespace, err, t.env.Name)
	}
	if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
		return fmt.Errorf("%s in namespace %s: the cluster rejected it: %v", what, t.namespace, err)
	}
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		return fmt.Errorf("%s in namespace %s: %v", what, t.namespace, err)
	}
	return fmt.Errorf("%s: cannot reach the cluster of environment %s: %w", what, t.env.Name, err)
}

// declaredAt prefixes err, which applying d's objects returned (the API
// server rejected one, say), with where ferry.star declares d.
func declaredAt(d *deploy.Deployment, err error) error {
	if !d.Pos.IsValid() {
		return err
	}
	return fmt.Errorf("%s: %s %s: %w", d.Pos, kindOf(d), d.Spec.Name, err)
}

// applied is the stripped object sent by a server-side apply: no status,
// no creation time (what the typed objects carry empty).
func applied(o object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	if tpl, ok := nested(m, "spec", "template", "metadata"); ok {
		delete(tpl, "creationTimestamp")
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func nested(m map[string]any, path ...string) (map[string]any, bool) {
	for _, p := range path {
		next, ok := m[p].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	return m, true
}

// apply sends o with a server-side apply as field manager ferry, taking
// over fields another manager set (ferry.star is the source of truth).
func (t *Target) apply(ctx context.Context, c *clients, o object) error {
	u, err := applied(o)
	if err != nil {
		return err
	}
	body, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	gvr := resourceOf[u.GetKind()]
	_, err = t.resource(c, gvr).Patch(ctx, u.GetName(), types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: FieldManager, Force: ptr(true)})
	if err != nil {
		return t.apiError(fmt.Sprintf("applying %s/%s", strings.ToLower(u.GetKind()), u.GetName()), err)
	}
	return nil
}

// get returns the object of gvr named name, nil when there is none. One
// that another workspace labels as its own is an error: ferry never
// changes it.
func (t *Target) get(ctx context.Context, c *clients, gvr schema.GroupVersionResource, name string) (*unstructured.Unstructured, error) {
	u, err := t.resource(c, gvr).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, t.apiError(fmt.Sprintf("reading %s/%s", gvr.Resource, name), err)
	}
	if err := t.owns(u); err != nil {
		return nil, err
	}
	return u, nil
}

// owns refuses an object that ferry did not create for this workspace.
func (t *Target) owns(u *unstructured.Unstructured) error {
	l := u.GetLabels()
	what := fmt.Sprintf("%s/%s in namespace %s", strings.ToLower(u.GetKind()), u.GetName(), t.namespace)
	if l[LabelManagedBy] != managedBy {
		return fmt.Errorf("%s exists and ferry did not create it; ferry leaves it alone: rename the service or job, or delete the object", what)
	}
	if l[LabelWorkspace] != t.owner.ID {
		return fmt.Errorf("%s belongs to the workspace at %s; ferry leaves it alone: use another namespace or project", what, u.GetAnnotations()[AnnotationWorkspacePath])
	}
	return nil
}

// listedObject returns the object of gvr named name among those ferry
// created for project in this workspace (nil when there is none), from a
// list made at most listFresh ago.
func (t *Target) listedObject(ctx context.Context, c *clients, gvr schema.GroupVersionResource, project, name string) (*unstructured.Unstructured, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.lists[gvr]; l != nil && l.project == project && time.Since(l.at) < listFresh {
		return l.byName[name], nil
	}
	list, err := t.resource(c, gvr).List(ctx, metav1.ListOptions{LabelSelector: t.selector(project)})
	if err != nil {
		return nil, t.apiError("listing "+gvr.Resource, err)
	}
	l := &listed{at: time.Now(), project: project, byName: map[string]*unstructured.Unstructured{}}
	for i := range list.Items {
		l.byName[list.Items[i].GetName()] = &list.Items[i]
	}
	if t.lists == nil {
		t.lists = map[schema.GroupVersionResource]*listed{}
	}
	t.lists[gvr] = l
	return l.byName[name], nil
}

// forget drops the lists of Current: the target is about to write.
func (t *Target) forget() {
	t.mu.Lock()
	t.lists = nil
	t.mu.Unlock()
}

// Current reports whether the service or job runs as declared: its
// Deployment (or Job) carries the rule's key, its replica count is the
// declared one, and the Service of its ports is there. It makes read
// calls only.
func (t *Target) Current(ctx context.Context, d *deploy.Deployment) (bool, string, error) {
	c, err := t.client()
	if err != nil {
		return false, "", err
	}
	name := objectName(d.Spec.Name)
	gvr := resourceOf["Deployment"]
	if d.Job {
		gvr = resourceOf["Job"]
	}
	u, err := t.listedObject(ctx, c, gvr, d.Project, name)
	if err != nil || u == nil {
		return false, "not deployed", err
	}
	if u.GetAnnotations()[AnnotationKey] != d.Key.String() {
		return false, "its definition changed", nil
	}
	if d.Job {
		if !jobSucceeded(u) {
			return false, "it did not complete", nil
		}
		return true, "", nil
	}
	if d.Spec.Autoscale != nil {
		if ok, why, err := t.currentScaling(ctx, c, d, u); err != nil || !ok {
			return false, why, err
		}
		d = withLiveReplicas(d, u)
	}
	if n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); int(n) != max(d.Spec.Replicas, 1) {
		return false, fmt.Sprintf("%d replicas, %d declared", n, max(d.Spec.Replicas, 1)), nil
	}
	if len(d.Spec.Ports) > 0 {
		svc, err := t.listedObject(ctx, c, resourceOf["Service"], d.Project, name)
		if err != nil {
			return false, "", err
		}
		if svc == nil || svc.GetAnnotations()[AnnotationKey] != d.Key.String() || !t.serviceTypeCurrent(svc) {
			return false, "its Service differs", nil
		}
	}
	return true, "", nil
}

func jobSucceeded(u *unstructured.Unstructured) bool {
	return jobCondition(u, "Complete")
}

func jobCondition(u *unstructured.Unstructured, kind string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == kind && m["status"] == "True" {
			return true
		}
	}
	return false
}

// prepare is how Deploy and RunJob begin: the clients, d as its objects
// are applied (its image pushed, an autoscaled service with the replicas
// that run), and those objects, none of which is another's. It drops the
// lists of Current, as the caller is about to write (and drops them again
// when done).
func (t *Target) prepare(ctx context.Context, d *deploy.Deployment, log io.Writer) (*clients, *deploy.Deployment, []object, error) {
	c, err := t.client()
	if err != nil {
		return nil, nil, nil, err
	}
	t.forget()
	if d, err = t.publish(ctx, d, log); err != nil {
		return nil, nil, nil, err
	}
	if d, err = t.autoscaled(ctx, c, d); err != nil {
		return nil, nil, nil, err
	}
	objs := t.objects(d)
	if err := t.checkOwned(ctx, c, objs); err != nil {
		return nil, nil, nil, err
	}
	if err := t.claimVolumes(ctx, c, d, log); err != nil {
		return nil, nil, nil, err
	}
	return c, d, objs, nil
}

// applyAll applies objs, the objects of d, saying each to log; an
// object the cluster rejects is an error with where d is declared.
func (t *Target) applyAll(ctx context.Context, c *clients, d *deploy.Deployment, objs []object, log io.Writer) error {
	for _, o := range objs {
		if err := t.apply(ctx, c, o); err != nil {
			return declaredAt(d, err)
		}
		fmt.Fprintf(log, "applied %s/%s\n", strings.ToLower(o.GetObjectKind().GroupVersionKind().Kind), o.GetName())
	}
	return nil
}

// Deploy applies the service's objects, then removes those of the rule it
// no longer needs: an older Secret (a rotation), a Service whose ports went.
func (t *Target) Deploy(ctx context.Context, d *deploy.Deployment, log io.Writer) error {
	defer t.forget()
	c, d, objs, err := t.prepare(ctx, d, log)
	if err != nil {
		return err
	}
	if err := t.applyAll(ctx, c, d, objs, log); err != nil {
		return err
	}
	if !t.applyOnly {
		if err := t.waitStarted(ctx, c, d, log); err != nil {
			return err
		}
	}
	return t.pruneRule(ctx, c, d, objs, log)
}

// startTimeout bounds how long Deploy waits for the pods of a rollout to
// run.
const startTimeout = 3 * time.Minute

// waitStarted waits until the rollout of d is done, as `kubectl rollout
// status` does: the Deployment's controller saw the new spec, every
// replica runs the new template and is available (ready, by its probe,
// for ready_after), and no pod of an older one is left. A pod that cannot
// start (its image cannot be pulled, it crash-loops, its config is wrong)
// ends the wait with its reason, as pods still not ready do at
// startTimeout.
func (t *Target) waitStarted(ctx context.Context, c *clients, d *deploy.Deployment, log io.Writer) error {
	name := objectName(d.Spec.Name)
	want := int32(max(d.Spec.Replicas, 1))
	deadline := time.Now().Add(startTimeout)
	restarts := map[string]int32{} // each pod's restarts when first seen
	for {
		dep, err := c.typed.AppsV1().Deployments(t.namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return t.apiError("reading deployment/"+name, err)
		}
		pods, err := c.typed.CoreV1().Pods(t.namespace).List(ctx, metav1.ListOptions{
			LabelSelector: t.selector(d.Project) + "," + LabelRule + "=" + name,
		})
		if err != nil {
			return t.apiError("listing pods", err)
		}
		running, live := int32(0), int32(0)
		var pending []string
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			live++
			if err := t.podFailure(ctx, c, d, &p); err != nil {
				return err
			}
			if err := t.podRestarted(ctx, c, d, &p, restarts); err != nil {
				return err
			}
			switch {
			case !podRunning(&p):
				pending = append(pending, podWaiting(&p))
			case !podReady(&p):
				running++
				pending = append(pending, fmt.Sprintf("pod %s runs but is not ready (its health check fails)", p.Name))
			default:
				running++
			}
		}
		st := dep.Status
		if st.ObservedGeneration >= dep.Generation && st.UpdatedReplicas == want && st.AvailableReplicas == want && running == want && live == want {
			fmt.Fprintf(log, "%d of %d replicas available\n", running, want)
			return nil
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("service %s: %d of %d replicas run, %d available, after %s", d.Spec.Name, running, want, st.AvailableReplicas, startTimeout)
			if len(pending) > 0 {
				msg += ": " + strings.Join(pending, "; ")
			}
			return errors.New(msg)
		}
		if err := sleep(ctx, 300*time.Millisecond); err != nil {
			return err
		}
	}
}

// podRunning reports whether every container of p runs.
func podRunning(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || len(p.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return true
}

// podRestarted is the error of a pod whose container restarted while the
// rollout was waited for (its restart count grew since first seen, or it
// came with restarts and is not ready): it crashes, even if the kubelet
// has not yet backed off from restarting it.
func (t *Target) podRestarted(ctx context.Context, c *clients, d *deploy.Deployment, p *corev1.Pod, seen map[string]int32) error {
	var n int32
	var cs corev1.ContainerStatus
	for _, s := range p.Status.ContainerStatuses {
		if s.RestartCount > n {
			n, cs = s.RestartCount, s
		}
	}
	first, ok := seen[p.Name]
	if !ok {
		seen[p.Name] = n
		if n == 0 || podReady(p) {
			return nil
		}
	} else if n <= first {
		return nil
	}
	code := 0
	if term := cs.LastTerminationState.Terminated; term != nil {
		code = int(term.ExitCode)
	}
	return fmt.Errorf("service %s is crash-looping: pod %s exited with code %d and was restarted (%d restart(s) so far)%s",
		d.Spec.Name, p.Name, code, n, t.podLines(ctx, c, p.Name))
}

// podReady reports whether p's Ready condition is true.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podWaiting says why p does not run yet.
func podWaiting(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return fmt.Sprintf("pod %s is not scheduled: %s", p.Name, c.Message)
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			return fmt.Sprintf("pod %s is waiting: %s %s", p.Name, w.Reason, w.Message)
		}
	}
	return fmt.Sprintf("pod %s is %s", p.Name, p.Status.Phase)
}

// podFailure is the error of a pod that will not start on its own: its
// image cannot be pulled, its container keeps crashing or cannot be made.
func (t *Target) podFailure(ctx context.Context, c *clients, d *deploy.Deployment, p *corev1.Pod) error {
	for _, cs := range p.Status.ContainerStatuses {
		w := cs.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
			return fmt.Errorf("%s %s: pod %s cannot get its image %s: %s: %s", kindOf(d), d.Spec.Name, p.Name, cs.Image, w.Reason, w.Message)
		case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
			return fmt.Errorf("%s %s: pod %s cannot start its container: %s: %s", kindOf(d), d.Spec.Name, p.Name, w.Reason, w.Message)
		case "CrashLoopBackOff":
			code := 0
			if term := cs.LastTerminationState.Terminated; term != nil {
				code = int(term.ExitCode)
			}
			return fmt.Errorf("service %s is crash-looping: pod %s exited with code %d and is being restarted (%d restart(s) so far)%s",
				d.Spec.Name, p.Name, code, cs.RestartCount, t.podLines(ctx, c, p.Name))
		}
	}
	return nil
}

// checkOwned refuses to apply objs when one of them exists and is not
// this workspace's (see owns): an apply would take it over.
func (t *Target) checkOwned(ctx context.Context, c *clients, objs []object) error {
	for _, o := range objs {
		if _, err := t.get(ctx, c, resourceOf[o.GetObjectKind().GroupVersionKind().Kind], o.GetName()); err != nil {
			return err
		}
	}
	return nil
}

// pruneRule deletes the objects of d's rule that objs does not hold.
func (t *Target) pruneRule(ctx context.Context, c *clients, d *deploy.Deployment, objs []object, log io.Writer) error {
	keep := map[string]bool{}
	for _, o := range objs {
		keep[o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName()] = true
	}
	sel := t.selector(d.Project) + "," + LabelRule + "=" + objectName(d.Spec.Name)
	for _, gvr := range kinds {
		list, err := t.resource(c, gvr).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return t.apiError("listing "+gvr.Resource, err)
		}
		for _, u := range list.Items {
			if keep[u.GetKind()+"/"+u.GetName()] {
				continue
			}
			if err := t.delete(ctx, c, gvr, u.GetName()); err != nil {
				return err
			}
			fmt.Fprintf(log, "removed %s/%s: %s no longer needs it\n", strings.ToLower(u.GetKind()), u.GetName(), d.Spec.Name)
		}
	}
	return nil
}

// selector selects what ferry created for project in this workspace.
func (t *Target) selector(project string) string {
	return fmt.Sprintf("%s=%s,%s=%s,%s=%s", LabelManagedBy, managedBy, LabelProject, labelValue(project), LabelWorkspace, t.owner.ID)
}

func (t *Target) delete(ctx context.Context, c *clients, gvr schema.GroupVersionResource, name string) error {
	bg := metav1.DeletePropagationBackground
	err := t.resource(c, gvr).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil && !apierrors.IsNotFound(err) {
		return t.apiError(fmt.Sprintf("deleting %s/%s", gvr.Resource, name), err)
	}
	return nil
}

// RunJob replaces the Job (its pod template cannot change in place), and
// waits until it completes; a failure is an error with the pod's last
// lines.
func (t *Target) RunJob(ctx context.Context, d *deploy.Deployment, log io.Writer) error {
	defer t.forget()
	c, d, objs, err := t.prepare(ctx, d, log)
	if err != nil {
		return err
	}
	name := objectName(d.Spec.Name)
	jobs := t.resource(c, resourceOf["Job"])
	old, err := t.get(ctx, c, resourceOf["Job"], name)
	if err != nil {
		return err
	}
	if old != nil {
		if err := t.delete(ctx, c, resourceOf["Job"], name); err != nil {
			return err
		}
		for {
			if _, err := jobs.Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				break
			}
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return err
			}
		}
	}
	// "started job/NAME" says it all.
	if err := t.applyAll(ctx, c, d, objs, io.Discard); err != nil {
		return err
	}
	if err := t.pruneRule(ctx, c, d, objs, log); err != nil {
		return err
	}
	fmt.Fprintf(log, "started job/%s\n", name)
	for {
		u, err := jobs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return t.apiError("reading job/"+name, err)
		}
		switch {
		case jobSucceeded(u):
			fmt.Fprintf(log, "job/%s completed\n", name)
			return nil
		case jobCondition(u, "Failed"):
			return fmt.Errorf("job %s failed%s", d.Spec.Name, t.lastLinesOf(ctx, c, "job-name="+name))
		}
		pods, err := c.typed.CoreV1().Pods(t.namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + name})
		if err != nil {
			return t.apiError("listing the pods of job/"+name, err)
		}
		for i := range pods.Items {
			if err := t.podFailure(ctx, c, d, &pods.Items[i]); err != nil {
				return err
			}
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(d):
		return nil
	}
}

// RemoveExcept prunes what ferry created for project in this workspace
// and the rules named in keep do not own: one list call per kind.
func (t *Target) RemoveExcept(ctx context.Context, project string, keep []string) ([]string, error) {
	c, err := t.client()
	if err != nil {
		return nil, err
	}
	t.forget()
	defer t.forget()
	kept := map[string]bool{}
	for _, k := range keep {
		kept[objectName(k)] = true
	}
	var removed []string
	for _, gvr := range kinds {
		list, err := t.resource(c, gvr).List(ctx, metav1.ListOptions{LabelSelector: t.selector(project)})
		if err != nil {
			return removed, t.apiError("listing "+gvr.Resource, err)
		}
		for _, u := range list.Items {
			if kept[u.GetLabels()[LabelRule]] {
				continue
			}
			if err := t.delete(ctx, c, gvr, u.GetName()); err != nil {
				return removed, err
			}
			removed = append(removed, strings.ToLower(u.GetKind())+"/"+u.GetName())
		}
	}
	return removed, nil
}

// Down removes everything ferry created for project in this workspace
// but the PersistentVolumeClaims of its volumes, which go too when
// volumes is set (down --volumes), as a local down keeps named volumes.
func (t *Target) Down(ctx context.Context, project string, volumes bool) ([]string, error) {
	removed, err := t.RemoveExcept(ctx, project, nil)
	if err != nil || !volumes {
		return removed, err
	}
	vols, err := t.removeVolumes(ctx, project)
	return append(removed, vols...), err
}

// Status lists the project's Deployments and Jobs.
func (t *Target) Status(ctx context.Context, project string) ([]deploy.ServiceStatus, error) {
	c, err := t.client()
	if err != nil {
		return nil, err
	}
	var out []deploy.ServiceStatus
	deps, err := c.typed.AppsV1().Deployments(t.namespace).List(ctx, metav1.ListOptions{LabelSelector: t.selector(project)})
	if err != nil {
		return nil, t.apiError("listing deployments", err)
	}
	hpas, err := t.hpaNames(ctx, c, project, deps.Items)
	if err != nil {
		return nil, err
	}
	for _, d := range deps.Items {
		st := deploy.ServiceStatus{
			Name: d.Labels[LabelRule], Replicas: int(d.Status.ReadyReplicas), Desired: int(ptrOr(d.Spec.Replicas, 1)),
			State: "running", Started: d.CreationTimestamp.Time, Scaling: scaling(&d, hpas),
		}
		if len(d.Spec.Template.Spec.Containers) > 0 {
			st.Image = d.Spec.Template.Spec.Containers[0].Image
		}
		if d.Status.ReadyReplicas < ptrOr(d.Spec.Replicas, 1) {
			st.State = "starting"
		}
		out = append(out, st)
	}
	jobs, err := c.typed.BatchV1().Jobs(t.namespace).List(ctx, metav1.ListOptions{LabelSelector: t.selector(project)})
	if err != nil {
		return nil, t.apiError("listing jobs", err)
	}
	for _, j := range jobs.Items {
		st := deploy.ServiceStatus{Name: j.Labels[LabelRule], Desired: 1, State: "running", Started: j.CreationTimestamp.Time}
		switch {
		case j.Status.Succeeded > 0:
			st.State = "completed"
		case j.Status.Failed > 0:
			st.State = "failed"
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b deploy.ServiceStatus) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// Replicas lists the pods of the service, each with its readiness (see
// podHealth): a pod not yet started counts as running, and starting.
func (t *Target) Replicas(ctx context.Context, d *deploy.Deployment) ([]deploy.Replica, error) {
	c, err := t.client()
	if err != nil {
		return nil, err
	}
	pods, err := c.typed.CoreV1().Pods(t.namespace).List(ctx, metav1.ListOptions{
		LabelSelector: t.selector(d.Project) + "," + LabelRule + "=" + objectName(d.Spec.Name),
	})
	if err != nil {
		return nil, t.apiError("listing pods", err)
	}
	var out []deploy.Replica
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		// A pod's first run starts when it is made: the time a wait first
		// sees does not move when its container starts.
		r := deploy.Replica{Name: p.Name, Running: p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending,
			Started: p.CreationTimestamp.Time}
		for _, cs := range p.Status.ContainerStatuses {
			r.Restarts += int(cs.RestartCount)
			if cs.State.Running != nil && cs.RestartCount > 0 {
				r.Started = cs.State.Running.StartedAt.Time
			}
			if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
				r.Restarting = true
			}
			if term := cs.LastTerminationState.Terminated; term != nil {
				r.ExitCode = int(term.ExitCode)
			}
			if term := cs.State.Terminated; term != nil {
				r.ExitCode = int(term.ExitCode)
			}
		}
		r.Health, r.HealthOutput = t.podHealth(ctx, c, d, &p)
		out = append(out, r)
	}
	return out, nil
}

// LastLines returns the last log lines of the pod named container.
func (t *Target) LastLines(ctx context.Context, container string) string {
	c, err := t.client()
	if err != nil {
		return ""
	}
	return t.podLines(ctx, c, container)
}

// lastLinesOf returns the last lines of the first pod sel selects.
func (t *Target) lastLinesOf(ctx context.Context, c *clients, sel string) string {
	pods, err := c.typed.CoreV1().Pods(t.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil || len(pods.Items) == 0 {
		return ""
	}
	return t.podLines(ctx, c, pods.Items[0].Name)
}

func (t *Target) podLines(ctx context.Context, c *clients, pod string) string {
	b, err := c.typed.CoreV1().Pods(t.namespace).GetLogs(pod, &corev1.PodLogOptions{TailLines: ptr(int64(10))}).DoRaw(ctx)
	if err != nil {
		return ""
	}
	var lines []string
	w := engine.NewOutputWriter(t.red, func(line string) {
		if strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
	})
	w.Write(b)
	w.Flush()
	if len(lines) == 0 {
		return ""
	}
	return "; its last lines:\n" + strings.Join(lines, "\n")
}

// podStarted reports whether a container of p has started, so that it
// has logs.
func podStarted(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil || cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil {
			return true
		}
	}
	return false
}

// Logs prints the logs of the project's pods (all services when names is
// empty), each line prefixed with its service's name. With o.Follow it
// goes on with what they print, and with the pods that start meanwhile (a
// rollout, a restarted container), until ctx ends.
func (t *Target) Logs(ctx context.Context, project string, names []string, o deploy.LogOptions, out io.Writer) error {
	c, err := t.client()
	if err != nil {
		return err
	}
	var wanted map[string]bool
	if len(names) > 0 {
		wanted = map[string]bool{}
		for _, n := range names {
			wanted[objectName(n)] = true
		}
	}
	list := func() ([]corev1.Pod, error) {
		pods, err := c.typed.CoreV1().Pods(t.namespace).List(ctx, metav1.ListOptions{LabelSelector: t.selector(project)})
		if err != nil {
			return nil, t.apiError("listing pods", err)
		}
		var started []corev1.Pod
		for _, p := range pods.Items {
			if (wanted == nil || wanted[p.Labels[LabelRule]]) && podStarted(&p) {
				started = append(started, p)
			}
		}
		slices.SortFunc(started, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
		return started, nil
	}
	pods, err := list()
	if err != nil {
		return err
	}
	if !o.Follow {
		for _, p := range pods {
			b, err := c.typed.CoreV1().Pods(t.namespace).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
			if err != nil {
				return t.apiError("reading the logs of pod "+p.Name, err)
			}
			w := t.podOutput(p.Labels[LabelRule], o, nil, out)
			w.Write(b)
			w.Flush()
		}
		return nil
	}
	return t.followLogs(ctx, c, pods, list, o, out)
}

// podOutput redacts what one pod prints as one stream, then cuts it into
// lines and prefixes them with rule, so that no prefix hides a value
// wrapped over lines; mu, when set, serializes the lines of several pods.
func (t *Target) podOutput(rule string, o deploy.LogOptions, mu *sync.Mutex, out io.Writer) *engine.OutputWriter {
	w := engine.NewOutputWriter(t.red, func(line string) {
		if mu != nil {
			mu.Lock()
			defer mu.Unlock()
		}
		fmt.Fprintf(out, "%s | %s\n", rule, line)
	})
	w.Color = o.Color
	return w
}

// followPoll is how often a followed log looks for pods that started.
const followPoll = time.Second

// followLogs streams the logs of pods, and of each pod or container that
// starts later, until ctx ends: each container's log once, from its start.
func (t *Target) followLogs(ctx context.Context, c *clients, pods []corev1.Pod, list func() ([]corev1.Pod, error), o deploy.LogOptions, out io.Writer) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	defer wg.Wait()
	followed := map[string]bool{} // pod/restart count
	for {
		for _, p := range pods {
			restarts := int32(0)
			for _, cs := range p.Status.ContainerStatuses {
				restarts += cs.RestartCount
			}
			id := fmt.Sprintf("%s/%d", p.Name, restarts)
			if followed[id] || p.DeletionTimestamp != nil && !podRunning(&p) {
				continue
			}
			followed[id] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := t.podOutput(p.Labels[LabelRule], o, &mu, out)
				defer w.Flush()
				s, err := c.typed.CoreV1().Pods(t.namespace).GetLogs(p.Name, &corev1.PodLogOptions{Follow: true}).Stream(ctx)
				if err != nil {
					return // the pod went away, or ctx ended
				}
				defer s.Close()
				io.Copy(w, s)
			}()
		}
		if err := sleep(ctx, followPoll); err != nil {
			return nil // Ctrl-C: the end of a follow
		}
		var err error
		if pods, err = list(); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}
