package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine/startest"
)

// Every example is a complete workspace: it runs from a fresh copy, and a
// second run finds everything up to date. An example that declares services
// is brought up on the Docker Engine instead, checked over HTTP, brought up
// again (which must change nothing), and taken down.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob("../../examples/*/ferry.star")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range dirs {
		src := filepath.Dir(f)
		t.Run(filepath.Base(src), func(t *testing.T) {
			// Examples run side by side; the test as a whole runs alone, as
			// TestLiveUpdateExample builds and removes an example's images.
			t.Parallel()
			star, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
			// A copy of an example that was run in place carries its state
			// and outputs: start from a fresh workspace, as a user would.
			os.RemoveAll(filepath.Join(dir, ".ferry"))
			// Its Starlark tests pass (docs/testing.md).
			if tests, _ := startest.Find(dir, nil); len(tests) > 0 {
				var out strings.Builder
				if code := run(context.Background(), []string{"-C", dir, "test"}, &out, &out); code != 0 {
					t.Fatalf("ferry test exited %d:\n%s", code, out.String())
				}
			}
			// An example that deploys to a cluster is checked without one.
			if strings.Contains(string(star), `target = "kubernetes"`) {
				testClusterExample(t, dir)
				return
			}
			if strings.Contains(string(star), "service(") {
				var setup exampleSetup
				if f, ok := exampleSetups[filepath.Base(src)]; ok {
					setup = f(t)
				}
				testServiceExample(t, filepath.Base(src), dir, string(star), setup)
				return
			}
			var logs strings.Builder
			if code := run(context.Background(), []string{"-C", dir, "run"}, io.Discard, &logs); code != 0 {
				t.Fatalf("ferry run exited %d:\n%s", code, logs.String())
			}
			st, err := os.ReadFile(filepath.Join(dir, ".ferry", "state"))
			if err != nil || len(st) == 0 {
				t.Fatalf("no state written: %v", err)
			}
			var plan strings.Builder
			if code := run(context.Background(), []string{"-C", dir, "plan"}, &plan, io.Discard); code != 0 {
				t.Fatalf("ferry plan exited %d", code)
			}
			if !strings.Contains(plan.String(), "\n0 of ") {
				t.Errorf("after a run, plan still has work:\n%s", plan.String())
			}
			// Its pipeline passes: the security checks, then its stages.
			if strings.Contains(string(star), "pipeline(") {
				var ci strings.Builder
				if code := run(context.Background(), []string{"-C", dir, "ci", "--no-history"}, io.Discard, &ci); code != 0 {
					t.Fatalf("ferry ci exited %d:\n%s", code, ci.String())
				}
			}
		})
	}
}

// An exampleSetup is what an example needs from the test beyond a copy
// of its folder.
type exampleSetup struct {
	// flags are config flags that every ferry command on the example gets
	// (after "--").
	flags []string
	// repos are repositories of images the example makes that its
	// ferry.star does not spell out as repo = "...": the test removes
	// them, as it does those.
	repos []string
}

// exampleSetups return the setup of an example, by example folder.
var exampleSetups = map[string]func(t *testing.T) exampleSetup{
	// stack publishes its registry on a fixed loopback port by default; a
	// free one keeps a run of the test apart from a user's run of the
	// example, or another test run, on the same Engine.
	"stack": func(t *testing.T) exampleSetup {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return exampleSetup{
			flags: []string{fmt.Sprintf("--registry_port=%d", port)},
			repos: []string{fmt.Sprintf("127.0.0.1:%d/stack/db", port), fmt.Sprintf("localhost:%d/stack/db", port)},
		}
	},
}

// exampleChecks check what the services of an example answer, by example
// folder; urls maps each service that publishes a TCP port to the address
// of its first published port, as "http://127.0.0.1:PORT", and status is
// what `ferry status` says of the services. Examples without an entry get
// checkAnswers.
var exampleChecks = map[string]func(t *testing.T, urls map[string]string, status []deploy.ServiceStatus){
	// The api counts hits in the store, which it reaches by its service
	// name: a count that grows proves service-to-service DNS.
	"webapp": func(t *testing.T, urls map[string]string, _ []deploy.ServiceStatus) { checkCount(t, urls) },
	// db runs the image it pulled from the registry that the example's
	// setup started and pushed to; the api counts visits in it.
	"stack": func(t *testing.T, urls map[string]string, status []deploy.ServiceStatus) {
		for _, s := range status {
			if s.Name != "db" {
				continue
			}
			if !strings.HasPrefix(s.Image, "localhost:") || !strings.Contains(s.Digest, "/stack/db@sha256:") {
				t.Errorf("db runs %s (digest %q), want the image pulled from the example's registry, with its digest", s.Image, s.Digest)
			}
			if s.Health != "healthy" {
				t.Errorf("db is %q, want healthy", s.Health)
			}
		}
		checkCount(t, urls)
	},
	// liveupdate serves its greeting (watch_live_test.go live-updates it).
	"liveupdate": func(t *testing.T, urls map[string]string, _ []deploy.ServiceStatus) {
		site, ok := urls["site"]
		if !ok {
			t.Fatalf("the site publishes no port: %v", urls)
		}
		if got := httpGet(t, site+"/greeting"); got != "hello from ferry\n" {
			t.Errorf("GET /greeting: %q", got)
		}
	},
}

// checkCount checks that the api answers GET / with a message and a count
// that grows by one per request.
func checkCount(t *testing.T, urls map[string]string) {
	api, ok := urls["api"]
	if !ok {
		t.Fatalf("the api publishes no port: %v", urls)
	}
	type answer struct {
		Message string `json:"message"`
		Count   *int   `json:"count"`
	}
	var first, second answer
	getJSON(t, api+"/", &first)
	getJSON(t, api+"/", &second)
	if first.Message == "" || first.Count == nil || second.Count == nil {
		t.Fatalf("the api answered %+v, want a message and a count", first)
	}
	if *second.Count != *first.Count+1 {
		t.Errorf("the count went from %d to %d, want one more per request", *first.Count, *second.Count)
	}
}

// checkAnswers checks that every published service answers HTTP.
func checkAnswers(t *testing.T, urls map[string]string) {
	for name, url := range urls {
		if code := httpStatus(t, url+"/"); code >= 500 {
			t.Errorf("%s answered %s/ with %d", name, url, code)
		}
	}
}

// testServiceExample brings up the example in dir under a project of its
// own, checks it, brings it up again, and takes it down, removing the
// images it built.
func testServiceExample(t *testing.T, name, dir, star string, setup exampleSetup) {
	requireDocker(t)
	// flagged appends the example's config flags to a command.
	flagged := func(args ...string) []string {
		if len(setup.flags) == 0 {
			return args
		}
		return append(append(args, "--"), setup.flags...)
	}
	b := make([]byte, 4)
	rand.Read(b)
	project := "ferryex-" + hex.EncodeToString(b)
	repos := append(exampleRepos(star), setup.repos...)
	before := map[string]bool{}
	for _, ref := range imageRefs(t, repos) {
		before[ref] = true
	}
	t.Cleanup(func() {
		// t.Context() is done by now; give down a context of its own.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var logs strings.Builder
		if code := run(ctx, flagged("-C", dir, "--project", project, "down", "--volumes"), io.Discard, &logs); code != 0 {
			t.Errorf("ferry down exited %d:\n%s", code, logs.String())
		}
		// Only the tags this test made: the same repositories may hold
		// images of a user's own run of the example.
		for _, ref := range imageRefs(t, repos) {
			if !before[ref] {
				if out, err := exec.Command("docker", "rmi", "-f", ref).CombinedOutput(); err != nil {
					t.Errorf("docker rmi -f %s: %v\n%s", ref, err, out)
				}
			}
		}
	})

	up := ferryInProcess(t, flagged("-C", dir, "--project", project, "up")...)
	up.wantCode(t, 0)
	if len(up.done()) == 0 {
		t.Fatalf("up ran nothing\n%s", up)
	}
	status := projectStatus(t, dir, project, setup.flags...)
	if len(status) == 0 {
		t.Fatalf("nothing runs after up\n%s", up)
	}
	urls := map[string]string{}
	for _, s := range status {
		switch {
		case s.State == "running" && s.Replicas == s.Desired:
		case strings.HasPrefix(s.State, "completed (exit 0)"):
		default:
			t.Errorf("after up, %s is %s with %d/%d replicas", s.Name, s.State, s.Replicas, s.Desired)
		}
		if url := publishedURL(s.Ports); url != "" {
			urls[s.Name] = url
		}
	}
	if check, ok := exampleChecks[name]; ok {
		check(t, urls, status)
	} else {
		checkAnswers(t, urls)
	}

	var logs strings.Builder
	if code := run(t.Context(), []string{"-C", dir, "--project", project, "logs"}, &logs, io.Discard); code != 0 {
		t.Errorf("ferry logs exited %d", code)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if line != "" && !logPrefix.MatchString(line) {
			t.Errorf("ferry logs: line not prefixed with its service and replica: %q", line)
		}
	}

	// A second up finds everything current: it runs nothing and leaves
	// every container as it was.
	containers := (&dockerWorkspace{project: project}).containers(t)
	again := ferryInProcess(t, flagged("-C", dir, "--project", project, "up")...)
	again.wantCode(t, 0)
	wantSet(t, "rules run by a second up", again.done(), nil, again)
	if after := (&dockerWorkspace{project: project}).containers(t); !slices.Equal(after, containers) {
		t.Errorf("a second up changed the containers:\nbefore %v\nafter  %v", containers, after)
	}
	// Named, the services and jobs are planned too, with their deps.
	args := []string{"-C", dir, "--project", project, "plan"}
	for _, s := range status {
		args = append(args, s.Name)
	}
	args = flagged(args...)
	var plan strings.Builder
	if code := run(t.Context(), args, &plan, io.Discard); code != 0 || !strings.Contains(plan.String(), "\n0 of ") {
		t.Errorf("after up, plan still has work (exit %d):\n%s", code, plan.String())
	}
}

// testClusterExample checks an example that deploys to a Kubernetes
// environment, k8s, with no cluster: it plans, it passes the security
// checks (the Kubernetes rules among them), and it renders the objects
// that `up` would apply, without reading a secret's value.
func testClusterExample(t *testing.T, dir string) {
	ferry := func(args ...string) string {
		t.Helper()
		var out, logs strings.Builder
		if code := run(t.Context(), append([]string{"-C", dir}, args...), &out, &logs); code != 0 {
			t.Fatalf("ferry %s exited %d:\n%s%s", strings.Join(args, " "), code, out.String(), logs.String())
		}
		return out.String()
	}
	if plan := ferry("plan"); !strings.Contains(plan, "would run") {
		t.Errorf("ferry plan planned nothing:\n%s", plan)
	}
	for _, env := range []string{"", "k8s"} {
		if lint := ferry("--env", env, "lint", "--no-history"); !strings.Contains(lint, "0 errors, 0 warnings, 0 info") {
			t.Errorf("ferry --env %q lint found problems:\n%s", env, lint)
		}
	}
	out := ferry("--env", "k8s", "render")
	for _, want := range []string{"# deployment-hello.yaml\n", "# service-hello.yaml\n", "# secret-hello-secrets.yaml\n",
		"namespace: ferry-example\n", "runAsNonRoot: true\n", "memory: 32Mi\n", "path: /healthz\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("render printed no %q:\n%s", want, out)
		}
	}
	if again := ferry("--env", "k8s", "render"); again != out {
		t.Errorf("two renders differ:\n%s\n---\n%s", out, again)
	}
	// The token is made on first use, which render never is.
	if _, err := os.Stat(filepath.Join(dir, ".hello-token")); !os.IsNotExist(err) {
		t.Errorf("render read the secret (it made .hello-token): %v", err)
	}
}

// ferryInProcess runs ferry in this process, with JSON logs for runResult.
func ferryInProcess(t *testing.T, args ...string) *runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	args = append(slices.Clone(jsonArgs), args...)
	var stdout, stderr strings.Builder
	r := &runResult{args: args}
	r.code = run(ctx, args, &stdout, &stderr)
	r.stdout, r.stderr = stdout.String(), stderr.String()
	r.parseEvents()
	return r
}

// projectStatus is `ferry status --json`, with the config flags given.
func projectStatus(t *testing.T, dir, project string, flags ...string) []deploy.ServiceStatus {
	t.Helper()
	args := []string{"-C", dir, "--project", project, "status", "--json"}
	if len(flags) > 0 {
		args = append(append(args, "--"), flags...)
	}
	var out, logs strings.Builder
	if code := run(t.Context(), args, &out, &logs); code != 0 {
		t.Fatalf("ferry status --json exited %d:\n%s", code, logs.String())
	}
	var list []deploy.ServiceStatus
	if err := json.Unmarshal([]byte(out.String()), &list); err != nil {
		t.Fatalf("ferry status --json: %v\n%s", err, out.String())
	}
	return list
}

// publishedURL returns the HTTP address of the first TCP port in ports, as
// the Engine lists them ("0.0.0.0:32768->8080/tcp"), or "".
func publishedURL(ports []string) string {
	for _, p := range ports {
		host, _, ok := strings.Cut(p, "->")
		if !ok || !strings.HasSuffix(p, "/tcp") {
			continue
		}
		i := strings.LastIndexByte(host, ':')
		if i < 0 {
			continue
		}
		ip, port := host[:i], host[i+1:]
		switch ip {
		case "", "0.0.0.0", "::", "[::]":
			ip = "127.0.0.1"
		}
		return "http://" + net.JoinHostPort(ip, port)
	}
	return ""
}

// logPrefix starts each line of `ferry logs`: "SERVICE-REPLICA | ".
var logPrefix = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*-\d+ \| `)

var repoArg = regexp.MustCompile(`\brepo\s*=\s*"([^"]+)"`)

// exampleRepos returns the repositories that the image() rules of a
// ferry.star tag their images in.
func exampleRepos(star string) []string {
	var repos []string
	for _, m := range repoArg.FindAllStringSubmatch(star, -1) {
		if !strings.Contains(m[1], "%") { // formatted: see exampleSetup.repos
			repos = append(repos, m[1])
		}
	}
	return repos
}

// imageRefs lists the "repo:tag" references of images in repos.
func imageRefs(t *testing.T, repos []string) []string {
	t.Helper()
	var refs []string
	for _, repo := range repos {
		out, err := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}}", repo).Output()
		if err != nil {
			t.Fatalf("docker images %s: %v", repo, err)
		}
		refs = append(refs, strings.Fields(string(out))...)
	}
	return refs
}

// getJSON decodes the answer of a GET, retrying while the service is not
// answering yet (or answers 502 while what it calls starts), for up to
// waitLimit.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			last = fmt.Sprintf("%s: %s", resp.Status, body)
			if resp.StatusCode >= 500 {
				continue
			}
			break
		}
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", url, err, body)
		}
		return
	}
	t.Fatalf("GET %s: %s", url, last)
}

// httpStatus returns the status code of a GET, retrying while the service
// is not answering yet.
func httpStatus(t *testing.T, url string) int {
	t.Helper()
	var last error
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	t.Fatalf("GET %s: %v", url, last)
	return 0
}
