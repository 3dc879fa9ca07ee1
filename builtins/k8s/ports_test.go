package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/ferryhq/ferry/builtins/deploy"
)

func TestParseForward(t *testing.T) {
	for in, want := range map[string]forward{
		"80":              {Address: "127.0.0.1", Local: 80, Remote: 80},
		"8080:80":         {Address: "127.0.0.1", Local: 8080, Remote: 80},
		":80":             {Address: "127.0.0.1", Local: 0, Remote: 80},
		"0.0.0.0:8080:80": {Address: "0.0.0.0", Local: 8080, Remote: 80},
		"[::1]:8080:80":   {Address: "::1", Local: 8080, Remote: 80},
		"[::1]::80":       {Address: "::1", Local: 0, Remote: 80},
	} {
		got, err := parseForward(in)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"web":       `"web" is not a port number`,
		"8080:0":    "the pod's port cannot be 0",
		"1:2:3:4":   "want [[ADDRESS:]LOCAL:]REMOTE",
		"70000:80":  `"70000" is not a port number`,
		"[::1:8080": "want [[ADDRESS:]LOCAL:]REMOTE",
	} {
		if _, err := parseForward(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

// portsTarget is a target of an environment whose port_access is access.
func portsTarget(access string) *Target {
	tg := testTarget()
	tg.env.PortAccess = access
	return tg
}

func TestServicePortAccess(t *testing.T) {
	web := webService()
	web.Spec.Ports = []deploy.Port{
		{HostStart: 8080, HostEnd: 8080, Container: 80, Protocol: "tcp"},
		{Container: 9000, Protocol: "tcp"},
		{HostIP: "::1", HostStart: 6000, HostEnd: 6000, Container: 6000, Protocol: "tcp"},
		{Container: 53, Protocol: "udp"},
	}
	files, err := portsTarget("").Render([]*deploy.Deployment{web})
	if err != nil {
		t.Fatal(err)
	}
	svc := decodeStrict(t, "service", files["service-web.yaml"]).(*corev1.Service)
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Annotations[AnnotationLocalPorts] != "8080:80,:9000,[::1]:6000:6000" {
		t.Errorf("port-forward: type %s, forwards %q", svc.Spec.Type, svc.Annotations[AnnotationLocalPorts])
	}
	for _, f := range strings.Split(svc.Annotations[AnnotationLocalPorts], ",") {
		if _, err := parseForward(f); err != nil {
			t.Errorf("the annotated forward %s does not parse: %v", f, err)
		}
	}

	web.Spec.Ports = []deploy.Port{{HostStart: 30080, HostEnd: 30080, Container: 80, Protocol: "tcp"}, {Container: 53, Protocol: "udp"}}
	files, err = portsTarget(deploy.NodePort).Render([]*deploy.Deployment{web})
	if err != nil {
		t.Fatal(err)
	}
	svc = decodeStrict(t, "service", files["service-web.yaml"]).(*corev1.Service)
	if svc.Spec.Type != corev1.ServiceTypeNodePort || svc.Spec.Ports[0].NodePort != 30080 || svc.Spec.Ports[1].NodePort != 0 || svc.Annotations[AnnotationLocalPorts] != "" {
		t.Errorf("nodeport: %+v, annotations %v", svc.Spec, svc.Annotations)
	}
}

func TestCheckPorts(t *testing.T) {
	for _, tc := range []struct {
		access string
		port   deploy.Port
		want   string
	}{
		{deploy.NodePort, deploy.Port{HostStart: 8080, HostEnd: 8080, Container: 80, Protocol: "tcp"}, "a node port must be within 30000-32767"},
		{deploy.NodePort, deploy.Port{HostIP: "127.0.0.1", HostStart: 30080, HostEnd: 30080, Container: 80, Protocol: "tcp"}, "a NodePort listens on every address"},
		{deploy.PortForward, deploy.Port{HostStart: 5353, HostEnd: 5353, Container: 53, Protocol: "udp"}, "a port-forward carries TCP only"},
		{deploy.PortForward, deploy.Port{HostStart: 8000, HostEnd: 8002, Container: 80, Protocol: "tcp"}, "a range of host ports"},
	} {
		err := portsTarget(tc.access).CheckSpec(&deploy.ServiceSpec{Name: "web", Ports: []deploy.Port{tc.port}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want %q", tc.access, tc.port, err, tc.want)
		}
	}
	for _, access := range []string{deploy.NodePort, deploy.PortForward} {
		ok := &deploy.ServiceSpec{Name: "web", Ports: []deploy.Port{{HostStart: 30080, HostEnd: 30080, Container: 80, Protocol: "tcp"}, {Container: 53, Protocol: "udp"}}}
		if err := portsTarget(access).CheckSpec(ok); err != nil {
			t.Errorf("%s: %v", access, err)
		}
	}
}
