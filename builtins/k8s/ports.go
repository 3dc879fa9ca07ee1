package k8s

// How this machine reaches the declared ports of a service: a NodePort
// Service, or port-forwards to a ready pod of its Deployment (ferry
// port-forward, ferry watch), as the environment's port_access chooses.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// AnnotationLocalPorts, on a Service of a port-forward environment, lists
// the forwards of its declared ports ("8080:80,:9000"; no local port: a
// free one), which `ferry port-forward SERVICE` opens when given none.
const AnnotationLocalPorts = "ferry.local-ports"

// The node ports a NodePort Service may be given (the API server's
// default --service-node-port-range).
const minNodePort, maxNodePort = 30000, 32767

// portAccess is the environment's port_access, port-forward when unset.
func (t *Target) portAccess() string {
	if t.env.PortAccess == "" {
		return deploy.PortForward
	}
	return t.env.PortAccess
}

// checkPorts refuses the host side of ports that port_access cannot give:
// a range; for a NodePort, an address or a port outside the node port
// range; for a port-forward, a UDP port with a host port.
func (t *Target) checkPorts(s *deploy.ServiceSpec) error {
	for _, p := range s.Ports {
		if p.HostStart == 0 {
			continue
		}
		if p.HostEnd != p.HostStart {
			return fmt.Errorf("ports: %s publishes a range of host ports, which a Kubernetes Service does not have; declare one port per entry", p)
		}
		switch t.portAccess() {
		case deploy.NodePort:
			if p.HostIP != "" {
				return fmt.Errorf("ports: %s names a host address, but a NodePort listens on every address of every node (port_access = %q in environment %s); drop the address", p, deploy.NodePort, t.env.Name)
			}
			if p.HostStart < minNodePort || p.HostStart > maxNodePort {
				return fmt.Errorf("ports: %s: a node port must be within %d-%d (port_access = %q in environment %s); choose one there, or give the container port alone for the cluster to choose", p, minNodePort, maxNodePort, deploy.NodePort, t.env.Name)
			}
		default:
			if p.Protocol == "udp" {
				return fmt.Errorf("ports: %s: a port-forward carries TCP only (port_access = %q in environment %s); give the container port alone, or use port_access = %q", p, deploy.PortForward, t.env.Name, deploy.NodePort)
			}
		}
	}
	return nil
}

// service is the Service of s's ports: ClusterIP with the forwards of its
// ports annotated, or NodePort with the node ports declared.
func (t *Target) service(s *deploy.ServiceSpec, svc *corev1.Service) {
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	if t.portAccess() == deploy.NodePort {
		svc.Spec.Type = corev1.ServiceTypeNodePort
	}
	var forwards []string
	for _, p := range s.Ports {
		sp := corev1.ServicePort{
			Name:       portName(p),
			Protocol:   protocol(p),
			Port:       int32(p.Container),
			TargetPort: intstr.FromInt32(int32(p.Container)),
		}
		if svc.Spec.Type == corev1.ServiceTypeNodePort {
			sp.NodePort = int32(p.HostStart)
		} else if p.Protocol != "udp" {
			forwards = append(forwards, localPort(p)+":"+strconv.Itoa(p.Container))
		}
		svc.Spec.Ports = append(svc.Spec.Ports, sp)
	}
	if len(forwards) > 0 {
		svc.Annotations[AnnotationLocalPorts] = strings.Join(forwards, ",")
	}
}

// serviceTypeCurrent reports whether the Service svc is of the type
// port_access asks for: changing it changes no rule's key.
func (t *Target) serviceTypeCurrent(svc *unstructured.Unstructured) bool {
	typ, _, _ := unstructured.NestedString(svc.Object, "spec", "type")
	return (typ == string(corev1.ServiceTypeNodePort)) == (t.portAccess() == deploy.NodePort)
}

// localPort is the local side of a forward of p: [ADDRESS:]PORT, PORT
// empty for a free one.
func localPort(p deploy.Port) string {
	port := ""
	if p.HostStart != 0 {
		port = strconv.Itoa(p.HostStart)
	}
	switch {
	case strings.Contains(p.HostIP, ":"):
		return "[" + p.HostIP + "]:" + port
	case p.HostIP != "":
		return p.HostIP + ":" + port
	}
	return port
}

// A forward is one port forwarded: from Address:Local (0 until it
// listens, for a free port) to Remote in the pod.
type forward struct {
	Address string
	Local   int
	Remote  int
}

// parseForward reads [[ADDRESS:]LOCAL]:REMOTE, or REMOTE alone (the same
// port locally), as kubectl port-forward does.
func parseForward(s string) (forward, error) {
	f := forward{Address: deploy.LoopbackIP}
	rest := s
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]:")
		if end < 0 {
			return f, fmt.Errorf("%q: want [[ADDRESS:]LOCAL:]REMOTE", s)
		}
		f.Address, rest = rest[1:end], rest[end+2:]
	}
	parts := strings.Split(rest, ":")
	if len(parts) == 3 {
		f.Address, parts = parts[0], parts[1:]
	}
	num := func(p string) (int, error) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return 0, fmt.Errorf("%q: %q is not a port number; want [[ADDRESS:]LOCAL:]REMOTE, as 8080:80", s, p)
		}
		return n, nil
	}
	var err error
	switch len(parts) {
	case 1:
		if f.Remote, err = num(parts[0]); err == nil {
			f.Local = f.Remote
		}
	case 2:
		if parts[0] != "" {
			if f.Local, err = num(parts[0]); err != nil {
				return f, err
			}
		}
		f.Remote, err = num(parts[1])
	default:
		return f, fmt.Errorf("%q: want [[ADDRESS:]LOCAL:]REMOTE, as 8080:80", s)
	}
	if err == nil && f.Remote == 0 {
		err = fmt.Errorf("%q: the pod's port cannot be 0", s)
	}
	return f, err
}

func (f forward) String() string {
	if strings.Contains(f.Address, ":") {
		return fmt.Sprintf("[%s]:%d", f.Address, f.Local)
	}
	return fmt.Sprintf("%s:%d", f.Address, f.Local)
}

// PortForward forwards local ports to a ready pod of service (its
// declared ones, as its Service's AnnotationLocalPorts lists, when specs
// is empty) until ctx ends, saying to log which local address reaches
// which port. When the pod goes away (a rollout, a restart), it forwards
// the same local ports to another ready pod. declared explains a service
// that runs no pod.
func (t *Target) PortForward(ctx context.Context, project, service string, specs []string, declared deploy.Declared, log io.Writer) error {
	c, err := t.client()
	if err != nil {
		return err
	}
	if len(specs) == 0 {
		if specs, err = t.declaredForwards(ctx, c, project, service, declared); err != nil {
			return err
		}
	}
	var fwds []forward
	for _, s := range specs {
		f, err := parseForward(s)
		if err != nil {
			return fmt.Errorf("ferry port-forward %s: %w", service, err)
		}
		fwds = append(fwds, f)
	}
	first := true
	for {
		pod, err := t.readyPod(ctx, c, project, service, declared)
		if err != nil {
			if first || ctx.Err() != nil {
				return err
			}
			// Between two pods of a rollout: wait for the next.
			if err := sleep(ctx, time.Second); err != nil {
				return nil
			}
			continue
		}
		err = t.forwardTo(ctx, c, service, pod, fwds, log)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err == nil || errors.Is(err, errPodGone) || errors.Is(err, portforward.ErrLostConnectionToPod):
			fmt.Fprintf(log, "pod %s of %s went away; forwarding to another\n", pod, service)
		case first:
			return err
		default:
			// The pod went away as the forward started, say.
			fmt.Fprintf(log, "%v; trying again\n", err)
			if err := sleep(ctx, forwardRetry); err != nil {
				return nil
			}
		}
		first = false
	}
}

// declaredForwards are the forwards of service's declared ports.
func (t *Target) declaredForwards(ctx context.Context, c *clients, project, service string, declared deploy.Declared) ([]string, error) {
	svc, err := t.get(ctx, c, resourceOf["Service"], objectName(service))
	if err != nil {
		return nil, err
	}
	if svc == nil || svc.GetLabels()[LabelProject] != labelValue(project) {
		if _, err := t.readyPod(ctx, c, project, service, declared); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("service %s declares no ports: name those to forward, as in `ferry --env %s port-forward %s 8080:80`", service, t.env.Name, service)
	}
	ann := svc.GetAnnotations()[AnnotationLocalPorts]
	if ann == "" {
		return nil, fmt.Errorf("service %s has no TCP port to forward (environment %s gives access through NodePorts, or its ports are UDP): name those to forward, as in `ferry --env %s port-forward %s 8080:80`", service, t.env.Name, t.env.Name, service)
	}
	return strings.Split(ann, ","), nil
}

// readyPod returns the name of the newest ready pod of service.
func (t *Target) readyPod(ctx context.Context, c *clients, project, service string, declared deploy.Declared) (string, error) {
	pods, err := t.runningPods(ctx, c, project, service, declared)
	if err != nil {
		return "", err
	}
	pods = slices.DeleteFunc(pods, func(p corev1.Pod) bool { return !podReady(&p) })
	if len(pods) == 0 {
		return "", fmt.Errorf("service %s runs no ready pod to forward to (its health check fails, or it is starting); `ferry --env %s status` says more", service, t.env.Name)
	}
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return b.CreationTimestamp.Compare(a.CreationTimestamp.Time) })
	return pods[0].Name, nil
}

var errPodGone = errors.New("the pod went away")

// forwardRetry is how long a forward that failed to move to another pod
// waits before it tries again.
const forwardRetry = 2 * time.Second

// podWatch is how often a forward checks that its pod is still there and
// ready.
const podWatch = time.Second

// forwardTo forwards fwds to pod until ctx ends or the pod goes away
// (errPodGone, or the lost connection). The local ports chosen by the
// first forward are written back into fwds, so the next pod gets the same.
func (t *Target) forwardTo(ctx context.Context, c *clients, service, pod string, fwds []forward, log io.Writer) error {
	transport, upgrader, err := spdy.RoundTripperFor(c.config)
	if err != nil {
		return err
	}
	url := c.typed.CoreV1().RESTClient().Post().Resource("pods").Namespace(t.namespace).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)

	// The forwarders stop (cancel) before they are waited for.
	var done sync.WaitGroup
	defer done.Wait()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ready := make(chan struct{})
	errs := &lockedBuffer{}
	// One forwarder per address: each listens on its own.
	byAddr := map[string][]int{}
	var addrs []string
	for n, f := range fwds {
		if _, ok := byAddr[f.Address]; !ok {
			addrs = append(addrs, f.Address)
		}
		byAddr[f.Address] = append(byAddr[f.Address], n)
	}
	result := make(chan error, len(addrs))
	readies := make([]chan struct{}, len(addrs))
	pfs := make([]*portforward.PortForwarder, len(addrs))
	for i, addr := range addrs {
		var ports []string
		for _, n := range byAddr[addr] {
			ports = append(ports, fmt.Sprintf("%d:%d", fwds[n].Local, fwds[n].Remote))
		}
		readies[i] = make(chan struct{})
		pf, err := portforward.NewOnAddresses(dialer, []string{addr}, ports, ctx.Done(), readies[i], io.Discard, errs)
		if err != nil {
			return err
		}
		pfs[i] = pf
		done.Add(1)
		go func() {
			defer done.Done()
			result <- pf.ForwardPorts()
		}()
	}
	go func() {
		for _, r := range readies {
			select {
			case <-r:
			case <-ctx.Done():
				return
			}
		}
		close(ready)
	}()
	select {
	case <-ready:
	case err := <-result:
		if err == nil {
			err = errors.New("it ended before it listened")
		}
		return fmt.Errorf("forwarding to pod %s of %s: %w%s", pod, service, err, errs.suffix())
	}
	for i, addr := range addrs {
		bound, err := pfs[i].GetPorts()
		if err != nil || len(bound) != len(byAddr[addr]) {
			return fmt.Errorf("forwarding to pod %s of %s: cannot listen on every port asked%s", pod, service, errs.suffix())
		}
		for j, n := range byAddr[addr] {
			fwds[n].Local = int(bound[j].Local)
		}
	}
	for _, f := range fwds {
		fmt.Fprintf(log, "forwarding %s to %s:%d (pod %s)\n", f, service, f.Remote, pod)
	}
	for {
		select {
		case err := <-result:
			if err == nil {
				err = errPodGone
			}
			return err
		case <-time.After(podWatch):
		}
		p, err := c.typed.CoreV1().Pods(t.namespace).Get(ctx, pod, metav1.GetOptions{})
		if ctx.Err() != nil {
			return nil
		}
		if err == nil && p.DeletionTimestamp == nil && podReady(p) {
			continue
		}
		cancel(errPodGone)
		return errPodGone
	}
}

// lockedBuffer collects what the forwarders say went wrong.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// suffix is what was said, to follow an error message ("" when nothing).
func (b *lockedBuffer) suffix() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(b.buf.String())
	if s == "" {
		return ""
	}
	return ": " + strings.ReplaceAll(s, "\n", "; ")
}

// forwardPoll is how often ForwardDeclared looks for services to forward.
const forwardPoll = 2 * time.Second

// ForwardDeclared forwards the declared ports of each of the project's
// services (ferry watch) once it has a ready pod, until ctx ends: the
// services deployed later too, again when their ports change, and no
// longer when they are removed. It says to log which local address
// reaches which service; a forward that fails (its local port is taken)
// is said once, and tried again when the service's ports change.
func (t *Target) ForwardDeclared(ctx context.Context, project string, log io.Writer) {
	c, err := t.client()
	if err != nil || t.portAccess() != deploy.PortForward {
		return
	}
	type running struct {
		ports  string
		cancel context.CancelFunc
	}
	forwards := map[string]*running{}
	failed := map[string]string{} // service → the ports that failed
	var wg sync.WaitGroup
	defer wg.Wait()
	var mu sync.Mutex
	for {
		list, err := t.resource(c, resourceOf["Service"]).List(ctx, metav1.ListOptions{LabelSelector: t.selector(project)})
		if err == nil {
			seen := map[string]bool{}
			for _, svc := range list.Items {
				rule, ports := svc.GetLabels()[LabelRule], svc.GetAnnotations()[AnnotationLocalPorts]
				if ports == "" {
					continue
				}
				seen[rule] = true
				mu.Lock()
				f, failedPorts := forwards[rule], failed[rule]
				mu.Unlock()
				if f != nil && f.ports == ports || failedPorts == ports {
					continue
				}
				if f != nil {
					f.cancel()
				}
				if _, err := t.readyPod(ctx, c, project, rule, nil); err != nil {
					continue
				}
				fctx, cancel := context.WithCancel(ctx)
				mu.Lock()
				forwards[rule] = &running{ports: ports, cancel: cancel}
				delete(failed, rule)
				mu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := t.PortForward(fctx, project, rule, strings.Split(ports, ","), nil, log)
					if err == nil || fctx.Err() != nil {
						return
					}
					fmt.Fprintf(log, "cannot forward the ports of %s: %v\n", rule, err)
					mu.Lock()
					failed[rule] = ports
					if forwards[rule] != nil && forwards[rule].ports == ports {
						delete(forwards, rule)
					}
					mu.Unlock()
				}()
			}
			mu.Lock()
			for rule, f := range forwards {
				if !seen[rule] {
					f.cancel()
					delete(forwards, rule)
				}
			}
			mu.Unlock()
		}
		if err := sleep(ctx, forwardPoll); err != nil {
			return
		}
	}
}
