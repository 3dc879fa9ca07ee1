package local

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/builtins/docker/objects"
	"github.com/ferryhq/ferry/engine"
)

// Against the real Engine: two workspaces whose folders have the same name
// have the same project. Each labels what it makes with its identity, and
// the second never touches the first's services: every operation refuses,
// saying whose they are, until it takes another project name.
func TestTwoWorkspacesOneProject(t *testing.T) {
	t.Parallel()
	c := dockertest.NeedDocker(t)
	ctx := context.Background()
	project, img := "ferrytest-"+dockertest.RandomHex(t), versionImage(t)
	tmp := t.TempDir()
	a, b := deploy.OwnerOf(filepath.Join(tmp, "x", "app")), deploy.OwnerOf(filepath.Join(tmp, "y", "app"))
	ta, tb := NewTarget(c, nil), NewTarget(c, nil)
	ta.Own(a)
	tb.Own(b)
	t.Cleanup(func() {
		// The workspaces' folders were never made: down still removes
		// everything (it left the networks when it could not open the
		// folder to look for copies of configs).
		if _, err := ta.Down(context.Background(), project, true); err != nil {
			t.Errorf("down x: %v", err)
		}
		if _, err := tb.Down(context.Background(), project+"-y", true); err != nil {
			t.Errorf("down y: %v", err)
		}
	})
	svc := func(project, name string, key byte) *deploy.Deployment {
		return &deploy.Deployment{Project: project, Image: img, Key: engine.Digest{key}, Spec: &deploy.ServiceSpec{
			Name: name, Replicas: 1, Restart: "unless-stopped", Volumes: []deploy.Volume{{Source: "data", Target: "/data"}},
		}}
	}
	if err := ta.Deploy(ctx, svc(project, "web", 1), io.Discard); err != nil {
		t.Fatal(err)
	}
	running := func() []string {
		list, err := c.Containers(ctx, map[string]string{objects.LabelProject: project})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ct := range list {
			out = append(out, ct.Name+" "+ct.State+" "+ct.ID)
		}
		slices.Sort(out)
		return out
	}
	before := running()
	if len(before) != 1 || !strings.Contains(before[0], " running ") {
		t.Fatalf("workspace x runs %v", before)
	}

	// Workspace y: deploying, removing what it does not declare, down and
	// status all refuse, naming workspace x.
	want := "project " + project + " belongs to the workspace at " + a.Path + " (its container " + project + "-web-1 carries that workspace's label), and this workspace, " + b.Path + ", has the same project name"
	check := func(what string, err error) {
		t.Helper()
		var fe *objects.ForeignError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--project NAME, or FERRY_PROJECT=NAME") {
			t.Errorf("%s: got %v\nwant %s", what, err, want)
		}
	}
	check("deploy", tb.Deploy(ctx, svc(project, "api", 2), io.Discard))
	check("deploy the same service", tb.Deploy(ctx, svc(project, "web", 2), io.Discard))
	_, err := tb.RemoveExcept(ctx, project, nil)
	check("remove", err)
	_, err = tb.Down(ctx, project, true)
	check("down", err)
	_, err = tb.Status(ctx, project)
	check("status", err)
	if after := running(); !slices.Equal(after, before) {
		t.Fatalf("workspace y changed workspace x's containers: %v, then %v", before, after)
	}

	// What x made carries its identity.
	list, err := c.Containers(ctx, map[string]string{objects.LabelProject: project})
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	if l := list[0].Labels; l[objects.LabelWorkspace] != a.ID || l[objects.LabelWorkspacePath] != a.Path {
		t.Errorf("container labels %v, want %s=%s and %s=%s", l, objects.LabelWorkspace, a.ID, objects.LabelWorkspacePath, a.Path)
	}
	for kind, name := range map[string]string{"network": NetworkName(project), "volume": project + "_data"} {
		var l map[string]string
		var ok bool
		if kind == "network" {
			l, ok, err = c.NetworkLabels(ctx, name)
		} else {
			l, ok, err = c.VolumeLabels(ctx, name)
		}
		if err != nil || !ok || l[objects.LabelWorkspace] != a.ID {
			t.Errorf("%s %s: labels %v, %v, %v; want %s=%s", kind, name, l, ok, err, objects.LabelWorkspace, a.ID)
		}
	}

	// Under another project name, y runs beside x.
	if err := tb.Deploy(ctx, svc(project+"-y", "web", 2), io.Discard); err != nil {
		t.Fatal(err)
	}
	if after := running(); !slices.Equal(after, before) {
		t.Fatalf("workspace x's containers changed: %v, then %v", before, after)
	}
}

// Containers made by a ferry that did not label workspaces are adopted by
// the workspace that deploys their project: replaced, the new ones carry
// its label.
func TestUnlabelledContainersAdopted(t *testing.T) {
	t.Parallel()
	c := dockertest.NeedDocker(t)
	ctx := context.Background()
	project, img := "ferrytest-"+dockertest.RandomHex(t), versionImage(t)
	old, cur := NewTarget(c, nil), NewTarget(c, nil) // old: no workspace label
	o := deploy.OwnerOf(t.TempDir())
	cur.Own(o)
	t.Cleanup(func() { cur.Down(context.Background(), project, true) })
	d := func(key byte) *deploy.Deployment {
		return &deploy.Deployment{Project: project, Image: img, Key: engine.Digest{key}, Spec: &deploy.ServiceSpec{Name: "web", Replicas: 1, Restart: "unless-stopped"}}
	}
	if err := old.Deploy(ctx, d(1), io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := cur.Deploy(ctx, d(2), io.Discard); err != nil {
		t.Fatal(err)
	}
	list, err := c.Containers(ctx, map[string]string{objects.LabelProject: project})
	if err != nil || len(list) != 1 || list[0].Labels[objects.LabelWorkspace] != o.ID {
		t.Fatalf("containers %+v, %v; want one, labelled %s=%s", list, err, objects.LabelWorkspace, o.ID)
	}
}
