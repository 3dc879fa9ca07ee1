package k8s

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
)

func TestRegistryRef(t *testing.T) {
	tg := NewTarget(&deploy.Environment{Name: "k", Registry: "127.0.0.1:5000/"}, nil)
	for ref, want := range map[string]string{
		"shop/web:0123abcd":                        "127.0.0.1:5000/shop/web:0123abcd",
		"web:0123abcd":                             "127.0.0.1:5000/library/web:0123abcd",
		"registry.example.com/shop/web:0123abcd":   "127.0.0.1:5000/shop/web:0123abcd",
		"registry.example.com:8443/a/b/c:0123abcd": "127.0.0.1:5000/a/b/c:0123abcd",
	} {
		if got, err := tg.registryRef(ref); err != nil || got != want {
			t.Errorf("registryRef(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
	// render shows the registry's copy of a built image; a pulled image
	// and a target without registry keep what was declared.
	d := &deploy.Deployment{Image: "shop/web:0123abcd"}
	if got := tg.imageRef(d); got != "127.0.0.1:5000/shop/web:0123abcd" {
		t.Errorf("a built image renders as %s", got)
	}
	d.Pull = deploy.PullMissing
	if got := tg.imageRef(d); got != "shop/web:0123abcd" {
		t.Errorf("a pulled image renders as %s", got)
	}
	d.Pull = ""
	if got := NewTarget(&deploy.Environment{Name: "k"}, nil).imageRef(d); got != "shop/web:0123abcd" {
		t.Errorf("without a registry, a built image renders as %s", got)
	}
}

// An image built in the local Docker Engine (as image() builds) is pushed
// to the environment's registry with the Docker config's credentials, the
// pods run it by digest, pulled with an imagePullSecret; once the
// registry needs no credentials, the secret is pruned.
func TestBuiltImageReachesCluster(t *testing.T) {
	c := needCluster(t, true)
	ns, admin := testNamespace(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// A registry on the node's loopback address that asks for a password
	// while needAuth is set.
	var needAuth atomic.Bool
	needAuth.Store(true)
	serveRegistry(t, c, func(reg http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); needAuth.Load() && (!ok || u != "ferry" || p != "s3cret") {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			reg.ServeHTTP(w, r)
		})
	})

	dir := t.TempDir()
	cfg := `{"auths":{"` + c.Registry + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("ferry:s3cret")) + `"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)

	// The local Engine gets the image as a build would leave it: tagged
	// repo:key, in no registry the cluster knows.
	hexid := randomHex(t)
	src := c.Registry + "/k8stest-src/web:" + hexid
	tag, err := name.NewTag(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, scratchImage(t, webSrc), remote.WithAuth(&authn.Basic{Username: "ferry", Password: "s3cret"})); err != nil {
		t.Fatal(err)
	}
	docker := dockerapi.New()
	auth, err := dockerapi.RegistryAuth(src)
	if err != nil || auth == "" {
		t.Fatalf("credentials for %s: %q, %v", src, auth, err)
	}
	if err := docker.Pull(ctx, src, auth, nil); err != nil {
		t.Fatal(err)
	}
	local := "ferry-k8stest/web:" + hexid
	pushed := c.Registry + "/ferry-k8stest/web:" + hexid
	if err := docker.Tag(ctx, src, local); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", src, local, pushed).Run() })

	waitServiceAccount(t, ctx, admin, ns)
	tg := targetIn(ns, ownerA)
	tg.env.Registry = c.Registry
	tg.PushWith(docker)
	d := service("built", local, 1)
	d.Pull = "" // an image() rule built it
	d.Spec.Health = &deploy.HealthCheck{Kind: "tcp", Port: 8080, Interval: time.Second, Timeout: time.Second, Retries: 3}
	var out strings.Builder
	if err := tg.Deploy(ctx, d, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	waitReady(t, ctx, admin, ns, "built", 1)
	dep, err := admin.AppsV1().Deployments(ns).Get(ctx, "built", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := dep.Spec.Template.Spec
	if img := pod.Containers[0].Image; !strings.HasPrefix(img, c.Registry+"/ferry-k8stest/web@sha256:") {
		t.Errorf("the pods run %s, want %s/ferry-k8stest/web@sha256:…", img, c.Registry)
	}
	if len(pod.ImagePullSecrets) != 1 || !strings.HasPrefix(pod.ImagePullSecrets[0].Name, "built-pull-") {
		t.Fatalf("imagePullSecrets = %v", pod.ImagePullSecrets)
	}
	sec, err := admin.CoreV1().Secrets(ns).Get(ctx, pod.ImagePullSecrets[0].Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sec.Type != corev1.SecretTypeDockerConfigJson || sec.Labels[LabelRule] != "built" || sec.Labels[LabelWorkspace] != ownerA.ID {
		t.Errorf("pull secret %s: type %s, labels %v", sec.Name, sec.Type, sec.Labels)
	}
	if !strings.Contains(string(sec.Data[corev1.DockerConfigJsonKey]), `"`+c.Registry+`"`) {
		t.Errorf("pull secret holds no credentials for %s", c.Registry)
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Errorf("the output shows the password:\n%s", out.String())
	}

	// No credentials needed any more: the next up prunes the secret.
	needAuth.Store(false)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	out.Reset()
	if err := tg.Deploy(ctx, d, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if _, err := admin.CoreV1().Secrets(ns).Get(ctx, sec.Name, metav1.GetOptions{}); err == nil {
		t.Errorf("pull secret %s is left after the registry stopped asking for credentials:\n%s", sec.Name, out.String())
	}
	dep, err = admin.AppsV1().Deployments(ns).Get(ctx, "built", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ps := dep.Spec.Template.Spec.ImagePullSecrets; len(ps) != 0 {
		t.Errorf("imagePullSecrets = %v after the credentials went", ps)
	}
}
