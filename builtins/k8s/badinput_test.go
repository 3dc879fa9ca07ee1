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
	// A Deployment's name may start with a digit, a Service's may not.
	d := service("9lives", "ferry.local/none:1", 1)
	d.Spec.Ports = []deploy.Port{{Container: 8080, Protocol: "tcp"}}
	d.Pos = syntax.MakePosition(ptr("ferry.star"), 7, 1)

	err := tg.Deploy(context.Background(), d, io.Discard)
	if err == nil {
		t.Fatal("the cluster took a Service named 9lives")
	}
	for _, want := range []string{"ferry.star:7:1: service 9lives: applying service/9lives in namespace " + ns + ": the cluster rejected it:", "DNS-1035"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("up's error does not say %q: %v", want, err)
		}
	}
	_, err = tg.Diff(context.Background(), "shop", []*deploy.Deployment{d}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ferry.star:7:1: service 9lives: dry-run applying service/9lives") || !strings.Contains(err.Error(), "DNS-1035") {
		t.Errorf("diff's error: %v", err)
	}
}
