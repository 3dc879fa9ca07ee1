package main

// End-to-end tests of ferry exec, restart, prune, down --rmi and push
// against the real Docker Engine, with images built FROM scratch and an
// in-process registry on loopback.

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockertest"
)

// opsAppMain is the app of the ops tests: a server by default, and a few
// modes to run with ferry exec.
const opsAppMain = `package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "cat": // copy stdin to stdout
			io.Copy(os.Stdout, os.Stdin)
			return
		case "exit": // print to both streams and exit with the code given
			fmt.Println("to stdout")
			fmt.Fprintln(os.Stderr, "to stderr")
			n, _ := strconv.Atoi(os.Args[2])
			os.Exit(n)
		case "host":
			h, _ := os.Hostname()
			fmt.Println(h, os.Getenv("GREETING"))
			return
		}
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	fmt.Println("listening on :8080")
	http.ListenAndServe(":8080", nil)
}
`

// newOpsWorkspace is a docker workspace running opsAppMain.
func newOpsWorkspace(t *testing.T, rules string) *dockerWorkspace {
	t.Helper()
	dw := newDockerWorkspace(t, rules)
	dw.write(t, "app/main.go", opsAppMain)
	return dw
}

// containerID returns the full ID of a container, by name.
func containerID(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "-f", "{{.Id}} {{.State.StartedAt}}", name).Output()
	if err != nil {
		t.Fatalf("docker inspect %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

func TestExec(t *testing.T) {
	t.Parallel()
	dw := newOpsWorkspace(t, `service(name = "web", image = "app-image", replicas = 2, env = {"GREETING": "hi"})
service(name = "side", image = "app-image")
job(name = "once", image = "app-image", command = ["host"])
`)
	dw.run(t, "up", "web", "once").wantCode(t, 0)
	ferry := func(args ...string) *runResult {
		return dw.ferry(t, append([]string{"--project", dw.project}, args...)...)
	}

	// Output on both streams, and the command's exit code is ferry's.
	r := ferry("exec", "web", "--", "/app", "exit", "5")
	r.wantCode(t, 5)
	if r.stdout != "to stdout\n" || !strings.Contains(r.stderr, "to stderr") {
		t.Errorf("streams not kept apart:\nstdout %q\nstderr %q", r.stdout, r.stderr)
	}
	ferry("exec", "web", "--", "/app", "exit", "0").wantCode(t, 0)

	// --replica picks the container; flags given after -- are the command's.
	id2 := containerID(t, dw.project+"-web-2")
	r = ferry("exec", "--replica", "2", "web", "--", "/app", "host")
	r.wantCode(t, 0)
	if got := strings.TrimSpace(r.stdout); got != id2[:12]+" hi" {
		t.Errorf("exec --replica 2 ran in %q, want %s (web-2) with its env", got, id2[:12])
	}
	r = ferry("exec", "web", "--replica", "2", "-e", "GREETING=yo", "--", "/app", "host")
	if got := strings.TrimSpace(r.stdout); got != id2[:12]+" yo" {
		t.Errorf("exec with flags after SERVICE ran %q", got)
	}

	// Standard input reaches the command when ferry's is not a terminal.
	cmd := exec.Command(ferryBin, "--project", dw.project, "exec", "web", "--", "/app", "cat")
	cmd.Dir = dw.dir
	cmd.Stdin = strings.NewReader("through stdin\n")
	if out, err := cmd.Output(); err != nil || string(out) != "through stdin\n" {
		t.Errorf("exec with piped stdin: %v, output %q", err, out)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no such program", []string{"exec", "web", "--", "sh", "-c", "ls"}, 126,
			[]string{`has no program "sh"`, "FROM scratch", "it starts with /app"}},
		{"typo", []string{"exec", "webb", "--", "/app"}, 2,
			[]string{`no service "webb" in ferry.star`, `did you mean "web"?`}},
		{"declared, not running", []string{"exec", "side", "--", "/app"}, 2,
			[]string{"service side is not running", "`ferry up side` starts it"}},
		{"job", []string{"exec", "once", "--", "/app"}, 2,
			[]string{"once is a job"}},
		{"no such replica", []string{"exec", "--replica", "3", "web", "--", "/app"}, 2,
			[]string{"service web has no replica 3: it runs replicas 1, 2"}},
		{"no command", []string{"exec", "web"}, 2,
			[]string{"no command given: put it after --"}},
		{"command flags before --", []string{"exec", "web", "ls", "-la"}, 2,
			[]string{"put the command and its flags after --"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ferry(tc.args...)
			r.wantCode(t, tc.code)
			r.wantStderr(t, tc.want...)
		})
	}

	// A stopped replica is named, with what to do.
	if out, err := exec.Command("docker", "stop", "-t", "1", dw.project+"-web-2").CombinedOutput(); err != nil {
		t.Fatalf("docker stop: %v\n%s", err, out)
	}
	r = ferry("exec", "--replica", "2", "web", "--", "/app", "host")
	r.wantCode(t, 2)
	r.wantStderr(t, dw.project+"-web-2 is not running (exited", "`ferry restart web`")
}

func TestRestart(t *testing.T) {
	t.Parallel()
	dw := newOpsWorkspace(t, `service(name = "web", image = "app-image", replicas = 2)
service(name = "other", image = "app-image")
job(name = "once", image = "app-image", command = ["host"])
`)
	dw.run(t, "up").wantCode(t, 0)
	before1, before2 := containerID(t, dw.project+"-web-1"), containerID(t, dw.project+"-web-2")
	other := containerID(t, dw.project+"-other-1")
	if out, err := exec.Command("docker", "stop", "-t", "1", dw.project+"-web-2").CombinedOutput(); err != nil {
		t.Fatalf("docker stop: %v\n%s", err, out)
	}

	r := dw.ferry(t, "--project", dw.project, "restart", "web")
	r.wantCode(t, 0)
	r.wantStderr(t, "restarted "+dw.project+"-web-1", "restarted "+dw.project+"-web-2")
	after1, after2 := containerID(t, dw.project+"-web-1"), containerID(t, dw.project+"-web-2")
	for _, c := range [][2]string{{before1, after1}, {before2, after2}} {
		b, a := strings.Fields(c[0]), strings.Fields(c[1])
		if a[0] != b[0] || a[1] == b[1] {
			t.Errorf("restart should keep the container and start it again: before %v, after %v", b, a)
		}
	}
	if names(dw.containers(t)) != fmt.Sprintf("%[1]s-once-job exited, %[1]s-other-1 running, %[1]s-web-1 running, %[1]s-web-2 running", dw.project) {
		t.Errorf("after restart: %v", dw.containers(t))
	}
	if got := containerID(t, dw.project+"-other-1"); got != other {
		t.Errorf("restarting web touched other: %s → %s", other, got)
	}

	// Every name is checked before anything restarts.
	r = dw.ferry(t, "--project", dw.project, "restart", "other", "webb")
	r.wantCode(t, 2)
	r.wantStderr(t, `no service "webb" in ferry.star`, `did you mean "web"?`)
	if got := containerID(t, dw.project+"-other-1"); got != other {
		t.Errorf("a failed restart restarted other")
	}
	r = dw.ferry(t, "--project", dw.project, "restart", "once")
	r.wantCode(t, 2)
	r.wantStderr(t, "once is a job", "ferry up --force once")
	dw.ferry(t, "--project", dw.project, "restart").wantCode(t, 2)
}

// imageTags returns the tags of repo's images, newest first.
func imageTags(t *testing.T, repo string) []string {
	t.Helper()
	out, err := exec.Command("docker", "images", "--format", "{{.Tag}}", repo).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}

// buildVersion changes the app's source with a comment and builds the
// image again; it returns the new key tag.
func buildVersion(t *testing.T, dw *dockerWorkspace, n int) string {
	t.Helper()
	dw.write(t, "app/main.go", opsAppMain+fmt.Sprintf("// version %d\n", n))
	r := dw.run(t, "run", "app-image")
	r.wantCode(t, 0)
	for _, l := range r.output("app-image") {
		if rest, ok := strings.CutPrefix(l, "built "+dw.repo+":"); ok {
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("no image built:\n%s", r)
	return ""
}

func TestPruneAndDownRmi(t *testing.T) {
	t.Parallel()
	dw := newOpsWorkspace(t, "")
	var v []string // key tags, oldest first
	for i := range 4 {
		v = append(v, buildVersion(t, dw, i))
	}
	if len(imageTags(t, dw.repo)) != 4 {
		t.Fatalf("want 4 images, have %v", imageTags(t, dw.repo))
	}
	// The oldest is used by a container ferry did not make.
	user := dw.project + "-user"
	if out, err := exec.Command("docker", "create", "--name", user, dw.repo+":"+v[0]).CombinedOutput(); err != nil {
		t.Fatalf("docker create: %v\n%s", err, out)
	}
	defer exec.Command("docker", "rm", "-f", user).Run()
	// An image ferry did not build, in the same repository; and one built
	// FROM a ferry image (it inherits ferry's labels, not its key tag).
	dw.write(t, "other/Dockerfile", "FROM "+dw.repo+":"+v[3]+"\nLABEL made.by=hand\n")
	dw.write(t, "plain/Dockerfile", "FROM scratch\nCOPY Dockerfile /\n")
	for _, b := range [][]string{{"other", "handmade-child"}, {"plain", "handmade"}} {
		if out, err := exec.Command("docker", "build", "-t", dw.repo+":"+b[1], dw.path(b[0])).CombinedOutput(); err != nil {
			t.Fatalf("docker build: %v\n%s", err, out)
		}
	}
	// Going back to version 1's source makes its image current again.
	dw.write(t, "app/main.go", opsAppMain+"// version 1\n")
	dw.run(t, "run", "app-image").wantCode(t, 0)

	r := dw.run(t, "prune", "--keep", "1")
	r.wantCode(t, 0)
	r.wantStderr(t, "removed image "+dw.repo+":"+v[2],
		"kept image "+dw.repo+":"+v[1]+": its rule's last successful build made it",
		"kept image "+dw.repo+":"+v[0]+": container "+user+" uses it")
	have := strings.Join(imageTags(t, dw.repo), " ")
	for _, tag := range []string{v[0], v[1], v[3], "handmade", "handmade-child"} {
		if !strings.Contains(have, tag) {
			t.Errorf("prune removed %s: left %s", tag, have)
		}
	}
	if strings.Contains(have, v[2]) {
		t.Errorf("prune left %s: %s", v[2], have)
	}
	r = dw.run(t, "prune", "--keep", "-1")
	r.wantCode(t, 2)
	r.wantStderr(t, "--keep -1: give 0 or more")

	// down --rmi removes every image ferry built here but the one in use.
	r = dw.run(t, "down", "--rmi")
	r.wantCode(t, 0)
	r.wantStderr(t, "removed image "+dw.repo+":"+v[3], "removed image "+dw.repo+":"+v[1], "kept image "+dw.repo+":"+v[0])
	if have := strings.Join(imageTags(t, dw.repo), " "); have != "handmade handmade-child "+v[0] && have != "handmade-child handmade "+v[0] {
		t.Errorf("after down --rmi: %s", have)
	}
	exec.Command("docker", "rm", "-f", user).Run()
	dw.run(t, "down", "--rmi").wantCode(t, 0)
	if have := strings.Join(imageTags(t, dw.repo), " "); strings.Contains(have, v[0]) {
		t.Errorf("after removing its user, down --rmi left %s", have)
	}
	// The state still says the image is built: the next run notices.
	r = dw.run(t, "run", "app-image")
	r.wantCode(t, 0)
	wantSet(t, "rules run after down --rmi", r.done(), []string{"app-image"}, r)
}

func TestPush(t *testing.T) {
	t.Parallel()
	reg := dockertest.StartRegistry(t)
	dw := newOpsWorkspace(t, "")
	name := "ferrytest/push-" + strings.TrimPrefix(dw.project, "ferrytest-")
	repo := reg.Host() + "/" + name
	t.Cleanup(func() {
		ids, _ := exec.Command("docker", "images", "-q", repo).Output()
		for _, id := range strings.Fields(string(ids)) {
			exec.Command("docker", "rmi", "-f", id).Run()
		}
	})
	dw.setRules(t, fmt.Sprintf(`image(name = "pushed", repo = %q, context = "app", deps = ["app-bin"], push = True, tag = ["v1"])
service(name = "web", image = "app-image")
`, repo))

	// Building an image with push = True pushes it.
	r := dw.run(t, "run", "pushed")
	r.wantCode(t, 0)
	tags := imageTags(t, repo)
	key := ""
	for _, tg := range tags {
		if tg != "v1" {
			key = tg
		}
	}
	if key == "" {
		t.Fatalf("no key tag in %v", tags)
	}
	for _, tg := range []string{key, "v1"} {
		if reg.Manifest(t, name, tg) == nil {
			t.Errorf("the registry lacks %s:%s after the build\n%s", name, tg, r)
		}
	}
	out := strings.Join(r.output("pushed"), "\n")
	if !strings.Contains(out, "pushed "+repo+":"+key+" (sha256:") {
		t.Errorf("the push is not reported:\n%s", out)
	}
	pushes := reg.Manifests.Load()

	// Up to date: ferry run does not push again; ferry push always does.
	dw.run(t, "run", "pushed").wantCode(t, 0)
	if n := reg.Manifests.Load(); n != pushes {
		t.Errorf("an up-to-date run pushed %d manifests", n-pushes)
	}
	r = dw.run(t, "push")
	r.wantCode(t, 0)
	if n := reg.Manifests.Load(); n != pushes+2 {
		t.Errorf("ferry push put %d manifests, want 2 (key tag and v1)\n%s", n-pushes, r)
	}
	wantSet(t, "rules run by ferry push", r.done(), nil, r)

	// A changed image is built once and pushed once by ferry push.
	dw.write(t, "app/main.go", opsAppMain+"// changed\n")
	pushes = reg.Manifests.Load()
	r = dw.run(t, "push", "pushed")
	r.wantCode(t, 0)
	if n := reg.Manifests.Load(); n != pushes+2 {
		t.Errorf("ferry push of a changed image put %d manifests, want 2\n%s", n-pushes, r)
	}

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"typo", []string{"push", "pushd"}, []string{`no image rule "pushd" in ferry.star`, `did you mean "pushed"?`}},
		{"not an image", []string{"push", "web"}, []string{`"web" is a service, not an image rule`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dw.ferry(t, append([]string{"--project", dw.project}, tc.args...)...)
			r.wantCode(t, 2)
			r.wantStderr(t, tc.want...)
		})
	}

	// No rule with push = True, and no name: say what to do.
	dw.setRules(t, `service(name = "web", image = "app-image")`)
	r = dw.run(t, "push")
	r.wantCode(t, 2)
	r.wantStderr(t, "no image rule has push = True", "ferry push app-image")

	// A registry that is gone: the daemon cannot reach it.
	dw.setRules(t, fmt.Sprintf(`image(name = "pushed", repo = %q, context = "app", deps = ["app-bin"], push = True)`, repo))
	reg.Close()
	r = dw.ferry(t, "--project", dw.project, "push")
	r.wantCode(t, 2)
	r.wantStderr(t, "the Docker daemon cannot reach the registry "+reg.Host())
}
