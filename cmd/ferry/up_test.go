package main

// End-to-end tests of ferry up, down, status and logs against the real
// Docker Engine. They build their own image FROM scratch (a static Go
// binary that a task compiles), never pull, and remove what they create.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
)

const upAppMain = `package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if os.Getenv("IGNORE_TERM") != "" {
		signal.Ignore(syscall.SIGTERM)
	}
	if s := os.Getenv("SLEEP"); s != "" {
		fmt.Println("sleeping")
		n, _ := strconv.Atoi(s)
		time.Sleep(time.Duration(n) * time.Second)
	}
	if code := os.Getenv("EXIT_CODE"); code != "" {
		fmt.Println("bye: exiting on purpose")
		n, _ := strconv.Atoi(code)
		os.Exit(n)
	}
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		fmt.Println("migrated")
		os.WriteFile("/data/migrated", []byte("yes"), 0o644)
		return
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s\n", os.Getenv("GREETING"))
	})
	fmt.Println("listening on :8080")
	http.ListenAndServe(":8080", nil)
}
`

// requireDocker skips the test when the Engine cannot be reached, except
// under CI, where that is a failure.
func requireDocker(t *testing.T) {
	t.Helper()
	out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the Docker Engine is unreachable under CI: %v\n%s", err, out)
		}
		t.Skipf("no Docker Engine: %v", err)
	}
}

// dockerWorkspace is a workspace whose ferry.star starts with a task that
// compiles the app and an image() rule that packs it FROM scratch, plus the
// rules given. Its project name is unique, and everything labelled with it
// is removed when the test ends.
type dockerWorkspace struct {
	*testWorkspace
	project string
	repo    string
}

func newDockerWorkspace(t *testing.T, rules string) *dockerWorkspace {
	t.Helper()
	requireDocker(t)
	b := make([]byte, 4)
	rand.Read(b)
	id := hex.EncodeToString(b)
	dw := &dockerWorkspace{project: "ferrytest-" + id, repo: "ferrytest/app-" + id}
	dw.testWorkspace = newWorkspace(t, map[string]string{
		"app/main.go":    upAppMain,
		"app/go.mod":     "module example.com/app\n\ngo 1.22\n",
		"app/Dockerfile": "FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n",
		"ferry.star":     dw.star(rules),
	})
	t.Cleanup(func() {
		exec.Command(ferryBin, "-C", dw.dir, "--project", dw.project, "down", "--volumes").Run()
		ids, _ := exec.Command("docker", "images", "-q", dw.repo).Output()
		for _, id := range strings.Fields(string(ids)) {
			exec.Command("docker", "rmi", "-f", id).Run()
		}
	})
	return dw
}

func (dw *dockerWorkspace) star(rules string) string {
	return fmt.Sprintf(`task(name = "app-bin", cmd = "CGO_ENABLED=0 go build -o app .", dir = "app", srcs = ["app/main.go", "app/go.mod"], outs = ["app/app"])
image(name = "app-image", repo = %q, context = "app", deps = ["app-bin"])
`, dw.repo) + rules
}

func (dw *dockerWorkspace) setRules(t *testing.T, rules string) {
	dw.write(t, "ferry.star", dw.star(rules))
}

func (dw *dockerWorkspace) run(t *testing.T, args ...string) *runResult {
	t.Helper()
	return dw.ferryJSON(t, append([]string{"--project", dw.project}, args...)...)
}

// containers lists the project's containers as "name state id", sorted.
func (dw *dockerWorkspace) containers(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label=ferry.project="+dw.project,
		"--format", "{{.Names}} {{.State}} {{.ID}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if lines[0] == "" {
		return nil
	}
	sort.Strings(lines)
	return lines
}

func containerIP(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[0]
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	var last error
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			last = err
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

func names(lines []string) string {
	var out []string
	for _, l := range lines {
		out = append(out, strings.Join(strings.Fields(l)[:2], " "))
	}
	return strings.Join(out, ", ")
}

// The service lifecycle: up, a no-op up, a changed service, scaling, a
// service removed from ferry.star, status, logs, and down.
func TestUpLifecycle(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "web", image = "app-image", env = {"GREETING": "one"}, replicas = 2, ports = ["8080"])
service(name = "side", image = "app-image")
`)
	r := dw.run(t, "up")
	r.wantCode(t, 0)
	first := dw.containers(t)
	want := fmt.Sprintf("%[1]s-side-1 running, %[1]s-web-1 running, %[1]s-web-2 running", dw.project)
	if names(first) != want {
		t.Fatalf("after up: %s\nwant %s\n%s", names(first), want, r)
	}
	for _, c := range []string{"web-1", "web-2"} {
		if got := httpGet(t, "http://"+containerIP(t, dw.project+"-"+c)+":8080/"); got != "hello one\n" {
			t.Errorf("%s answered %q", c, got)
		}
	}

	// Nothing changed: nothing runs, the same containers stay.
	r = dw.run(t, "up")
	r.wantCode(t, 0)
	wantSet(t, "rules run by a no-op up", r.done(), nil, r)
	if again := dw.containers(t); strings.Join(again, "|") != strings.Join(first, "|") {
		t.Errorf("a no-op up changed containers:\n%v\n%v", first, again)
	}

	// A changed service is replaced; the other is left alone.
	dw.setRules(t, `service(name = "web", image = "app-image", env = {"GREETING": "two"}, replicas = 2, ports = ["8080"])
service(name = "side", image = "app-image")
`)
	r = dw.run(t, "up")
	r.wantCode(t, 0)
	wantSet(t, "rules run", r.done(), []string{"web"}, r)
	changed := dw.containers(t)
	if changed[0] != first[0] || changed[1] == first[1] {
		t.Errorf("side should be untouched and web replaced:\n%v\n%v", first, changed)
	}
	if got := httpGet(t, "http://"+containerIP(t, dw.project+"-web-1")+":8080/"); got != "hello two\n" {
		t.Errorf("web answered %q after the change", got)
	}

	// Scaling down removes a replica and keeps the other.
	dw.setRules(t, `service(name = "web", image = "app-image", env = {"GREETING": "two"}, replicas = 1, ports = ["8080"])
`)
	r = dw.run(t, "up")
	r.wantCode(t, 0)
	scaled := dw.containers(t)
	if names(scaled) != dw.project+"-web-1 running" || scaled[0] != changed[1] {
		t.Errorf("after scaling down and removing side: %v (web-1 was %s)\n%s", scaled, changed[1], r)
	}
	if !strings.Contains(r.stderr, "side-1: it is no longer in ferry.star") {
		t.Errorf("the removal of side is not reported:\n%s", r.stderr)
	}

	st := dw.ferry(t, "--project", dw.project, "status")
	st.wantCode(t, 0)
	if !strings.Contains(st.stdout, "web") || !strings.Contains(st.stdout, "running") || !strings.Contains(st.stdout, "1/1") {
		t.Errorf("status:\n%s", st.stdout)
	}
	logs := dw.ferry(t, "--project", dw.project, "logs", "web")
	if !strings.Contains(logs.stdout, "web-1 | listening on :8080") {
		t.Errorf("logs:\n%s\n%s", logs.stdout, logs.stderr)
	}

	// A container that ferry does not own survives down, even with the label.
	other := dw.project + "-handmade"
	if out, err := exec.Command("docker", "create", "--name", other, "--label", "ferry.project="+dw.project, dw.repo+":"+strings.TrimPrefix(imageTag(t, dw.repo), dw.repo+":")).CombinedOutput(); err != nil {
		t.Fatalf("docker create: %v\n%s", err, out)
	}
	defer exec.Command("docker", "rm", "-f", other).Run()
	r = dw.run(t, "down")
	r.wantCode(t, 0)
	if left := dw.containers(t); names(left) != other+" created" {
		t.Errorf("after down: %v, want only the hand-made container", left)
	}
	if out, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "label=ferry.project="+dw.project).Output(); len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("network left after down: %s", out)
	}
}

func imageTag(t *testing.T, repo string) string {
	t.Helper()
	out, err := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repo).Output()
	if err != nil || len(strings.Fields(string(out))) == 0 {
		t.Fatalf("no image for %s: %v", repo, err)
	}
	return strings.Fields(string(out))[0]
}

// A job runs to completion once per definition; a service that depends on
// it starts after it; a named volume carries the job's work to the service.
func TestUpJob(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `job(name = "migrate", image = "app-image", command = ["migrate"], volumes = ["data:/data"])
service(name = "web", image = "app-image", depends_on = ["migrate"], volumes = ["data:/data"])
`)
	r := dw.run(t, "up")
	r.wantCode(t, 0)
	if out := r.output("migrate"); !strings.Contains(strings.Join(out, "\n"), "migrated") {
		t.Errorf("job output not streamed: %v\n%s", out, r)
	}
	r = dw.run(t, "up")
	r.wantCode(t, 0)
	wantSet(t, "rules run by a second up", r.done(), nil, r)
	st := dw.ferry(t, "--project", dw.project, "status")
	if !strings.Contains(st.stdout, "completed (exit 0)") {
		t.Errorf("status does not show the completed job:\n%s", st.stdout)
	}
}

// Bad input: each gets a clear error, and nothing is left half-made.
func TestUpErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port

	dw := newDockerWorkspace(t, "")
	for _, tc := range []struct {
		name, rules string
		want        []string
	}{
		{"image not present", `service(name = "web", image = "ferrytest/never-built:1")`,
			[]string{"ferrytest/never-built:1 is not in the Docker Engine", "cannot pull"}},
		{"exits at once", `service(name = "web", image = "app-image", env = {"EXIT_CODE": "3"}, restart = "no")`,
			[]string{"exited at once with code 3", "bye: exiting on purpose"}},
		{"port in use", fmt.Sprintf(`service(name = "web", image = "app-image", ports = ["%d:8080"])`, port),
			[]string{fmt.Sprintf("host port %d is already in use", port)}},
		{"job fails", `job(name = "m", image = "app-image", env = {"EXIT_CODE": "4"})`,
			[]string{"job m exited with code 4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dw.setRules(t, tc.rules)
			r := dw.run(t, "up")
			r.wantCode(t, 1)
			r.wantStderr(t, tc.want...)
			dw.run(t, "down").wantCode(t, 0)
		})
	}

	// A container with ferry's name that ferry does not own is never removed.
	clash := dw.project + "-web-1"
	if out, err := exec.Command("docker", "create", "--name", clash, imageTag(t, dw.repo)).CombinedOutput(); err != nil {
		t.Fatalf("docker create: %v\n%s", err, out)
	}
	defer exec.Command("docker", "rm", "-f", clash).Run()
	dw.setRules(t, `service(name = "web", image = "app-image")`)
	r := dw.run(t, "up")
	r.wantCode(t, 1)
	r.wantStderr(t, "a container named "+clash+" already exists and ferry does not own it")
	if out, err := exec.Command("docker", "inspect", "-f", "{{.Name}}", clash).Output(); err != nil || !strings.Contains(string(out), clash) {
		t.Errorf("the clashing container was touched: %v %s", err, out)
	}
}

// Networks and volumes declared external are used by their own names, never
// created or removed; a missing one is a clear error.
func TestUpExternal(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, "")
	net, vol := dw.project+"-shared", dw.project+"-keep"
	rules := fmt.Sprintf(`network(%q, external = True)
volume(%q, external = True)
service(name = "web", image = "app-image", networks = [%q], volumes = ["%s:/data", "own:/own"])
`, net, vol, net, vol)
	dw.setRules(t, rules)
	r := dw.run(t, "up")
	r.wantCode(t, 1)
	r.wantStderr(t, "external network "+net+" does not exist", "docker network create "+net)

	for _, args := range [][]string{{"network", "create", net}, {"volume", "create", vol}} {
		if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
	}
	defer exec.Command("docker", "network", "rm", net).Run()
	defer exec.Command("docker", "volume", "rm", "-f", vol).Run()
	r = dw.run(t, "up")
	r.wantCode(t, 0)
	out, err := exec.Command("docker", "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}{{range .Mounts}}{{.Name}} {{end}}", dw.project+"-web-1").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{net, dw.project + "_default", vol, dw.project + "_own"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("web-1 networks and mounts %q lack %s", out, want)
		}
	}
	dw.run(t, "down", "--volumes").wantCode(t, 0)
	for _, args := range [][]string{{"network", "inspect", net}, {"volume", "inspect", vol}} {
		if err := exec.Command("docker", args...).Run(); err != nil {
			t.Errorf("down removed the external %s", args[0])
		}
	}
	if err := exec.Command("docker", "volume", "inspect", dw.project+"_own").Run(); err == nil {
		t.Error("down --volumes left the project's own volume")
	}
}

// Ctrl-C during up stops the job it was running and leaves nothing behind;
// the next up converges.
func TestUpInterrupted(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `job(name = "slow", image = "app-image", command = ["migrate"], env = {"SLEEP": "60"})`)
	p := dw.start(t, "--project", dw.project, "up")
	eventually(t, "the job to start", func() bool { return strings.Contains(p.stderr.String(), "sleeping") })
	p.cmd.Process.Signal(os.Interrupt)
	r := p.wait(t)
	r.wantCode(t, 130)
	if left := dw.containers(t); len(left) != 0 {
		t.Errorf("containers left after Ctrl-C: %v", left)
	}
	dw.setRules(t, `job(name = "slow", image = "app-image", command = ["migrate"], env = {"SLEEP": "0"})
service(name = "web", image = "app-image", depends_on = ["slow"])
`)
	dw.run(t, "up").wantCode(t, 0)
	if got := names(dw.containers(t)); got != fmt.Sprintf("%[1]s-slow-job exited, %[1]s-web-1 running", dw.project) {
		t.Errorf("after the next up: %s", got)
	}
}

// An exec health check becomes the container's Docker health check, and
// ferry status shows the health.
func TestUpHealthExec(t *testing.T) {
	t.Parallel()
	dw := newDockerWorkspace(t, `service(name = "web", image = "app-image", health = health.exec(["/app", "healthcheck"], interval = "1s", timeout = "1s", retries = 2))`)
	dw.run(t, "up").wantCode(t, 0)
	out, err := exec.Command("docker", "inspect", "-f", "{{json .Config.Healthcheck}}", dw.project+"-web-1").Output()
	if err != nil || !strings.Contains(string(out), `"Test":["CMD","/app","healthcheck"]`) || !strings.Contains(string(out), `"Retries":2`) {
		t.Fatalf("health check in Docker: %s (%v)", out, err)
	}
	eventually(t, "web to be healthy in ferry status", func() bool {
		st := dw.ferry(t, "--project", dw.project, "status")
		return strings.Contains(st.stdout, "healthy")
	})
}

// TestUpNetworkMode checks that network_mode reaches the Engine: a service
// on the host's network stack (joining no project network) and a job with
// no network. (Privileged is checked at container creation in
// builtins/docker: this Engine may lack the capabilities to start one.)
func TestUpNetworkMode(t *testing.T) {
	t.Parallel()
	// The host-network service sleeps rather than listen, so it holds no
	// port of the host.
	rules := `service(name = "hostnet", image = "app-image", network_mode = "host", env = {"SLEEP": "3600"})
job(name = "isolated", image = "app-image", network_mode = "none", env = {"EXIT_CODE": "0"})
service(name = "plain", image = "app-image", network_mode = "bridge")
`
	dw := newDockerWorkspace(t, rules)
	r := dw.run(t, "up")
	r.wantCode(t, 0)
	inspect := func(name string) string {
		t.Helper()
		out, err := exec.Command("docker", "inspect", "-f", "{{.HostConfig.Privileged}} {{.HostConfig.NetworkMode}} {{range $n, $e := .NetworkSettings.Networks}}{{$n}}{{$e.Aliases}}{{end}}", dw.project+"-"+name).CombinedOutput()
		if err != nil {
			t.Fatalf("docker inspect %s: %v: %s", name, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for name, want := range map[string]string{
		"hostnet-1":    "false host host[]",
		"isolated-job": "false none none[]",
	} {
		if got := inspect(name); got != want {
			t.Errorf("%s: got %q, want %q\n%s", name, got, want, r)
		}
	}
	if got := inspect("plain-1"); !strings.HasPrefix(got, "false "+dw.project+"_default "+dw.project+"_default[") || !strings.Contains(got, "plain") {
		t.Errorf("plain-1: got %q, want the project network with the alias plain", got)
	}

	// Unchanged: nothing is replaced. Moving plain to the host network
	// replaces it.
	r = dw.run(t, "up")
	r.wantCode(t, 0)
	wantSet(t, "rules run by a no-op up", r.done(), nil, r)
	dw.setRules(t, strings.Replace(rules, `network_mode = "bridge"`, `network_mode = "host", env = {"SLEEP": "3600"}`, 1))
	r = dw.run(t, "up")
	r.wantCode(t, 0)
	wantSet(t, "rules run after changing network_mode", r.done(), []string{"plain"}, r)
	if got := inspect("plain-1"); got != "false host host[]" {
		t.Errorf("plain-1 after network_mode = host: got %q", got)
	}
}
