package main

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// workspaceAt writes a workspace into dir (made here), whose ferry.star
// builds the test app into repo and declares rules.
func workspaceAt(t *testing.T, dir, repo, rules string) *testWorkspace {
	t.Helper()
	ws := &testWorkspace{dir: dir}
	for name, content := range map[string]string{
		"app/main.go":    upAppMain,
		"app/go.mod":     "module example.com/app\n\ngo 1.22\n",
		"app/Dockerfile": "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
		"ferry.star": `task(name = "app-bin", cmd = "CGO_ENABLED=0 go build -o app .", dir = "app", srcs = ["app/main.go", "app/go.mod"], outs = ["app/app"])
image(name = "app-image", repo = "` + repo + `", context = "app", deps = ["app-bin"])
` + rules,
	} {
		ws.write(t, name, content)
	}
	return ws
}

// projectContainers lists the names and IDs of the running containers of
// project.
func projectContainers(t *testing.T, project string) string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "--filter", "label=ferry.project="+project, "--format", "{{.Names}} {{.ID}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// Two workspaces whose folders have the same name, in two parent folders,
// have the same default project. The second's `ferry up` used to remove
// the first's services (as no longer declared); now it refuses, naming the
// first, and takes another project name from FERRY_PROJECT.
func TestTwoWorkspacesSameFolderName(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	b := make([]byte, 4)
	rand.Read(b)
	name := "ferrytest-" + hex.EncodeToString(b)
	repo := "ferrytest/owner-" + hex.EncodeToString(b)
	tmp := t.TempDir()
	x := workspaceAt(t, filepath.Join(tmp, "x", name), repo, `service(name = "web", image = "app-image")`+"\n")
	y := workspaceAt(t, filepath.Join(tmp, "y", name), repo, `service(name = "api", image = "app-image")`+"\n")
	t.Cleanup(func() {
		exec.Command(ferryBin, "-C", x.dir, "down", "--volumes").Run()
		exec.Command(ferryBin, "-C", y.dir, "--project", name+"-y", "down", "--volumes").Run()
		ids, _ := exec.Command("docker", "images", "-q", repo).Output()
		for _, id := range strings.Fields(string(ids)) {
			exec.Command("docker", "rmi", "-f", id).Run()
		}
	})
	if r := x.ferry(t, "up"); r.code != 0 {
		t.Fatalf("up in x:\n%s", r)
	}
	before := projectContainers(t, name)
	if !strings.HasPrefix(before, name+"-web-1 ") {
		t.Fatalf("x runs %q", before)
	}

	r := y.ferry(t, "up")
	want := "project " + name + " belongs to the workspace at " + x.dir
	if r.code == 0 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "FERRY_PROJECT=NAME") {
		t.Fatalf("up in y: want a failure saying %q, got:\n%s", want, r)
	}
	if after := projectContainers(t, name); after != before {
		t.Fatalf("up in y changed x's containers: %q, then %q", before, after)
	}
	r = y.ferry(t, "down")
	if r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Fatalf("down in y: want a failure saying %q, got:\n%s", want, r)
	}

	cmd := exec.Command(ferryBin, "up")
	cmd.Dir, cmd.Env = y.dir, append(os.Environ(), "NO_COLOR=1", "FERRY_PROJECT="+name+"-y")
	if r := startCmd(t, cmd).wait(t); r.code != 0 {
		t.Fatalf("up in y as %s-y:\n%s", name, r)
	}
	if after := projectContainers(t, name); after != before {
		t.Fatalf("x's containers changed: %q, then %q", before, after)
	}
	if got := projectContainers(t, name+"-y"); !strings.HasPrefix(got, name+"-y-api-1 ") {
		t.Fatalf("y runs %q", got)
	}
}

// Two workspaces whose folder names differ only beyond ASCII are two
// projects (they were both "ferry"). The project is read from the label
// filter of the container list that `ferry status` asks a fake Engine for.
func TestNonASCIIFolderNames(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var filters []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("API-Version", "1.41")
		if strings.HasSuffix(r.URL.Path, "/containers/json") {
			mu.Lock()
			filters = append(filters, r.URL.Query().Get("filters"))
			mu.Unlock()
			w.Write([]byte("[]"))
			return
		}
		w.Write([]byte("OK"))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	tmp := t.TempDir()
	projects := map[string]string{}
	project := regexp.MustCompile(`"ferry\.project=([^"]+)"`)
	for _, folder := range []string{"日本", "中文", "café", "cafè"} {
		ws := &testWorkspace{dir: filepath.Join(tmp, folder)}
		ws.write(t, "ferry.star", `service(name = "web", image = "ferrytest/none:1")`+"\n")
		cmd := exec.Command(ferryBin, "status")
		cmd.Dir, cmd.Env = ws.dir, append(os.Environ(), "NO_COLOR=1", "DOCKER_HOST=unix://"+sock)
		if r := startCmd(t, cmd).wait(t); r.code != 0 {
			t.Fatalf("status in %s:\n%s", folder, r)
		}
		mu.Lock()
		m := project.FindStringSubmatch(filters[len(filters)-1])
		mu.Unlock()
		if m == nil {
			t.Fatalf("status in %s listed containers with filters %s", folder, filters)
		}
		if other, ok := projects[m[1]]; ok {
			t.Errorf("%s and %s are both project %s", other, folder, m[1])
		}
		projects[m[1]] = folder
	}
}
