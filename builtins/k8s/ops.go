package k8s

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// AnnotationRestartedAt, on a Deployment's pod template, is when `ferry
// restart` last rolled its pods (kubectl rollout restart writes its own).
const AnnotationRestartedAt = "ferry.restartedAt"

// restartManager is the field manager of the restart patch: ferry's
// applies leave the annotation alone, so an up does not roll the pods
// again.
const restartManager = "ferry-restart"

// Exec runs r's command in the r.Replica-th running pod of the service
// (by name), through the pod's exec subresource (WebSocket, else SPDY),
// and returns the command's exit code.
func (t *Target) Exec(ctx context.Context, r deploy.ExecRequest) (int, error) {
	if len(r.Cmd) == 0 {
		return 0, errors.New("no command given: put it after --, as in `ferry exec web -- ls /`")
	}
	var unsupported []string
	if len(r.Env) > 0 {
		unsupported = append(unsupported, "exec --env (-e)")
	}
	if r.User != "" {
		unsupported = append(unsupported, "--user")
	}
	if r.WorkingDir != "" {
		unsupported = append(unsupported, "--workdir")
	}
	if len(unsupported) > 0 {
		return 0, fmt.Errorf("a Kubernetes exec runs the command as the container is set up: %s cannot be given; drop it, or run `sh -c` with it in the command when the image has a shell", strings.Join(unsupported, ", "))
	}
	if r.Replica == 0 {
		r.Replica = 1
	}
	c, err := t.client()
	if err != nil {
		return 0, err
	}
	pods, err := t.runningPods(ctx, c, r.Project, r.Service, r.Declared)
	if err != nil {
		return 0, err
	}
	if r.Replica > len(pods) {
		return 0, fmt.Errorf("service %s has %d running pod(s), so no replica %d; `ferry --env %s status` lists them", r.Service, len(pods), r.Replica, t.env.Name)
	}
	pod := pods[r.Replica-1]
	return t.exec(ctx, c, &pod, r)
}

// execInPod runs argv in the first container of pod, without a terminal,
// and returns its exit code; an error wrapping deploy.ErrNoProgram when
// the image lacks argv[0].
func (t *Target) execInPod(ctx context.Context, c *clients, pod *corev1.Pod, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	return t.exec(ctx, c, pod, deploy.ExecRequest{Cmd: argv, Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// exec runs r's command in the first container of pod, through the pod's
// exec subresource (WebSocket, else SPDY).
func (t *Target) exec(ctx context.Context, c *clients, pod *corev1.Pod, r deploy.ExecRequest) (int, error) {
	req := c.typed.CoreV1().RESTClient().Post().Resource("pods").Namespace(t.namespace).Name(pod.Name).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: pod.Spec.Containers[0].Name, Command: r.Cmd,
			Stdin: r.Stdin != nil, Stdout: r.Stdout != nil, Stderr: r.Stderr != nil && !r.TTY, TTY: r.TTY,
		}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(c.config, "GET", req.URL().String())
	if err != nil {
		return 0, fmt.Errorf("exec in pod %s: %w", pod.Name, err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(c.config, "POST", req.URL())
	if err != nil {
		return 0, fmt.Errorf("exec in pod %s: %w", pod.Name, err)
	}
	x, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return 0, fmt.Errorf("exec in pod %s: %w", pod.Name, err)
	}
	opts := remotecommand.StreamOptions{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Tty: r.TTY}
	if r.TTY {
		opts.Stderr = nil
		opts.TerminalSizeQueue = newSizeQueue(ctx, r.Size, r.Resize)
	}
	err = x.StreamWithContext(ctx, opts)
	var ce exec.CodeExitError
	if errors.As(err, &ce) {
		return ce.ExitStatus(), nil
	}
	if err != nil {
		if strings.Contains(err.Error(), "executable file not found") || strings.Contains(err.Error(), "no such file or directory") {
			return 0, &noProgramError{pod: pod.Name, image: pod.Spec.Containers[0].Image, program: r.Cmd[0], cause: err}
		}
		return 0, fmt.Errorf("exec %s in pod %s: %w", r.Cmd[0], pod.Name, err)
	}
	return 0, nil
}

// A noProgramError says that the image of a pod lacks the program an exec
// was to run; it is a deploy.ErrNoProgram.
type noProgramError struct {
	pod, image, program string
	cause               error
}

func (e *noProgramError) Error() string {
	return fmt.Sprintf("the image of pod %s (%s) has no program %q, so there is nothing to run (%v); an image built FROM scratch holds only what its Dockerfile copies in: run a program that the image contains", e.pod, e.image, e.program, e.cause)
}

func (e *noProgramError) Is(target error) bool { return target == deploy.ErrNoProgram }

// sizeQueue passes a terminal's sizes on to the exec stream: the first,
// then each resize, until ctx ends.
type sizeQueue struct {
	ctx   context.Context
	first *remotecommand.TerminalSize
	next  <-chan deploy.TermSize
}

func newSizeQueue(ctx context.Context, first deploy.TermSize, next <-chan deploy.TermSize) *sizeQueue {
	q := &sizeQueue{ctx: ctx, next: next}
	if first.Width > 0 && first.Height > 0 {
		q.first = &remotecommand.TerminalSize{Width: uint16(first.Width), Height: uint16(first.Height)}
	}
	return q
}

// Next returns the next size, or nil when there will be none.
func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	if f := q.first; f != nil {
		q.first = nil
		return f
	}
	select {
	case <-q.ctx.Done():
		return nil
	case z, ok := <-q.next:
		if !ok {
			return nil
		}
		return &remotecommand.TerminalSize{Width: uint16(z.Width), Height: uint16(z.Height)}
	}
}

// runningPods lists the running pods of a service, by name; none is an
// error that says why (not declared, a job, not up).
func (t *Target) runningPods(ctx context.Context, c *clients, project, service string, declared deploy.Declared) ([]corev1.Pod, error) {
	list, err := c.typed.CoreV1().Pods(t.namespace).List(ctx, metav1.ListOptions{
		LabelSelector: t.selector(project) + "," + LabelRule + "=" + objectName(service),
	})
	if err != nil {
		return nil, t.apiError("listing pods", err)
	}
	var pods []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && podRunning(&p) && p.Labels[LabelKind] == "service" {
			pods = append(pods, p)
		}
	}
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	if len(pods) > 0 {
		return pods, nil
	}
	return nil, t.notRunning(project, service, declared)
}

// notRunning explains why service has no running pod.
func (t *Target) notRunning(project, service string, declared deploy.Declared) error {
	if declared != nil {
		if kinds, err := declared(); err == nil {
			switch kinds[service] {
			case "":
				return fmt.Errorf("ferry.star declares no service %s; `ferry --env %s status` lists what runs", service, t.env.Name)
			case "job":
				return fmt.Errorf("%s is a job, which runs to completion; `ferry --env %s up --force %s` runs it again", service, t.env.Name, service)
			}
		}
	}
	return fmt.Errorf("service %s of project %s runs no pod in namespace %s; `ferry --env %s up %s` starts it", service, project, t.namespace, t.env.Name, service)
}

// Restart rolls the pods of each service named, as `kubectl rollout
// restart` does: it sets the pod template's restart annotation, so that
// the Deployment replaces its pods by its update policy, and waits for
// each rollout. It checks every name before restarting anything.
func (t *Target) Restart(ctx context.Context, project string, services []string, declared deploy.Declared, log io.Writer) error {
	if len(services) == 0 {
		return errors.New("name the services to restart, as in `ferry restart web`")
	}
	c, err := t.client()
	if err != nil {
		return err
	}
	var todo []*deploy.Deployment
	for _, s := range services {
		dep, err := c.typed.AppsV1().Deployments(t.namespace).Get(ctx, objectName(s), metav1.GetOptions{})
		if apierrors.IsNotFound(err) || err == nil && dep.Labels[LabelProject] != labelValue(project) {
			return t.notRunning(project, s, declared)
		}
		if err != nil {
			return t.apiError("reading deployment/"+objectName(s), err)
		}
		if dep.Labels[LabelWorkspace] != t.owner.ID {
			return fmt.Errorf("deployment/%s in namespace %s was deployed from another checkout (%s), and ferry restarts only what this workspace deployed; run ferry restart there, or ferry up here first",
				dep.Name, t.namespace, dep.Annotations[AnnotationWorkspacePath])
		}
		todo = append(todo, &deploy.Deployment{Project: project,
			Spec: &deploy.ServiceSpec{Name: s, Replicas: int(ptrOr(dep.Spec.Replicas, 1))}})
	}
	for _, d := range todo {
		name := objectName(d.Spec.Name)
		patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, AnnotationRestartedAt, time.Now().UTC().Format(time.RFC3339Nano))
		if _, err := c.typed.AppsV1().Deployments(t.namespace).Patch(ctx, name, types.StrategicMergePatchType, []byte(patch),
			metav1.PatchOptions{FieldManager: restartManager}); err != nil {
			return t.apiError("restarting deployment/"+name, err)
		}
		t.forget()
		if err := t.waitStarted(ctx, c, d, io.Discard); err != nil {
			return err
		}
		fmt.Fprintf(log, "restarted %s: %d pod(s) replaced and available\n", d.Spec.Name, d.Spec.Replicas)
	}
	return nil
}
