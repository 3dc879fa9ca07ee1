package main

// End-to-end tests of ferry import compose and ferry export compose: the
// corpus of builtins/deploy/compose/testdata, imported and evaluated by
// plan and lint; bad input; and export → import → export.

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/docker/dockertest"
)

const composeCorpus = "../../builtins/deploy/compose/testdata/corpus"

// copyTree copies the folder src into a fresh temporary folder, under its
// own name (the compose project's name when the file gives none).
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestImportComposeCorpus imports every compose project of the corpus with
// the command, checks the ferry.star is the golden one, and that ferry plan
// and ferry lint take it.
func TestImportComposeCorpus(t *testing.T) {
	requireDocker(t)
	t.Setenv("REGISTRY", "127.0.0.1:5000")
	dirs, err := filepath.Glob(filepath.Join(composeCorpus, "*"))
	if err != nil || len(dirs) < 15 {
		t.Fatalf("want a corpus of 15 compose projects or more, got %d (%v)", len(dirs), err)
	}
	for _, src := range dirs {
		t.Run(filepath.Base(src), func(t *testing.T) {
			ws := &testWorkspace{dir: copyTree(t, src)}
			golden := ws.read(t, "ferry.star.golden")
			os.Remove(ws.path("ferry.star.golden"))
			r := ws.ferry(t, "import", "compose")
			r.wantCode(t, 0)
			if r.stdout != golden {
				t.Errorf("stdout is not %s/ferry.star.golden:\n%s", src, r.stdout)
			}
			ws.ferry(t, "import", "compose", "-o", "ferry.star").wantCode(t, 0)
			if got := ws.read(t, "ferry.star"); got != golden {
				t.Errorf("-o ferry.star differs from stdout")
			}
			project := []string{"--project", "ferrytest-compose-" + filepath.Base(src)}
			plan := ws.ferry(t, append(project, "plan")...)
			plan.wantCode(t, 0)
			ws.ferry(t, append(project, "lint", "--no-history")...).wantCode(t, 0)
		})
	}
}

func TestImportComposeBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		args  []string
		code  int
		want  []string
	}{
		{"syntax error", map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx\n   ports: [80]\n"}, nil, 2,
			[]string{"compose.yaml:4: did not find expected key; fix the YAML there"}},
		{"syntax error further down", map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx\n    ports: [80\n    x: 1\n"}, nil, 2,
			[]string{"compose.yaml:5: did not find expected ',' or ']'; fix the YAML there"}},
		{"tab", map[string]string{"compose.yaml": "services:\n  web:\n\timage: nginx\n"}, nil, 2,
			[]string{"compose.yaml:3: found character that cannot start any token; fix the YAML there"}},
		{"unsupported key", map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx:1\n    stdin_open: true\n"}, nil, 0,
			[]string{"compose.yaml:4: services.web.stdin_open: not translated"}},
		{"missing file", map[string]string{"other.yaml": "services: {}\n"}, []string{"nope.yaml"}, 2,
			[]string{"compose file nope.yaml: no such file or directory; give the path of a compose file"}},
		{"no compose file", map[string]string{"x.txt": ""}, nil, 2,
			[]string{"no compose file in", "ferry import compose FILE"}},
		{"unknown service in depends_on", map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx:1\n    depends_on: [db]\n"}, nil, 2,
			[]string{`compose.yaml:4: services.web.depends_on.db: service "web" depends on "db", which the project does not define; define it, or remove it from depends_on`}},
		{"invalid value", map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx:1\n    ports: {a: 1}\n"}, nil, 2,
			[]string{"compose.yaml:4: services.web.ports"}},
		{"output exists", map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx:1\n", "ferry.star": "# mine\n"}, []string{"-o", "ferry.star"}, 2,
			[]string{"-o ferry.star: the file exists; give --force to overwrite it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := newWorkspace(t, tc.files)
			r := ws.ferry(t, append([]string{"import", "compose"}, tc.args...)...)
			r.wantCode(t, tc.code)
			r.wantStderr(t, tc.want...)
		})
	}
	ws := newWorkspace(t, map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx:1\n", "ferry.star": "# mine\n"})
	ws.ferry(t, "import", "compose", "-o", "ferry.star", "--force").wantCode(t, 0)
	if !strings.Contains(ws.read(t, "ferry.star"), `service(name = "web", image = "nginx:1")`) {
		t.Errorf("--force did not overwrite ferry.star:\n%s", ws.read(t, "ferry.star"))
	}
}

// TestExportComposeRoundTrip exports a workspace as compose, imports that
// (compose-go parses it), and exports the import again: the two compose
// files declare the same services. Secrets travel by source, never value.
func TestExportComposeRoundTrip(t *testing.T) {
	requireDocker(t)
	t.Setenv("FERRY_TEST_TOKEN", "s3cr3t-value-never-written")
	ws := newWorkspace(t, map[string]string{
		"api/Dockerfile": "FROM scratch AS final\nCOPY app /app\n",
		"secrets/db.txt": "hunter2-hunter2\n",
		"conf/app.yaml":  "a: 1\n",
		"conf/db.env":    "POSTGRES_DB=shop\nPOSTGRES_USER=shop\n",
		"conf/pg.conf":   "max_connections = 20\n",
		"ferry.star": `db_password = secret("db_password", file = "secrets/db.txt")
token = secret("token", env = "FERRY_TEST_TOKEN")
volume("data")
network("backend", internal = True)
image(name = "api-image", repo = "acme/api", context = "api", target = "final", build_args = {"V": "1"}, secrets = {"tok": token})
service(
    name = "db",
    image = "postgres:16.4",
    env = {"POSTGRES_PASSWORD_FILE": "/run/secrets/db_password"},
    secret_files = {"/run/secrets/db_password": db_password},
    volumes = ["data:/var/lib/postgresql/data"],
    health = health.exec(["pg_isready"], interval = "2s"),
    networks = {"backend": {"aliases": ["database", "pg"]}},
    default_network = False,
    shm_size = "256m",
    env_file = ["conf/db.env", {"path": "conf/local.env", "required": False}],
    configs = {
        "/etc/postgresql/pg.conf": {"file": "conf/pg.conf", "mode": 0o440},
        "/etc/motd": {"content": "shop db\n"},
    },
)
service(
    name = "cache",
    image = "redis:7.4",
    volumes = ["/data"],
    networks = {"default": {"aliases": ["redis"]}, "backend": None},
    health = health.disable(),
)
service(
    name = "queue",
    image = "redis:7.4",
    health = health.exec(["redis-cli", "ping"], start_period = "30s", start_interval = "1s"),
)
job(name = "migrate", image = "api-image", command = ["/app", "migrate"], depends_on = ["db"])
service(
    name = "api",
    image = "api-image",
    command = ["/app", "serve"],
    ports = ["8080:8080", "0.0.0.0:9090:9090/udp"],
    volumes = ["./conf:/etc/app:ro"],
    depends_on = ["db", "migrate"],
    replicas = 1,
    restart = "on-failure:3",
    resources = {"memory": "256m", "cpus": 0.5},
    cap_drop = ["ALL"],
    read_only = True,
    tmpfs = ["/tmp:size=64m"],
    ulimits = {"nofile": "1024:2048"},
    extra_hosts = ["host.docker.internal:host-gateway"],
    user = "65534",
    profiles = ["app"],
    health = health.http("/healthz", port = 8080),
)
task(name = "unit", cmd = "true")
image(name = "tools", repo = "acme/tools", context = "api")
`,
	})
	// Started in the workspace, as a user starts it: -C is ".".
	t.Chdir(ws.dir)
	r := runFerry(t, "export", "compose", "-o", "compose.yaml")
	r.wantCode(t, 0)
	r.wantStderr(t, "health.http is probed by ferry", "task unit", "image tools: not translated: no service or job runs the image")
	first := ws.read(t, "compose.yaml")
	for _, want := range []string{"file: ./secrets/db.txt", "environment: FERRY_TEST_TOKEN", "service_completed_successfully", "service_healthy", "x-ferry-job: true", "target: final", "host_ip: 127.0.0.1", "restart: on-failure:3", "source: ./conf",
		"internal: true", "- database", "env_file:", "path: ./conf/db.env", "required: false", "file: ./conf/pg.conf", "content: |", "target: /etc/postgresql/pg.conf", `mode: "0440"`,
		"target: /data", "disable: true", "start_interval: 1s"} {
		if !strings.Contains(first, want) {
			t.Errorf("compose.yaml lacks %q:\n%s", want, first)
		}
	}
	if db := first[strings.Index(first, "\n  db:"):strings.Index(first, "\n  migrate:")]; strings.Contains(db, "default") || strings.Contains(db, "POSTGRES_USER") {
		t.Errorf("db is on the default network, or repeats its env_file in environment:\n%s", db)
	}
	if strings.Contains(first, "hunter2") || strings.Contains(first, "s3cr3t") {
		t.Fatalf("compose.yaml holds a secret's value:\n%s", first)
	}

	if err := os.Rename(ws.path("ferry.star"), ws.path("ferry.star.orig")); err != nil {
		t.Fatal(err)
	}
	ws.ferry(t, "import", "compose", "-o", "ferry.star", "compose.yaml").wantCode(t, 0)
	star := ws.read(t, "ferry.star")
	for _, want := range []string{`job(`, `name = "migrate"`, `default_network = False`, `health = health.disable()`, `volumes = ["/data"]`, `network("backend", internal = True)`, `"/etc/motd": {"content": "shop db\n"}`, `env_file = ["conf/db.env", {"path": "conf/local.env", "required": False}]`, `secret_files = {"/run/secrets/db_password": db_password}`, `secret("token", env = "FERRY_TEST_TOKEN")`, `profiles = ["app"]`} {
		if !strings.Contains(star, want) {
			t.Errorf("the import lacks %s:\n%s", want, star)
		}
	}
	ws.ferry(t, "plan").wantCode(t, 0)
	again := ws.ferry(t, "export", "compose")
	again.wantCode(t, 0)
	if strip := func(s string) string { _, body, _ := strings.Cut(s, "\nname: "); return body }; strip(again.stdout) != strip(first) {
		t.Errorf("export → import → export changed the services:\nfirst:\n%s\nagain:\n%s", first, again.stdout)
	}
}

// composeAppMain is the program of every image of the compose round trip:
// a server on 8080 (and 5432, 6379) that is its own health check
// (pg_isready, redis-cli, or the argument "health") and migration
// ("migrate": exit 0).
const composeAppMain = `package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	switch {
	case name == "pg_isready" || name == "redis-cli" || slices.Contains(args, "health"):
		c, err := net.DialTimeout("tcp", "127.0.0.1:8080", time.Second)
		if err != nil {
			os.Exit(1)
		}
		c.Close()
		return
	case slices.Contains(args, "migrate"):
		fmt.Println("migrated")
		return
	}
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, name, args) })
	go http.ListenAndServe(":5432", nil)
	go http.ListenAndServe(":6379", nil)
	http.ListenAndServe(":8080", nil)
}
`

// TestComposeUpRoundTrip imports corpus projects whose images live in a
// registry on loopback (pushed there first, then removed from the Engine,
// so ferry pulls them), brings each up with ferry, checks its containers
// run (and its jobs ran), and takes it down.
func TestComposeUpRoundTrip(t *testing.T) {
	t.Parallel()
	requireDocker(t)
	reg := dockertest.StartRegistry(t)

	app := t.TempDir()
	os.WriteFile(filepath.Join(app, "main.go"), []byte(composeAppMain), 0o644)
	os.WriteFile(filepath.Join(app, "go.mod"), []byte("module example.com/app\n\ngo 1.22\n"), 0o644)
	build := exec.Command("go", "build", "-o", "app", ".")
	build.Dir, build.Env = app, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(app, "Dockerfile"), []byte(`FROM scratch
COPY app /usr/local/bin/postgres
COPY app /usr/local/bin/pg_isready
COPY app /usr/local/bin/redis-cli
COPY app /api
ENV PATH=/usr/local/bin
ENTRYPOINT ["/usr/local/bin/postgres"]
`), 0o644)
	refs := []string{reg.Host() + "/postgres:16", reg.Host() + "/redis:7", reg.Host() + "/shop/api:dev"}
	docker := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	docker("build", "-q", "-t", refs[0], app)
	for _, ref := range refs {
		docker("tag", refs[0], ref)
		docker("push", "-q", ref)
	}
	rmi := func() { exec.Command("docker", append([]string{"rmi", "-f"}, refs...)...).Run() }
	rmi()
	t.Cleanup(rmi)

	for _, tc := range []struct {
		dir     string
		running []string // containers that must run, by service-replica
		ran     []string // jobs that must have exited 0
		// check inspects the running project further.
		check func(t *testing.T, ws *testWorkspace, project string)
	}{
		{"go-api-postgres", []string{"api-1", "db-1"}, []string{"migrate"}, nil},
		{"redis-worker", []string{"redis-1", "worker-1", "worker-2"}, []string{"migrate"}, nil},
		{"extends", []string{"api-1", "scheduler-1", "worker-1", "worker-2", "worker-3"}, nil, nil},
		{"internal-backend", []string{"api-1", "db-1", "reporter-1"}, nil, checkInternalBackend},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			t.Parallel()
			ws := &testWorkspace{dir: copyTree(t, filepath.Join(composeCorpus, tc.dir))}
			// The registry, as compose users give one: in .env (the
			// environment is the whole test process's).
			env := ""
			if ws.exists(".env") {
				env = ws.read(t, ".env")
			}
			ws.write(t, ".env", env+"REGISTRY="+reg.Host()+"\n")
			// A fixed host port would clash with what else runs here.
			ws.write(t, "compose.yaml", strings.ReplaceAll(ws.read(t, "compose.yaml"), `"8080:8080"`, `"8080"`))
			if ws.exists("api/Dockerfile") {
				b, _ := os.ReadFile(filepath.Join(app, "app"))
				os.WriteFile(ws.path("api/app"), b, 0o755)
			}
			ws.ferry(t, "import", "compose", "-o", "ferry.star").wantCode(t, 0)
			project := "ferrytest-rt-" + tc.dir + "-" + fmt.Sprint(os.Getpid())
			t.Cleanup(func() {
				exec.Command(ferryBin, "-C", ws.dir, "--project", project, "down", "--volumes", "--rmi").Run()
			})
			up := ws.ferry(t, "--project", project, "up", "--wait")
			up.wantCode(t, 0)
			out, err := exec.Command("docker", "ps", "-a", "--filter", "label=ferry.project="+project, "--format", "{{.Names}} {{.State}} {{.Status}}").Output()
			if err != nil {
				t.Fatal(err)
			}
			state := map[string]string{}
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(l)
				if len(f) >= 3 {
					state[strings.TrimPrefix(f[0], project+"-")] = f[1] + " " + strings.Join(f[2:], " ")
				}
			}
			for _, c := range tc.running {
				if !strings.HasPrefix(state[c], "running") {
					t.Errorf("%s is not running: %q (all: %v)\n%s", c, state[c], state, up)
				}
			}
			for _, j := range tc.ran {
				found := false
				for name, st := range state {
					if strings.HasPrefix(name, j) && strings.Contains(st, "Exited (0)") {
						found = true
					}
				}
				if !found {
					t.Errorf("job %s did not exit 0: %v", j, state)
				}
			}
			if tc.check != nil {
				tc.check(t, ws, project)
			}
			ws.ferry(t, "--project", project, "down", "--volumes").wantCode(t, 0)
			if out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=ferry.project="+project).Output(); strings.TrimSpace(string(out)) != "" {
				t.Errorf("ferry down left containers: %s", out)
			}
		})
	}
}

// containerInfo is what docker inspect says of a container, as far as the
// compose round trip checks it.
type containerInfo struct {
	Config struct {
		Env         []string
		Healthcheck *struct{ Test []string }
	}
	Mounts []struct {
		Type, Name, Source, Destination string
		RW                              bool
	}
	NetworkSettings struct {
		Networks map[string]struct{ Aliases []string }
	}
}

func inspectContainer(t *testing.T, name string) containerInfo {
	t.Helper()
	out, err := exec.Command("docker", "inspect", name).Output()
	if err != nil {
		t.Fatalf("docker inspect %s: %v", name, err)
	}
	var info []containerInfo
	if err := json.Unmarshal(out, &info); err != nil || len(info) != 1 {
		t.Fatalf("docker inspect %s: %v\n%s", name, err, out)
	}
	return info[0]
}

// checkInternalBackend checks the settings of corpus/internal-backend on
// its running containers: env_file and .env values (and a secret of an
// env file, which ferry.star does not hold), configs, anonymous volumes,
// the internal network with aliases, db off the default network, the
// health check turned off; then that editing .env changes the service.
func checkInternalBackend(t *testing.T, ws *testWorkspace, project string) {
	star := ws.read(t, "ferry.star")
	if strings.Contains(star, "not-in-ferry-star") {
		t.Errorf("ferry.star holds a secret's value:\n%s", star)
	}
	api, db, reporter := inspectContainer(t, project+"-api-1"), inspectContainer(t, project+"-db-1"), inspectContainer(t, project+"-reporter-1")
	for _, want := range []string{"CACHE_DIR=/var/cache/api", "API_TOKEN=not-in-ferry-star-3", "LOG_LEVEL=debug", "DB_ADDR=database:5432"} {
		if !slices.Contains(api.Config.Env, want) {
			t.Errorf("api lacks %s in its environment: %v", want, api.Config.Env)
		}
	}
	for _, want := range []string{"POSTGRES_DB=ledger", "POSTGRES_USER=ledger", "POSTGRES_PASSWORD=not-in-ferry-star-4"} {
		if !slices.Contains(db.Config.Env, want) {
			t.Errorf("db lacks %s in its environment: %v", want, db.Config.Env)
		}
	}
	mounts := func(c containerInfo) map[string]string {
		m := map[string]string{}
		for _, mt := range c.Mounts {
			switch {
			case mt.Type == "volume" && mt.RW && len(mt.Name) == 64:
				m[mt.Destination] = "anonymous"
			case mt.Type == "bind" && !mt.RW:
				b, err := os.ReadFile(mt.Source)
				if err != nil {
					t.Errorf("config %s: %v", mt.Destination, err)
				}
				info, _ := os.Stat(mt.Source)
				m[mt.Destination] = fmt.Sprintf("%v %q", info.Mode().Perm(), b)
			default:
				m[mt.Destination] = mt.Type + " " + mt.Name
			}
		}
		return m
	}
	apiMounts, dbMounts, reporterMounts := mounts(api), mounts(db), mounts(reporter)
	for dest, want := range map[string]string{
		"/etc/api/config.yaml": fmt.Sprintf("-r--r--r-- %q", ws.read(t, "config/api.yaml")),
		"/etc/motd":            `-r--r----- "ledger 1.4\n"`,
		"/var/cache/api":       "anonymous",
	} {
		if apiMounts[dest] != want {
			t.Errorf("api's mount at %s is %q, want %q (all: %v)", dest, apiMounts[dest], want, apiMounts)
		}
	}
	if dbMounts["/var/run/postgresql"] != "anonymous" || dbMounts["/var/lib/postgresql/data"] != "volume "+project+"_db-data" {
		t.Errorf("db's volumes: %v", dbMounts)
	}
	if !strings.HasPrefix(reporterMounts["/api_config"], "-r--r--r--") {
		t.Errorf("reporter's config: %v", reporterMounts)
	}
	if h := reporter.Config.Healthcheck; h == nil || !slices.Equal(h.Test, []string{"NONE"}) {
		t.Errorf("reporter's health check is not turned off: %+v", h)
	}
	backend, def := project+"_backend", project+"_default"
	if _, ok := db.NetworkSettings.Networks[def]; ok || len(db.NetworkSettings.Networks) != 1 {
		t.Errorf("db is on %v, want %s alone", slices.Sorted(maps.Keys(db.NetworkSettings.Networks)), backend)
	}
	for c, want := range map[string][]string{"db " + backend: {"database", "pg"}, "api " + def: {"ledger-api"}, "api " + backend: nil} {
		name, network, _ := strings.Cut(c, " ")
		n, ok := map[string]containerInfo{"db": db, "api": api}[name].NetworkSettings.Networks[network]
		if !ok {
			t.Errorf("%s is not on %s", name, network)
			continue
		}
		for _, a := range append(want, name) {
			if !slices.Contains(n.Aliases, a) {
				t.Errorf("%s has aliases %v on %s, want %s among them", name, n.Aliases, network, a)
			}
		}
	}
	out, err := exec.Command("docker", "network", "inspect", "-f", "{{.Internal}}", backend).Output()
	if err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Errorf("%s is not internal: %q %v", backend, out, err)
	}

	// The .env stays live: a new value replaces the service that uses it.
	ws.write(t, ".env", strings.Replace(ws.read(t, ".env"), "LOG_LEVEL=debug", "LOG_LEVEL=warn", 1))
	ws.ferry(t, "--project", project, "up", "--wait").wantCode(t, 0)
	if env := inspectContainer(t, project+"-api-1").Config.Env; !slices.Contains(env, "LOG_LEVEL=warn") {
		t.Errorf("after editing .env, api's environment is %v, want LOG_LEVEL=warn", env)
	}
}
