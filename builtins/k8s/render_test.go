package k8s

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

func testTarget() *Target {
	t := NewTarget(&deploy.Environment{Name: "k", Target: deploy.TargetKubernetes, Namespace: "demo"}, nil)
	t.Own(deploy.Owner{ID: "0123456789abcdef01234567", Path: "/src/shop"})
	return t
}

func webService() *deploy.Deployment {
	return &deploy.Deployment{
		Project: "shop",
		Key:     engine.NewHasher().String("web").Sum(),
		Image:   "127.0.0.1:5000/web:1",
		Spec: &deploy.ServiceSpec{
			Name: "web", Image: "127.0.0.1:5000/web:1", Replicas: 3,
			Command:     []string{"serve", "--port", "8080"},
			Env:         map[string]string{"Z": "last", "A": "first", "M": "middle"},
			Secrets:     map[string]engine.Secret{"TOKEN": nil},
			SecretFiles: map[string]engine.Secret{"/run/secrets/db": nil},
			Ports:       []deploy.Port{{Container: 8080, Protocol: "tcp"}, {Container: 9000, Protocol: "udp"}},
			Memory:      64 << 20, CPUs: 0.5,
			Health: &deploy.HealthCheck{Kind: "http", Port: 8080, Path: "/healthz", Interval: 2 * time.Second,
				Timeout: time.Second, Retries: 4, StartPeriod: 3 * time.Second},
			Update:     deploy.UpdatePolicy{Order: deploy.StartFirst, Parallelism: 2},
			ReadyAfter: 5 * time.Second,
			User:       "1000:1000",
		},
	}
}

func migrateJob() *deploy.Deployment {
	return &deploy.Deployment{
		Project: "shop", Job: true,
		Key:   engine.NewHasher().String("migrate").Sum(),
		Image: "127.0.0.1:5000/migrate:1",
		Spec: &deploy.ServiceSpec{Name: "db_migrate", Image: "127.0.0.1:5000/migrate:1",
			Entrypoint: []string{"/migrate"}, Update: deploy.UpdatePolicy{Parallelism: 1}},
	}
}

// decodeStrict decodes one rendered manifest with the client-go scheme's
// strict decoder: an unknown or duplicated field is an error.
func decodeStrict(t *testing.T, name string, b []byte) runtime.Object {
	t.Helper()
	dec := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	o, _, err := dec.Decode(b, nil, nil)
	if err != nil {
		t.Fatalf("%s does not decode strictly: %v\n%s", name, err, b)
	}
	return o
}

func TestRenderDecodesStrictly(t *testing.T) {
	files, err := testTarget().Render([]*deploy.Deployment{webService(), migrateJob()})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"deployment-web.yaml", "job-db-migrate.yaml", "secret-web-secrets.yaml", "service-web.yaml"}
	if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	objs := map[string]runtime.Object{}
	for name, b := range files {
		objs[name] = decodeStrict(t, name, b)
	}

	dep := objs["deployment-web.yaml"].(*appsv1.Deployment)
	if dep.Namespace != "demo" || *dep.Spec.Replicas != 3 || dep.Spec.MinReadySeconds != 5 {
		t.Errorf("deployment meta/spec: ns %q replicas %d minReady %d", dep.Namespace, *dep.Spec.Replicas, dep.Spec.MinReadySeconds)
	}
	for k, v := range map[string]string{LabelManagedBy: "ferry", LabelProject: "shop", LabelRule: "web", LabelKind: "service", LabelWorkspace: "0123456789abcdef01234567"} {
		if dep.Labels[k] != v || dep.Spec.Template.Labels[k] != v {
			t.Errorf("label %s: %q on the deployment, %q on its pods; want %q", k, dep.Labels[k], dep.Spec.Template.Labels[k], v)
		}
	}
	if dep.Annotations[AnnotationKey] != webService().Key.String() {
		t.Errorf("key annotation %q", dep.Annotations[AnnotationKey])
	}
	if ru := dep.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxSurge.IntValue() != 2 || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("start-first, parallelism 2: strategy %+v", dep.Spec.Strategy)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if !slices.Equal(c.Args, []string{"serve", "--port", "8080"}) || c.Command != nil || c.Image != "127.0.0.1:5000/web:1" {
		t.Errorf("container command %v args %v image %s", c.Command, c.Args, c.Image)
	}
	var env []string
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			env = append(env, e.Name+"<-"+e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key)
		} else {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	if want := []string{"A=first", "M=middle", "Z=last", "TOKEN<-web-secrets/env.TOKEN"}; !slices.Equal(env, want) {
		t.Errorf("env %v, want %v", env, want)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/run/secrets/db" || !c.VolumeMounts[0].ReadOnly {
		t.Errorf("secret file mount %+v", c.VolumeMounts)
	}
	p := c.ReadinessProbe
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.IntValue() != 8080 ||
		p.PeriodSeconds != 2 || p.TimeoutSeconds != 1 || p.FailureThreshold != 4 || p.InitialDelaySeconds != 0 {
		t.Errorf("readiness probe %+v", p)
	}
	// start_period 3s probed every 2s: 2 uncounted probes, then 4 retries.
	if sp := c.StartupProbe; sp == nil || sp.HTTPGet == nil || sp.HTTPGet.Path != "/healthz" || sp.PeriodSeconds != 2 ||
		sp.FailureThreshold != 6 || sp.TimeoutSeconds != 1 {
		t.Errorf("startup probe %+v", sp)
	}
	if c.LivenessProbe != nil {
		t.Errorf("liveness probe %+v: a failing health check takes the pod out of its Service, it does not restart it", c.LivenessProbe)
	}
	if m := c.Resources.Limits[corev1.ResourceMemory]; m.Value() != 64<<20 {
		t.Errorf("memory limit %s", m.String())
	}
	if cpu := c.Resources.Limits[corev1.ResourceCPU]; cpu.MilliValue() != 500 {
		t.Errorf("cpu limit %s", cpu.String())
	}
	if m, cpu := c.Resources.Requests[corev1.ResourceMemory], c.Resources.Requests[corev1.ResourceCPU]; m.Value() != 64<<20 || cpu.MilliValue() != 500 {
		t.Errorf("requests %v, want the limits", c.Resources.Requests)
	}
	if sc := c.SecurityContext; sc == nil || *sc.RunAsUser != 1000 || *sc.RunAsGroup != 1000 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("security context %+v", sc)
	}

	svc := objs["service-web.yaml"].(*corev1.Service)
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || len(svc.Spec.Ports) != 2 || svc.Spec.Ports[1].Protocol != corev1.ProtocolUDP ||
		svc.Spec.Selector[LabelRule] != "web" {
		t.Errorf("service spec %+v", svc.Spec)
	}

	sec := objs["secret-web-secrets.yaml"].(*corev1.Secret)
	if sec.Immutable == nil || !*sec.Immutable || len(sec.Data) != 2 {
		t.Errorf("secret: immutable %v, data keys %v", sec.Immutable, slices.Sorted(maps.Keys(sec.Data)))
	}
	for k, v := range sec.Data {
		if len(v) != 0 {
			t.Errorf("render wrote the value of secret key %s", k)
		}
	}

	job := objs["job-db-migrate.yaml"].(*batchv1.Job)
	if job.Name != "db-migrate" || *job.Spec.BackoffLimit != 0 || job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever ||
		!slices.Equal(job.Spec.Template.Spec.Containers[0].Command, []string{"/migrate"}) || job.Labels[LabelKind] != "job" {
		t.Errorf("job %+v", job.Spec)
	}
}

func TestRenderIsStable(t *testing.T) {
	var prev map[string][]byte
	for range 5 {
		files, err := testTarget().Render([]*deploy.Deployment{webService(), migrateJob()})
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil {
			for name, b := range files {
				if !bytes.Equal(b, prev[name]) {
					t.Fatalf("%s differs between two renders:\n%s\n---\n%s", name, prev[name], b)
				}
			}
		}
		prev = files
	}
}

func TestObjectsCarryRevealedSecrets(t *testing.T) {
	d := webService()
	d.SecretEnv = map[string]string{"TOKEN": "s3cret-token"}
	d.SecretFileValues = map[string]deploy.SecretFileValue{"/run/secrets/db": {Value: "db-pass", HMAC: "aa"}}
	d.SecretsHash = "abcdef0123456789"
	var sec *corev1.Secret
	var dep *appsv1.Deployment
	for _, o := range testTarget().objects(d) {
		switch o := o.(type) {
		case *corev1.Secret:
			sec = o
		case *appsv1.Deployment:
			dep = o
		}
	}
	if sec == nil || sec.Name != "web-secrets-abcdef0123" {
		t.Fatalf("the Secret is named by the values' hash: %v", sec)
	}
	if string(sec.Data["env.TOKEN"]) != "s3cret-token" || string(sec.Data["file.run.secrets.db"]) != "db-pass" {
		t.Errorf("secret data keys %v", slices.Sorted(maps.Keys(sec.Data)))
	}
	pod := dep.Spec.Template.Spec
	if pod.Volumes[0].Secret.SecretName != sec.Name || pod.Containers[0].Env[3].ValueFrom.SecretKeyRef.Name != sec.Name {
		t.Errorf("the pods do not refer to %s", sec.Name)
	}
	for _, e := range pod.Containers[0].Env {
		if strings.Contains(e.Value, "s3cret") {
			t.Errorf("secret value in plain env %s", e.Name)
		}
	}
}

func TestCheckSpecRefusesWhatIsNotDone(t *testing.T) {
	for _, tc := range []struct {
		spec deploy.ServiceSpec
		want string
	}{
		{deploy.ServiceSpec{Name: "web", Volumes: []deploy.Volume{{Source: "/src/shop/data", Target: "/data", Bind: true}}}, "volumes: /src/shop/data:/data mounts a folder of this machine"},
		{deploy.ServiceSpec{Name: "web", Volumes: []deploy.Volume{{Source: "My.Data", Target: "/data"}}}, `volumes: "My.Data" is not a Kubernetes object name`},
		{deploy.ServiceSpec{Name: "web", User: "nobody"}, `user "nobody" (Kubernetes takes a numeric UID[:GID])`},
		{deploy.ServiceSpec{Name: "web", NetworkMode: "host"}, "networks and network_mode"},
	} {
		err := checkSpec(&tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.spec, err, tc.want)
		}
	}
	if err := checkSpec(&deploy.ServiceSpec{Name: "db_migrate", User: "1000"}); err != nil {
		t.Errorf("db_migrate, user 1000: %v", err)
	}
}
