package swarm

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
)

// On a real single-node swarm: the swarm target labels its services,
// secrets and network with the workspace, and another workspace of the
// same project refuses to touch them.
func TestSwarmTwoWorkspacesOneProject(t *testing.T) {
	t.Parallel()
	ta, project, img := swarmProject(t)
	ctx := context.Background()
	tmp := t.TempDir()
	a, b := deploy.OwnerOf(filepath.Join(tmp, "x", "app")), deploy.OwnerOf(filepath.Join(tmp, "y", "app"))
	ta.Own(a)
	tb := NewTarget(ta.c, nil, ta.env, func(string) {})
	tb.Own(b)
	d := func(key byte) *deploy.Deployment {
		return &deploy.Deployment{Project: project, Image: img, Key: engine.Digest{key}, SecretsHash: strings.Repeat("a", 64),
			SecretFileValues: map[string]deploy.SecretFileValue{"/run/secrets/tok": {Value: "v", HMAC: strings.Repeat("a", 64)}},
			Spec:             &deploy.ServiceSpec{Name: "web", Replicas: 1, Restart: "unless-stopped"}}
	}
	if err := ta.Deploy(ctx, d(1), io.Discard); err != nil {
		t.Fatal(err)
	}
	list, err := ta.c.Services(ctx, map[string]string{objects.LabelProject: project})
	if err != nil || len(list) != 1 || list[0].Labels[objects.LabelWorkspace] != a.ID {
		t.Fatalf("services %+v, %v; want one labelled %s=%s", list, err, objects.LabelWorkspace, a.ID)
	}
	secs, err := ta.c.Secrets(ctx, map[string]string{objects.LabelProject: project})
	if err != nil || len(secs) != 1 || secs[0].Labels[objects.LabelWorkspace] != a.ID {
		t.Errorf("secrets %+v, %v; want one labelled %s=%s", secs, err, objects.LabelWorkspace, a.ID)
	}
	want := "project " + project + " belongs to the workspace at " + a.Path
	for what, err := range map[string]error{
		"deploy": tb.Deploy(ctx, d(2), io.Discard),
		"down":   func() error { _, err := tb.Down(ctx, project, true); return err }(),
	} {
		var fe *objects.ForeignError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %s", what, err, want)
		}
	}
	after, err := ta.c.Services(ctx, map[string]string{objects.LabelProject: project})
	if err != nil || len(after) != 1 || after[0].ID != list[0].ID || after[0].Labels[objects.LabelConfig] != list[0].Labels[objects.LabelConfig] {
		t.Errorf("workspace y changed x's service: %+v, then %+v (%v)", list, after, err)
	}
}
