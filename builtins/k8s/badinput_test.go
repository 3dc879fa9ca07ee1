package k8s

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/syntax"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// A namespace the kubeconfig's user may not write to is an error that
// quotes the cluster's denial, names the namespace and says what to do.
func TestRBACDenialQuoted(t *testing.T) {
	c := needCluster(t, false)
	ns, _ := testNamespace(t, c)
	// The test cluster authorizes with RBAC; its admin may act as a user
	// that no role binds.
	cfg, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range cfg.AuthInfos {
		u.Impersonate = "ferry-nobody"
	}
	kc := filepath.Join(t.TempDir(), "nobody.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kc); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kc)

	tg := applyingIn(ns, ownerA)
	err = tg.Deploy(context.Background(), service("web", "ferry.local/none:1", 1), io.Discard)
	if err == nil {
		t.Fatal("a user without permissions deployed")
	}
	for _, want := range []string{"in namespace " + ns + ": the cluster refused:", `User "ferry-nobody" cannot`, "ask for the permission"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
}

// A manifest the API server rejects is an error that quotes its message,
// with the position in ferry.star of the service that made it, from up
// and from diff.
func TestRejectedManifestQuoted(t *testing.T) {
	c := needCluster(t, false)
	ns, _ := testNamespace(t, c)
	tg := applyingIn(ns, ownerA)
	// A container's environment variable may not be named with '='.
	d := service("web", "ferry.local/none:1", 1)
	d.Spec.Env = map[string]string{"BAD=NAME": "x"}
	d.Pos = syntax.MakePosition(ptr("ferry.star"), 7, 8)

	err := tg.Deploy(context.Background(), d, io.Discard)
	if err == nil {
		t.Fatal("the cluster took an environment variable named BAD=NAME")
	}
	t.Log(err)
	for _, want := range []string{"ferry.star:7:8: service web: applying deployment/web in namespace " + ns + ": the cluster rejected it:", `"BAD=NAME"`, "environment variable name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("up's error does not say %q: %v", want, err)
		}
	}
	_, err = tg.Diff(context.Background(), "shop", []*deploy.Deployment{d}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ferry.star:7:8: service web: dry-run applying deployment/web") || !strings.Contains(err.Error(), "environment variable name") {
		t.Errorf("diff's error: %v", err)
	}
}
