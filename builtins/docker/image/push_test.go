package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
)

// Push makes the tests' countingEngine a Pusher, as the real client is.
func (c *countingEngine) Push(ctx context.Context, ref, auth string, out io.Writer) (string, error) {
	return c.Client.(Pusher).Push(ctx, ref, auth, out)
}

// An image with push = True is pushed, under its key tag and its extra
// tags, when it is built, and not again while it is up to date; under
// DeferPush it is built but not pushed.
func TestImagePushOnBuild(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	reg := dockertest.StartRegistry(t)
	w := newWorkspace(t, docker, map[string]string{
		"ferry.star":     `image(name = "hello", repo = "` + reg.Host() + `/REPO", context = "app", tag = ["v1"], push = True)` + "\n",
		"app/Dockerfile": "FROM scratch\nCOPY hello /hello\n",
	})
	w.CopyHello("app/hello")

	r := w.Run(context.Background())
	if r.Err != nil {
		t.Fatalf("run: %v: %s\n%s", r.Err, r.Failure("hello"), r.Output("hello"))
	}
	key := w.StateKey("hello")
	for _, tag := range []string{key.Short(), "v1"} {
		m := reg.Manifest(t, w.Repo, tag)
		if m == nil {
			t.Fatalf("the registry has no manifest for %s:%s\n%s", w.Repo, tag, r.Output("hello"))
		}
		if layers, _ := m["layers"].([]any); len(layers) != 1 {
			t.Errorf("manifest of %s has %d layers, want 1 (COPY hello)", tag, len(layers))
		}
	}
	if out := r.Output("hello"); !strings.Contains(out, "pushed "+reg.Host()+"/"+w.Repo+":"+key.Short()+" (sha256:") {
		t.Errorf("the push is not in the rule's output:\n%s", out)
	}
	if n := reg.Manifests.Load(); n != 2 {
		t.Errorf("%d manifests pushed, want 2", n)
	}

	// Up to date: no build, no push.
	w.MustRun()
	if n := reg.Manifests.Load(); n != 2 {
		t.Errorf("an up-to-date run pushed: %d manifests", n)
	}

	// A change is built; under DeferPush it is not pushed.
	w.Write("app/extra.txt", "x\n")
	w.Write("app/Dockerfile", "FROM scratch\nCOPY hello /hello\nCOPY extra.txt /\n")
	r = w.Run(DeferPush(context.Background()))
	if r.Err != nil {
		t.Fatalf("run: %v: %s", r.Err, r.Failure("hello"))
	}
	if n := reg.Manifests.Load(); n != 2 {
		t.Errorf("a run under DeferPush pushed: %d manifests", n)
	}
	if m := reg.Manifest(t, w.Repo, w.StateKey("hello").Short()); m != nil {
		t.Errorf("the new key tag reached the registry under DeferPush")
	}
}

func decodeAuth(t *testing.T, s string) map[string]string {
	t.Helper()
	raw, err := base64.URLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("auth %q is not base64url: %v", s, err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("auth %s: %v", raw, err)
	}
	return m
}

// fakeCredentialHelper puts on PATH a docker-credential-NAME that gives
// user and pass for any registry, as credential helpers answer "get".
func fakeCredentialHelper(t *testing.T, name, user, pass string) {
	dir := t.TempDir()
	script := "#!/bin/sh\nread server\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"" + user + "\",\"Secret\":\"" + pass + "\"}' \"$server\"\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-"+name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestRegistryAuth(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	fakeCredentialHelper(t, "ferrytest", "carol", "helper-pw")
	dockertest.WriteDockerConfig(t, `{
		"auths": {
			"reg.example.com": {"auth": "`+b64("alice:s3cret")+`"},
			"https://index.docker.io/v1/": {"auth": "`+b64("bob:hub:pw")+`"},
			"https://tok.example.com": {"identitytoken": "tok123"}
		},
		"credHelpers": {"ecr.example.com": "ferrytest"}
	}`)
	for _, tc := range []struct {
		ref, user, pass, token string
	}{
		{ref: "reg.example.com/acme/api:1", user: "alice", pass: "s3cret"},
		{ref: "acme/api:1", user: "bob", pass: "hub:pw"},
		{ref: "tok.example.com/x:1", token: "tok123"},
		{ref: "ecr.example.com/x:1", user: "carol", pass: "helper-pw"},
		{ref: "127.0.0.1:5000/acme/api:1"},
	} {
		auth, err := dockerapi.RegistryAuth(tc.ref)
		if err != nil {
			t.Errorf("%s: %v", tc.ref, err)
			continue
		}
		if tc.user == "" && tc.token == "" {
			if auth != "" {
				t.Errorf("%s: auth %q; want none", tc.ref, auth)
			}
			continue
		}
		m := decodeAuth(t, auth)
		if m["username"] != tc.user || m["password"] != tc.pass || m["identitytoken"] != tc.token {
			t.Errorf("%s: auth %v", tc.ref, m)
		}
	}

	// A credential store keeps every registry's credentials.
	dockertest.WriteDockerConfig(t, `{"credsStore": "ferrytest"}`)
	if auth, err := dockerapi.RegistryAuth("reg.example.com/a:1"); err != nil || decodeAuth(t, auth)["username"] != "carol" {
		t.Errorf("credsStore: %q, %v", auth, err)
	}
	dockertest.WriteDockerConfig(t, `{"credsStore": "nosuchhelper"}`)
	if _, err := dockerapi.RegistryAuth("reg.example.com/a:1"); err == nil || !strings.Contains(err.Error(), "docker-credential-nosuchhelper") || !strings.Contains(err.Error(), "docker login reg.example.com") {
		t.Errorf("a missing credential helper: %v", err)
	}
	dockertest.WriteDockerConfig(t, `{not json`)
	if _, err := dockerapi.RegistryAuth("reg.example.com/a:1"); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("a broken config.json: %v", err)
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	if auth, err := dockerapi.RegistryAuth("reg.example.com/a:1"); auth != "" || err != nil {
		t.Errorf("no config.json: %q %v", auth, err)
	}
}

func TestPushErrorSaysWhatToDo(t *testing.T) {
	t.Parallel()
	ref := "reg.example.com/acme/api:abc"
	for _, tc := range []struct {
		err      error
		withAuth bool
		want     []string
	}{
		{&dockerapi.PushError{Ref: ref, Message: "unauthorized: authentication required", Auth: true}, false,
			[]string{"reg.example.com refused it", "docker login reg.example.com"}},
		{&dockerapi.PushError{Ref: ref, Message: "denied", Auth: true}, true,
			[]string{"were refused", "docker login reg.example.com"}},
		{&dockerapi.PushError{Ref: ref, Message: `Get "https://reg.example.com/v2/": http: server gave HTTP response to HTTPS client`}, false,
			[]string{"insecure-registries", "/etc/docker/daemon.json"}},
		{&dockerapi.PushError{Ref: ref, Message: `dial tcp: lookup reg.example.com: no such host`}, false,
			[]string{"cannot reach the registry reg.example.com"}},
		{errors.New("something else"), false, []string{"something else"}},
	} {
		got := pushError(ref, tc.withAuth, tc.err).Error()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%v: %q lacks %q", tc.err, got, w)
			}
		}
	}
}
