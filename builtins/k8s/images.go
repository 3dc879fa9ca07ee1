package k8s

// Images that image() rules build reach the cluster through the
// environment's registry: ferry pushes them there from the local Docker
// Engine, and the pods reference them by digest, with an imagePullSecret
// when the registry needs credentials.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/secret"
)

// An ImagePusher copies an image of the local Docker Engine to a
// registry; *dockerapi.Client is one.
type ImagePusher interface {
	// Tag makes ref point at the image id.
	Tag(ctx context.Context, id, ref string) error
	// Push pushes ref with the credentials auth (an X-Registry-Auth
	// value, "" for none), writing progress to out, and returns the
	// manifest's digest.
	Push(ctx context.Context, ref, auth string, out io.Writer) (string, error)
}

// built says that d runs the image an image() rule of the workspace built
// in the local Docker Engine, which the cluster cannot pull until it is
// pushed.
func built(d *deploy.Deployment) bool { return d.Pull == "" && d.Digest == "" }

// registryRef is where the built image ref is pushed: the environment's
// registry, ref's path, and ref's tag (the image's key).
func (t *Target) registryRef(ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", ref, err)
	}
	tag := "latest"
	if tg, ok := named.(reference.Tagged); ok {
		tag = tg.Tag()
	}
	return strings.TrimSuffix(t.env.Registry, "/") + "/" + reference.Path(named) + ":" + tag, nil
}

// imageRef is the image the pods of d run: its digest when known, the
// environment's registry's copy of a built image (what render shows
// before anything is pushed), else the image as declared.
func (t *Target) imageRef(d *deploy.Deployment) string {
	if d.Digest != "" {
		return d.Digest
	}
	if built(d) && t.env.Registry != "" {
		if ref, err := t.registryRef(d.Image); err == nil {
			return ref
		}
	}
	return d.Image
}

// publish pushes the image of d to the environment's registry when an
// image() rule built it, and returns d running it by digest. The
// credentials the Docker config holds for the registry, when it holds
// some, are kept for the rule's imagePullSecret (see pullSecret).
func (t *Target) publish(ctx context.Context, d *deploy.Deployment, log io.Writer) (*deploy.Deployment, error) {
	t.setPullAuth(d.Spec.Name, nil)
	if !built(d) {
		return d, nil
	}
	if t.env.Registry == "" {
		t.warnNoRegistry(d, log)
		return d, nil
	}
	if t.images == nil {
		return nil, fmt.Errorf("%s: cannot push its image %s to %s: ferry has no Docker Engine client here", d.Spec.Name, d.Image, t.env.Registry)
	}
	ref, err := t.registryRef(d.Image)
	if err != nil {
		return nil, err
	}
	auth, err := dockerapi.RegistryAuth(ref)
	if err != nil {
		return nil, err
	}
	if err := t.images.Tag(ctx, d.Image, ref); err != nil {
		return nil, fmt.Errorf("%s: tagging its image for the registry of environment %s: %w", d.Spec.Name, t.env.Name, err)
	}
	fmt.Fprintf(log, "pushing %s\n", ref)
	digest, err := t.images.Push(ctx, ref, auth, io.Discard)
	if err != nil {
		fix := fmt.Sprintf("is the registry running, and may you push to it? `docker login %s` stores credentials ferry reads", t.env.Registry)
		return nil, fmt.Errorf("%s: pushing its image to %s, the registry of environment %s (declared at %s): %w; %s", d.Spec.Name, ref, t.env.Name, t.env.Pos, err, fix)
	}
	fmt.Fprintf(log, "pushed %s (%s)\n", ref, digest)
	if auth != "" {
		cfg, err := dockerConfigJSON(ref, auth)
		if err != nil {
			return nil, err
		}
		name, err := t.pullSecretName(d.Spec.Name, cfg)
		if err != nil {
			return nil, err
		}
		t.setPullAuth(d.Spec.Name, &pullCred{name: name, cfg: cfg})
	}
	c := *d
	c.Digest = ref[:strings.LastIndex(ref, ":")] + "@" + digest
	return &c, nil
}

// warnNoRegistry says, once per target, that d runs an image built in the
// local Docker Engine that no registry carries to the cluster: only
// nodes that share that Engine (Docker Desktop's cluster, say) find it.
func (t *Target) warnNoRegistry(d *deploy.Deployment, log io.Writer) {
	t.noRegistry.Do(func() {
		msg := fmt.Sprintf("environment %s (declared at %s) has no registry, so %s's image %s, built by an image() rule, stays in the local Docker Engine: "+
			"a cluster whose nodes do not share that Engine cannot pull it (ErrImagePull); set environment(%q, ..., registry = \"HOST[:PORT]\") and ferry pushes it there",
			t.env.Name, t.env.Pos, d.Spec.Name, d.Image, t.env.Name)
		if t.warn != nil {
			t.warn(msg)
			return
		}
		fmt.Fprintf(log, "warning: %s\n", msg)
	})
}

// dockerConfigJSON is the .dockerconfigjson of an imagePullSecret holding
// auth (an X-Registry-Auth value) for ref's registry.
func dockerConfigJSON(ref, auth string) ([]byte, error) {
	ac, err := registry.DecodeAuthConfig(auth)
	if err != nil {
		return nil, fmt.Errorf("reading the registry credentials: %w", err)
	}
	host, err := dockerapi.RegistryHost(ref)
	if err != nil {
		return nil, err
	}
	type entry struct {
		Username      string `json:"username,omitempty"`
		Password      string `json:"password,omitempty"`
		Auth          string `json:"auth,omitempty"`
		IdentityToken string `json:"identitytoken,omitempty"`
	}
	return json.Marshal(map[string]any{"auths": map[string]entry{host: {
		Username: ac.Username, Password: ac.Password, Auth: ac.Auth, IdentityToken: ac.IdentityToken,
	}}})
}

// A pullCred is a rule's imagePullSecret: its name and its
// .dockerconfigjson.
type pullCred struct {
	name string
	cfg  []byte
}

// setPullAuth records the imagePullSecret the pods of rule pull with, nil
// for none.
func (t *Target) setPullAuth(rule string, p *pullCred) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p == nil {
		delete(t.pullAuth, rule)
		return
	}
	if t.pullAuth == nil {
		t.pullAuth = map[string]*pullCred{}
	}
	t.pullAuth[rule] = p
}

// pullSecretName names the imagePullSecret of rule holding cfg by an HMAC
// of cfg under the workspace's secret key (see secret.WorkspaceKey): a new
// login makes a new Secret, which pruning removes once unused, and the
// name, which anyone who may list Secrets sees, does not let them test
// guesses of the credentials offline, as a plain hash would.
func (t *Target) pullSecretName(rule string, cfg []byte) (string, error) {
	key, err := secret.WorkspaceKey(t.owner.Path)
	if err != nil {
		return "", fmt.Errorf("%s: naming its imagePullSecret: %w", rule, err)
	}
	m := hmac.New(sha256.New, key)
	m.Write(cfg)
	return objectName(rule) + "-pull-" + hex.EncodeToString(m.Sum(nil))[:10], nil
}

// pullSecret returns the imagePullSecret of rule, or nil when its pods
// pull without credentials.
func (t *Target) pullSecret(rule string, meta func(string) metav1.ObjectMeta) *corev1.Secret {
	t.mu.Lock()
	p := t.pullAuth[rule]
	t.mu.Unlock()
	if p == nil {
		return nil
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: meta(p.name),
		Immutable:  ptr(true),
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: p.cfg},
	}
}
