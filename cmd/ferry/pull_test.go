package main

// End-to-end test of ferry pull, and of up, status and plan with a
// pulled image, against an in-process registry on loopback.

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockertest"
)

func TestPullCommand(t *testing.T) {
	reg := dockertest.StartRegistry(t)
	dw := newOpsWorkspace(t, "")
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dw.run(t, "run", "app-image").wantCode(t, 0)
	ids := imageIDs(t, dw.repo)
	if len(ids) != 1 {
		t.Fatalf("want one image of %s, got %v", dw.repo, ids)
	}
	ref := reg.Host() + "/" + strings.TrimPrefix(dw.repo, "ferrytest/") + ":v1"
	for _, args := range [][]string{{"tag", ids[0], ref}, {"push", ref}, {"rmi", ref}} {
		if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	dw.setRules(t, `service(name = "db", image = "`+ref+`")
service(name = "web", image = "app-image")
`)

	r := dw.run(t, "pull")
	r.wantCode(t, 0)
	r.wantStderr(t, `"rule":"db"`, "pulled "+ref+" ("+strings.TrimSuffix(ref, ":v1")+"@sha256:", "ferry up replaces")
	var pulls int
	for _, e := range r.events {
		if e.str("event") == "image.pull" && e.str("rule") == "db" {
			pulls++
		}
	}
	if pulls == 0 {
		t.Errorf("no image.pull event in the JSON log\n%s", r)
	}
	r = dw.run(t, "pull", "db")
	r.wantCode(t, 0)
	r.wantStderr(t, "db: "+ref+" is up to date")

	dw.run(t, "up", "db").wantCode(t, 0)
	st := dw.run(t, "status", "--json")
	st.wantCode(t, 0)
	var list []struct {
		Name, Digest string
	}
	if err := json.Unmarshal([]byte(st.stdout), &list); err != nil || len(list) != 1 || !strings.HasPrefix(list[0].Digest, strings.TrimSuffix(ref, ":v1")+"@sha256:") {
		t.Errorf("status: %v %+v\n%s", err, list, st)
	}
	text := dw.ferry(t, "--project", dw.project, "status")
	if !strings.Contains(text.stdout, ref+" (sha256:") {
		t.Errorf("status does not show the digest:\n%s", text)
	}
	if p := dw.ferry(t, "--project", dw.project, "plan", "db"); !strings.Contains(p.stdout, "up to date") || !strings.Contains(p.stdout, ref+"  "+strings.TrimSuffix(ref, ":v1")+"@sha256:") {
		t.Errorf("plan after up does not show the digest:\n%s", p)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"pull", "web"}, `service "web" runs the image that the image() rule "app-image" builds`},
		{[]string{"pull", "dbb"}, `no service or job "dbb" in ferry.star (did you mean "db"?)`},
	} {
		r := dw.ferry(t, append([]string{"--project", dw.project}, tc.args...)...)
		r.wantCode(t, 2)
		r.wantStderr(t, tc.want)
	}
}

// imageIDs lists the IDs of the images of repo.
func imageIDs(t *testing.T, repo string) []string {
	t.Helper()
	out, err := exec.Command("docker", "images", "-q", repo).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}
