package k8s

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/secret"
)

// fakePusher pushes nothing: it stands for the local Docker Engine in the
// tests of what the target does around a push.
type fakePusher struct{}

func (fakePusher) Tag(context.Context, string, string) error { return nil }
func (fakePusher) Push(context.Context, string, string, io.Writer) (string, error) {
	return "sha256:" + strings.Repeat("ab", 32), nil
}

// pullSecretOf publishes d's built image with tg and returns the
// imagePullSecret its objects carry.
func pullSecretOf(t *testing.T, tg *Target, d *deploy.Deployment) *corev1.Secret {
	t.Helper()
	pd, err := tg.publish(context.Background(), d, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range tg.objects(pd) {
		if s, ok := o.(*corev1.Secret); ok && s.Type == corev1.SecretTypeDockerConfigJson {
			return s
		}
	}
	t.Fatal("no imagePullSecret")
	return nil
}

// The imagePullSecret's name changes with the credentials, but by an HMAC
// under the workspace's secret key: anyone who may list Secrets sees the
// name, and a plain hash of the credentials would let them test guesses
// of the password offline.
func TestPullSecretNameIsKeyed(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	cfgDir := t.TempDir()
	writeAuth := func(password string) {
		cfg := `{"auths":{"registry.example.com:5000":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("ferry:"+password)) + `"}}}`
		if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("DOCKER_CONFIG", cfgDir)
	writeAuth("s3cret")

	root := t.TempDir()
	tg := NewTarget(&deploy.Environment{Name: "k", Target: deploy.TargetKubernetes, Namespace: "demo", Registry: "registry.example.com:5000"}, nil)
	tg.Own(deploy.OwnerOf(root))
	tg.PushWith(fakePusher{})
	d := service("web", "shop/web:0123abcd", 1)
	d.Pull = "" // an image() rule built it

	sec := pullSecretOf(t, tg, d)
	cfg := sec.Data[corev1.DockerConfigJsonKey]
	plain := sha256.Sum256(cfg)
	if strings.Contains(sec.Name, hex.EncodeToString(plain[:5])) {
		t.Errorf("imagePullSecret %s is named by a plain hash of the credentials", sec.Name)
	}
	key, err := secret.WorkspaceKey(tg.owner.Path)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write(cfg)
	if want := "web-pull-" + hex.EncodeToString(m.Sum(nil))[:10]; sec.Name != want {
		t.Errorf("imagePullSecret %s, want %s (the HMAC under the workspace's key)", sec.Name, want)
	}
	if strings.Contains(sec.Name, "s3cret") {
		t.Errorf("imagePullSecret %s names the password", sec.Name)
	}

	// A new login makes a new Secret, which pruning removes once unused.
	writeAuth("0ther-s3cret")
	if again := pullSecretOf(t, tg, d); again.Name == sec.Name {
		t.Errorf("new credentials keep the imagePullSecret %s", sec.Name)
	}
}

// An image built by an image() rule, in an environment without a
// registry, stays in the local Docker Engine: ferry says so once, and what
// to do, and deploys what was declared.
func TestWarnsOnceWithoutRegistry(t *testing.T) {
	var warned []string
	ts := &Targets{Warn: func(msg string) { warned = append(warned, msg) }}
	tg := ts.For(&deploy.Environment{Name: "cluster", Target: deploy.TargetKubernetes, Namespace: "demo"}).(*Target)
	for _, name := range []string{"web", "api"} {
		d := service(name, "shop/"+name+":0123abcd", 1)
		d.Pull = ""
		pd, err := tg.publish(context.Background(), d, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if pd.Image != d.Image || pd.Digest != "" {
			t.Errorf("without a registry, %s runs %s %s", name, pd.Image, pd.Digest)
		}
	}
	if len(warned) != 1 {
		t.Fatalf("%d warnings, want 1: %q", len(warned), warned)
	}
	for _, want := range []string{"environment cluster", "has no registry", "web's image shop/web:0123abcd", `registry = "HOST[:PORT]"`} {
		if !strings.Contains(warned[0], want) {
			t.Errorf("the warning does not say %q: %s", want, warned[0])
		}
	}

	// A pulled image needs no registry: no warning.
	warned = nil
	quiet := ts.For(&deploy.Environment{Name: "cluster", Target: deploy.TargetKubernetes, Namespace: "demo"}).(*Target)
	d := service("db", "postgres:17", 1)
	d.Pull = deploy.PullMissing
	if _, err := quiet.publish(context.Background(), d, io.Discard); err != nil {
		t.Fatal(err)
	}
	if len(warned) != 0 {
		t.Errorf("a pulled image warns: %q", warned)
	}
}
