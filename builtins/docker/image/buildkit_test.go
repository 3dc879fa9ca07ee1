package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/builtins/docker/dockertest"
	"github.com/ferryhq/ferry/engine"
)

// toolSrc is a static program for RUN steps in images without a shell
// (RUN in exec form: ["/tool", ...]):
//
//	count DIR       increments DIR/count and prints "runs: N" (a cache mount)
//	show FILE OUT   prints FILE's contents and writes their length to OUT
//	env VAR OUT     writes $VAR to OUT
//	copy FROM TO    copies a file
//	ssh             asks the agent at $SSH_AUTH_SOCK how many keys it has
//	compile SRC CACHE OUT
//	                "compiles" each file of SRC (25ms) unless CACHE holds
//	                its result, and writes OUT
const toolSrc = `package main

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func compile(src, cache, out string) error {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	names, err := filepath.Glob(src + "/*")
	if err != nil {
		return err
	}
	var sums []string
	built := 0
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return err
		}
		sum := fmt.Sprintf("%x", sha256.Sum256(b))
		if _, err := os.Stat(filepath.Join(cache, sum)); err != nil {
			time.Sleep(25 * time.Millisecond)
			if err := os.WriteFile(filepath.Join(cache, sum), []byte(sum), 0o644); err != nil {
				return err
			}
			built++
		}
		sums = append(sums, sum)
	}
	fmt.Printf("compiled %d of %d\n", built, len(names))
	return os.WriteFile(out, []byte(strings.Join(sums, "\n")), 0o755)
}

func main() {
	a := os.Args[1:]
	var err error
	switch a[0] {
	case "count":
		b, _ := os.ReadFile(a[1] + "/count")
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		n++
		fmt.Printf("runs: %d\n", n)
		err = os.WriteFile(a[1]+"/count", []byte(strconv.Itoa(n)), 0o644)
	case "show":
		var b []byte
		if b, err = os.ReadFile(a[1]); err == nil {
			fmt.Printf("the secret is %s\n", b)
			err = os.WriteFile(a[2], []byte(fmt.Sprintf("length=%d", len(b))), 0o644)
		}
	case "env":
		err = os.WriteFile(a[2], []byte(os.Getenv(a[1])), 0o644)
	case "compile":
		err = compile(a[1], a[2], a[3])
	case "ssh":
		var conn net.Conn
		if conn, err = net.Dial("unix", os.Getenv("SSH_AUTH_SOCK")); err == nil {
			conn.Write([]byte{0, 0, 0, 1, 11}) // SSH_AGENTC_REQUEST_IDENTITIES
			var answer [9]byte
			if _, err = io.ReadFull(conn, answer[:]); err == nil {
				fmt.Printf("agent answer %d, keys: %d\n", answer[4], binary.BigEndian.Uint32(answer[5:]))
			}
		}
	case "copy":
		var b []byte
		if b, err = os.ReadFile(a[1]); err == nil {
			err = os.WriteFile(a[2], b, 0o644)
		}
	}
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
`

// toolWorkspace is a workspace whose rule "base" builds REPO-base: FROM
// scratch with /tool, for the Dockerfiles of files to build FROM.
func toolWorkspace(t testing.TB, docker *dockerapi.Client, star string, files map[string]string) *testWorkspace {
	t.Helper()
	files["ferry.star"] = `image(name = "base", repo = "REPO-base", context = "base")` + "\n" + star
	files["base/Dockerfile"] = "FROM scratch\nCOPY tool /tool\n"
	w := newWorkspace(t, docker, files)
	w.CopyFile(dockertest.StaticBinary(t, "tool", toolSrc), "base/tool")
	return w
}

// imageFiles returns the files of the image ref's layers (docker save),
// by path, and the whole saved archive.
func imageFiles(t testing.TB, ref string) (map[string]string, []byte) {
	t.Helper()
	saved, err := exec.Command("docker", "save", ref).Output()
	if err != nil {
		t.Fatalf("docker save %s: %v", ref, err)
	}
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(saved))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if path.Base(h.Name) != "layer.tar" {
			continue
		}
		lr := tar.NewReader(tr)
		for {
			lh, err := lr.Next()
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(lr)
			files["/"+strings.TrimPrefix(lh.Name, "./")] = string(b)
		}
	}
	return files, saved
}

func TestBuildKitCacheMount(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := toolWorkspace(t, docker, `image(name = "app", repo = "REPO", context = "app")`, map[string]string{
		"app/Dockerfile": "FROM REPO-base\nCOPY src.txt /src.txt\nRUN --mount=type=cache,target=/cache,id=REPO [\"/tool\", \"count\", \"/cache\"]\n",
		"app/src.txt":    "v1\n",
	})
	r := w.Run(context.Background())
	if r.Err != nil {
		t.Fatalf("first build: %v: %s", r.Err, r.Failure("app"))
	}
	if out := r.Output("app"); !strings.Contains(out, "runs: 1") {
		t.Fatalf("first build output lacks runs: 1:\n%s", out)
	}
	w.Write("app/src.txt", "v2\n")
	r = w.Run(context.Background())
	if r.Err != nil {
		t.Fatalf("second build: %v: %s", r.Err, r.Failure("app"))
	}
	if out := r.Output("app"); !strings.Contains(out, "runs: 2") {
		t.Errorf("the second build did not find the cache the first left:\n%s", out)
	}
	files, _ := imageFiles(t, w.Repo+":"+w.StateKey("app").Short())
	if _, ok := files["/cache/count"]; ok {
		t.Error("the cache mount's contents are in the image")
	}
}

func TestBuildKitSecret(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	const value = "npm-token-5f3c9a1e7b"
	w := toolWorkspace(t, docker, `
npmrc = secret("npmrc", file = "npmrc.txt")
image(name = "app", repo = "REPO", context = "app", secrets = {"npmrc": npmrc})
`, map[string]string{
		"npmrc.txt":      value,
		"app/Dockerfile": "FROM REPO-base\nRUN --mount=type=secret,id=npmrc [\"/tool\", \"show\", \"/run/secrets/npmrc\", \"/seen\"]\n",
	})
	r := w.Run(context.Background())
	if r.Err != nil {
		t.Fatalf("build: %v: %s", r.Err, r.Failure("app"))
	}
	out := r.Output("app")
	if !strings.Contains(out, "the secret is ") {
		t.Fatalf("the step's output is missing:\n%s", out)
	}
	noValue(t, r, value)
	ref := w.Repo + ":" + w.StateKey("app").Short()
	files, saved := imageFiles(t, ref)
	if files["/seen"] != "length=20" {
		t.Errorf("the step did not read the secret: /seen = %q", files["/seen"])
	}
	if bytes.Contains(saved, []byte(value)) {
		t.Error("the secret's value is in the saved image (layers, config or history)")
	}
	history, err := exec.Command("docker", "history", "--no-trunc", ref).CombinedOutput()
	if err != nil {
		t.Fatalf("docker history: %v: %s", err, history)
	}
	if !strings.Contains(string(history), "/run/secrets/npmrc") || strings.Contains(string(history), value) {
		t.Errorf("history:\n%s", history)
	}

	// A new value rebuilds nothing: it is not in the key.
	w.Write("npmrc.txt", value+"-rotated")
	if ran, _ := w.MustRun(); len(ran) != 0 {
		t.Errorf("a new secret value rebuilt %v", ran)
	}
}

func TestBuildKitSecretErrors(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	for _, tc := range []struct{ name, star, want string }{
		{"no value", `image(name = "app", repo = "REPO", context = "app", secrets = {"npmrc": secret("npmrc", env = "FERRY_TEST_UNSET_VAR")})`,
			`build secret "npmrc": secret "npmrc" (from environment variable FERRY_TEST_UNSET_VAR, declared at ferry.star:2:`},
		{"optional without value", `image(name = "app", repo = "REPO", context = "app", secrets = {"npmrc": secret("npmrc", env = "FERRY_TEST_UNSET_VAR", required = False)})`,
			`build secret "npmrc" has no value (image declared at ferry.star:2:6)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := toolWorkspace(t, docker, tc.star, map[string]string{
				"app/Dockerfile": "FROM REPO-base\nRUN --mount=type=secret,id=npmrc [\"/tool\", \"show\", \"/run/secrets/npmrc\", \"/seen\"]\n",
			})
			r := w.Run(context.Background(), "app")
			if msg := r.Failure("app"); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q lacks %q", msg, tc.want)
			}
		})
	}
}

func TestBuildKitTargetBuildArgsAndBind(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := toolWorkspace(t, docker, `
image(name = "first", repo = "REPO-first", context = "app", target = "first", build_args = {"GREETING": "hello"}, deps = ["base"])
image(name = "last", repo = "REPO-last", context = "app", build_args = {"GREETING": "hello"}, deps = ["base"])
`, map[string]string{
		"app/Dockerfile": `FROM REPO-base AS first
ARG GREETING=unset
RUN ["/tool", "env", "GREETING", "/greeting"]
RUN --mount=type=bind,source=data,target=/data ["/tool", "copy", "/data/in.txt", "/copied"]
COPY --chmod=700 data/in.txt /private.txt

FROM first AS second
RUN ["/tool", "env", "GREETING", "/second"]
`,
		"app/data/in.txt": "bound\n",
	})
	w.MustRun()
	first, _ := imageFiles(t, w.Repo+"-first:"+w.StateKey("first").Short())
	last, _ := imageFiles(t, w.Repo+"-last:"+w.StateKey("last").Short())
	if first["/greeting"] != "hello" || first["/copied"] != "bound\n" {
		t.Errorf("first stage: /greeting = %q, /copied = %q", first["/greeting"], first["/copied"])
	}
	if _, ok := first["/second"]; ok {
		t.Error("target = \"first\" built the second stage too")
	}
	if last["/second"] != "hello" {
		t.Errorf("last stage: /second = %q", last["/second"])
	}
	if _, ok := first["/data/in.txt"]; ok {
		t.Error("the bind mount's file is in the image")
	}
}

func TestBuildKitClassic(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := toolWorkspace(t, docker, `
image(name = "classic", repo = "REPO-classic", context = "plain", builder = "classic", deps = ["base"])
image(name = "mount", repo = "REPO-mount", context = "mount", builder = "classic", deps = ["base"])
`, map[string]string{
		"plain/Dockerfile": "FROM REPO-base\nCOPY in.txt /in.txt\n",
		"plain/in.txt":     "x\n",
		"mount/Dockerfile": "FROM REPO-base\n\nRUN --mount=type=cache,target=/c [\"/tool\", \"count\", \"/c\"]\n",
	})
	r := w.Run(context.Background(), "classic", "mount")
	if out := r.Output("classic"); !strings.Contains(out, "Step 2/3 : COPY in.txt /in.txt") {
		t.Errorf("builder = \"classic\" did not build with the classic builder:\n%s", out)
	}
	want := `image "mount": mount/Dockerfile:3: RUN --mount needs BuildKit, and builder = "classic" is set; remove builder = "classic"`
	if msg := r.Failure("mount"); !strings.HasPrefix(msg, want) {
		t.Errorf("error %q, want %q…", msg, want)
	}
}

// classicEngine is an Engine that has no BuildKit, as far as ferry asks.
type classicEngine struct{ *countingEngine }

func (classicEngine) Builder(context.Context) (dockerapi.BuilderInfo, error) {
	return dockerapi.BuilderInfo{APIVersion: "1.38"}, nil
}

func TestBuildKitFallbackToClassic(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := toolWorkspace(t, docker, `
image(name = "plain", repo = "REPO-plain", context = "plain", deps = ["base"])
image(name = "mount", repo = "REPO-mount", context = "mount", deps = ["base"])
image(name = "forced", repo = "REPO-forced", context = "plain", builder = "buildkit", deps = ["base"])
`, map[string]string{
		"plain/Dockerfile": "FROM REPO-base\nCOPY in.txt /in.txt\n",
		"plain/in.txt":     "x\n",
		"mount/Dockerfile": "FROM REPO-base\nRUN --mount=type=cache,target=/c [\"/tool\", \"count\", \"/c\"]\n",
	})
	w.eng = &countingEngine{Client: classicEngine{w.eng}}
	r := w.Run(context.Background(), "plain")
	if out := r.Output("plain"); !strings.Contains(out, "Step 2/3 : COPY in.txt /in.txt") {
		t.Errorf("an Engine without BuildKit did not build with the classic builder: %s\n%s", r.Failure("plain"), out)
	}
	r = w.Run(context.Background(), "mount", "forced")
	if msg := r.Failure("mount"); !strings.Contains(msg, "mount/Dockerfile:2: RUN --mount needs BuildKit, and the Docker Engine builds with the classic builder only") {
		t.Errorf("mount: %q", msg)
	}
	if msg := r.Failure("forced"); !strings.Contains(msg, `builder = "buildkit" (image declared at ferry.star:5:6), but the Docker Engine (API 1.38) builds with the classic builder only`) {
		t.Errorf("forced: %q", msg)
	}
}

func TestBuildKitFrontendErrors(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	for _, tc := range []struct{ name, dockerfile, want string }{
		{"heredoc", "FROM REPO-base\n\nCOPY <<EOF /x\nhi\nEOF\n", `app/Dockerfile:3: a heredoc (COPY <<EOF) needs a newer Dockerfile frontend than the one built into this Docker Engine`},
		{"syntax", "# syntax=ferrytest/no-such-frontend:1\nFROM REPO-base\n", `app/Dockerfile:1: the "# syntax=ferrytest/no-such-frontend:1" line asks for a Dockerfile frontend image, and BuildKit could not get it`},
		// A registry that is down: nothing listens on port 1.
		{"syntax unreachable", "# syntax=127.0.0.1:1/ferrytest/dockerfile:1.7\nFROM REPO-base\n", `app/Dockerfile:1: the "# syntax=127.0.0.1:1/ferrytest/dockerfile:1.7" line asks for a Dockerfile frontend image, and BuildKit could not get it: `},
		{"copy link", "FROM REPO-base\nCOPY --link Dockerfile /x\n", `app/Dockerfile:2: the Engine's Dockerfile frontend refused it: Unknown flag: link; the frontend built into this Engine is older than the flag`},
		{"failing step", "FROM REPO-base\nCOPY missing.txt /x\n", `build failed at app/Dockerfile:2 (COPY missing.txt /x)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := toolWorkspace(t, docker, `image(name = "app", repo = "REPO", context = "app", deps = ["base"])`, map[string]string{"app/Dockerfile": tc.dockerfile})
			b, err := docker.Builder(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if (tc.name == "heredoc" || tc.name == "copy link") && b.Heredocs {
				t.Skip("this Engine's frontend reads heredocs")
			}
			r := w.Run(context.Background())
			if !errors.Is(r.Err, engine.ErrFailed) || !strings.Contains(r.Failure("app"), tc.want) {
				t.Errorf("run: %v: %q, want %q", r.Err, r.Failure("app"), tc.want)
			}
			if strings.HasPrefix(tc.name, "syntax") && !strings.Contains(r.Failure("app"), "or mirror it into a registry you reach and pin it there") {
				t.Errorf("run: %q does not say how to pin or mirror the frontend", r.Failure("app"))
			}
			if ran := r.Sum.Ran; slices.Contains(ran, "app") {
				t.Errorf("app ran")
			}
		})
	}
}

func TestContextFSWalkOrder(t *testing.T) {
	names := []string{"a.txt", "a", "a/b", "a/b/c", "a-b", "Dockerfile", "b"}
	slices.SortFunc(names, comparePaths)
	if want := []string{"Dockerfile", "a", "a/b", "a/b/c", "a-b", "a.txt", "b"}; !slices.Equal(names, want) {
		t.Errorf("order %v, want %v", names, want)
	}
}

func TestBuildKitSSH(t *testing.T) {
	docker := dockertest.NeedDocker(t)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(key, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	w := toolWorkspace(t, docker, fmt.Sprintf(`
image(name = "app", repo = "REPO", context = "app", ssh = ["default=%s"], deps = ["base"])
image(name = "agent", repo = "REPO-agent", context = "app", ssh = ["default"], deps = ["base"])
`, key), map[string]string{
		"app/Dockerfile": "FROM REPO-base\nRUN --mount=type=ssh [\"/tool\", \"ssh\"]\n",
	})
	r := w.Run(context.Background(), "app")
	if r.Err != nil {
		t.Fatalf("build: %v: %s", r.Err, r.Failure("app"))
	}
	if out := r.Output("app"); !strings.Contains(out, "agent answer 12, keys: 1") {
		t.Errorf("the step did not reach the forwarded key:\n%s", out)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	r = w.Run(context.Background(), "agent")
	if msg := r.Failure("agent"); !strings.Contains(msg, `ssh = forwards the SSH agent as "default" (image declared at ferry.star:4:6), but SSH_AUTH_SOCK is not set`) {
		t.Errorf("without an agent: %q", msg)
	}
}

func TestBuildKitCacheFrom(t *testing.T) {
	t.Parallel()
	docker := dockertest.NeedDocker(t)
	w := toolWorkspace(t, docker, `
image(name = "first", repo = "REPO-first", context = "app", deps = ["base"])
image(name = "second", repo = "REPO-second", context = "app", cache_from = ["REPO-first:latest"], tag = ["v2"], deps = ["base", "first"])
`, map[string]string{
		"app/Dockerfile": "FROM REPO-base\nCOPY in.txt /in.txt\n",
		"app/in.txt":     "x\n",
	})
	w.MustRun("first")
	if err := docker.Tag(context.Background(), w.Repo+"-first:"+w.StateKey("first").Short(), w.Repo+"-first:latest"); err != nil {
		t.Fatal(err)
	}
	r := w.Run(context.Background(), "second")
	if r.Err != nil {
		t.Fatalf("build: %v: %s", r.Err, r.Failure("second"))
	}
	if out := r.Output("second"); !strings.Contains(out, "importing cache manifest from "+w.Repo+"-first:latest") {
		t.Errorf("the build did not use cache_from:\n%s", out)
	}
}

// BuildKit fetches what a build needs from a private registry with the
// credentials of the Docker config, over the build's session: the FROM
// base (which ferry pulls first with them) and an image that RUN
// --mount=from= reads (which only BuildKit fetches).
func TestBuildKitRegistryAuth(t *testing.T) {
	docker := dockertest.NeedDocker(t)
	private := dockertest.StartPullRegistry(t, "alice", "s3cret")
	repo := "ferrytest/" + dockertest.RandomHex(t)
	private.PushHello(t, repo, "base", repo+"-base")
	private.PushHello(t, repo, "data", repo+"-data")
	base, data := private.Host()+"/"+repo+":base", private.Host()+"/"+repo+":data"
	dockertest.ForgetImages(t, docker, base, data)
	w := newWorkspace(t, docker, map[string]string{
		"ferry.star": `
image(name = "app", repo = "REPO", context = "app", builder = "buildkit")
image(name = "mount", repo = "REPO-mount", context = "mount", builder = "buildkit")
`,
		"app/Dockerfile":   "FROM " + base + "\nRUN --mount=type=bind,from=" + data + ",target=/data [\"/data/hello\"]\n",
		"mount/Dockerfile": "FROM scratch\nRUN --mount=type=bind,from=" + data + ",target=/data [\"/data/hello\"]\n",
	})

	// Without credentials: ferry's pull of the base says so, and so does
	// the build where only BuildKit asks the registry.
	dockertest.WriteDockerConfig(t, `{}`)
	r := w.Run(context.Background(), "app", "mount")
	if msg := r.Failure("app"); !strings.Contains(msg, private.Host()+" wants credentials") {
		t.Errorf("without credentials: %v: %q", r.Err, msg)
	}
	if msg := r.Failure("mount"); !strings.Contains(msg, "build of mount/Dockerfile failed: BuildKit could not pull an image the build needs: ") ||
		!strings.Contains(msg, private.Host()+" wants credentials, and the Docker config has none for it: log in with `docker login "+private.Host()+"`") {
		t.Errorf("without credentials, BuildKit's own pull: %v: %q", r.Err, msg)
	}

	b64 := base64.StdEncoding.EncodeToString
	dockertest.WriteDockerConfig(t, `{"auths": {"`+private.Host()+`": {"auth": "`+b64([]byte("alice:wrong"))+`"}}}`)
	r = w.Run(context.Background(), "mount")
	if msg := r.Failure("mount"); !strings.Contains(msg, private.Host()+" refused the credentials ferry found for it in the Docker config: log in again with `docker login "+private.Host()+"`") {
		t.Errorf("wrong credentials, BuildKit's own pull: %v: %q", r.Err, msg)
	}

	dockertest.WriteDockerConfig(t, `{"auths": {"`+private.Host()+`": {"auth": "`+b64([]byte("alice:s3cret"))+`"}}}`)
	r = w.Run(context.Background(), "app", "mount")
	if r.Err != nil {
		t.Fatalf("with the credentials of config.json: %v: %s\n%s", r.Err, r.Failure("app"), r.Output("app"))
	}
	if out := r.Output("app"); !strings.Contains(out, "hello from ferry") {
		t.Errorf("the step did not run the mounted image's program:\n%s", out)
	}
	if _, ok, err := docker.ImageRef(context.Background(), data); ok || err != nil {
		t.Errorf("the mounted image is in the Engine (%v, %v): BuildKit was to fetch it itself", ok, err)
	}
}

// registryLogin finds the registry in BuildKit's words for a refused pull.
func TestRegistryLogin(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	for _, tc := range []struct{ msg, want string }{
		{"failed to load cache key: pulling from host 127.0.0.1:35869 failed with status code [manifests data]: 401 Unauthorized",
			"127.0.0.1:35869 wants credentials, and the Docker config has none for it: log in with `docker login 127.0.0.1:35869`"},
		{"failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to resolve source metadata for docker.io/acme/private:1: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed",
			"docker.io wants credentials, and the Docker config has none for it: log in with `docker login docker.io`"},
		{"failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized",
			"a registry refused a pull for want of credentials: log in to it with `docker login HOST`"},
		{"failed to compute cache key: \"/missing.txt\" not found: not found", ""},
	} {
		got := registryLogin(tc.msg)
		if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
			t.Errorf("registryLogin(%q) = %q, want %q…", tc.msg, got, tc.want)
		}
	}
}
