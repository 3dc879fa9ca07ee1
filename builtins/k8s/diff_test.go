package k8s

import (
	"context"
	"io"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

// ferry diff shows, object by object, what up would create, change and
// remove, and nothing once up applied it; it changes nothing, and never
// shows a secret's value.
func TestDiff(t *testing.T) {
	c := needCluster(t, false)
	ns, admin := testNamespace(t, c)
	ctx := context.Background()
	tg := applyingIn(ns, ownerA)

	web := service("web", "ferry.local/none:1", 1)
	web.Spec.Ports = []deploy.Port{{Container: 8080, Protocol: "tcp"}}
	web.Spec.Secrets = map[string]engine.Secret{"TOKEN": nil}
	old := service("old", "ferry.local/none:1", 1)
	diff := func(ds ...*deploy.Deployment) (int, string) {
		t.Helper()
		// diff reveals no secret: what it sees carries none.
		var plain []*deploy.Deployment
		for _, d := range ds {
			p := *d
			p.SecretEnv, p.SecretsHash = nil, ""
			plain = append(plain, &p)
		}
		var out strings.Builder
		n, err := tg.Diff(ctx, "shop", plain, &out)
		if err != nil {
			t.Fatal(err)
		}
		return n, out.String()
	}

	n, out := diff(web)
	for _, want := range []string{"deployment/web would be created:", "+++ up", "+  replicas: 1", "service/web would be created:", "secret/web-secrets would be created (keys env.TOKEN)"} {
		if !strings.Contains(out, want) {
			t.Errorf("before up, diff shows no %q:\n%s", want, out)
		}
	}
	if n != 3 {
		t.Errorf("before up, %d changes, want 3:\n%s", n, out)
	}
	if deps, _ := admin.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{}); len(deps.Items) != 0 {
		t.Errorf("diff created %d deployments", len(deps.Items))
	}

	web.SecretEnv = map[string]string{"TOKEN": "Diff-Secret-Value"}
	web.SecretsHash = "3333333333cccc"
	for _, d := range []*deploy.Deployment{web, old} {
		if err := tg.Deploy(ctx, d, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if n, out := diff(web, old); n != 0 || !strings.Contains(out, "no changes") {
		t.Errorf("after up, %d changes:\n%s", n, out)
	}

	dep, err := admin.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	more := *web
	spec := *web.Spec
	spec.Replicas = 3
	spec.Env = map[string]string{"VERSION": "2"}
	more.Spec = &spec
	n, out = diff(&more)
	t.Logf("diff:\n%s", out)
	for _, want := range []string{"deployment/web would change:", "-  replicas: 1\n", "+  replicas: 3\n", `+          value: "2"`, "deployment/old would be removed: old no longer declares it"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff shows no %q:\n%s", want, out)
		}
	}
	if n != 2 || strings.Contains(out, "service/web") || strings.Contains(out, "secret/") || strings.Contains(out, "Diff-Secret-Value") {
		t.Errorf("%d changes (want 2: the Deployment, and old's removal):\n%s", n, out)
	}
	after, err := admin.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != dep.ResourceVersion {
		t.Errorf("diff changed deployment/web")
	}
}
