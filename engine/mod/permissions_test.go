package mod

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker"
	"github.com/ferryhq/ferry/builtins/metrics"
	"github.com/ferryhq/ferry/builtins/pipeline"
	"github.com/ferryhq/ferry/builtins/seccheck"
	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// permEval evaluates ferry.star (and, with run, runs every rule) with a
// module @lib made of m.star, which has the given permissions. It
// returns the evaluation's error, or the text of the events of the run.
func permEval(t *testing.T, star, lib string, perms []string, run bool) (string, error) {
	t.Helper()
	return permEvalIn(t, t.TempDir(), star, lib, perms, run)
}

// permEvalIn is permEval in the folder dir, which may hold other files.
func permEvalIn(t *testing.T, dir, star, lib string, perms []string, run bool) (string, error) {
	t.Helper()
	writeFiles(t, dir, map[string]string{"ferry.star": star})
	var mu sync.Mutex
	var text strings.Builder
	red := redact.New()
	bus := engine.NewBus(red, engine.SinkFunc(func(e engine.Event) {
		mu.Lock()
		text.WriteString(e.Text + " " + e.Err + "\n")
		mu.Unlock()
	}))
	secrets := &secret.Plugin{Redactor: red}
	mods := &engine.Modules{
		File: "ferry.mod",
		Deps: map[string]bool{"lib": true},
		ByAlias: map[string]*engine.SharedModule{"lib": {
			Alias:  "lib",
			Source: engine.FSSource{Repo: "lib", FS: fstest.MapFS{"m.star": {Data: []byte(lib)}}},
			Hash:   "h1:test",
			Perms:  set(perms),
			Grant:  "ferry.mod:2:1",
		}},
	}
	ws := &engine.Workspace{Root: dir, File: filepath.Join(dir, engine.FileName)}
	ctx := context.Background()
	res, err := engine.Evaluate(ctx, engine.Options{
		Workspace: ws,
		Plugins: []engine.Plugin{core.Plugin{Secrets: secrets}, docker.Plugin{Secrets: secrets}, &deploy.Plugin{Project: "permtest"},
			metrics.Plugin{}, secrets, seccheck.Plugin{}, pipeline.Plugin{}},
		Modules: mods,
		Events:  bus,
	})
	if err != nil || !run {
		return "", err
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.LoadState(ws, true)
	if err != nil {
		t.Fatal(err)
	}
	engine.NewEngine(ws, g, st, bus).Run(ctx, nil, engine.RunOptions{Jobs: 1})
	mu.Lock()
	defer mu.Unlock()
	return text.String(), nil
}

// Every guarded builtin, called from a module's code, fails without its
// permission, naming the module, the permission and where to grant it;
// with the permission, the permission check lets it through.
func TestPermissions(t *testing.T) {
	for _, tt := range []struct {
		perm, code string
		runTime    bool
	}{
		{"commands", "task(name = 'x', cmd = 'true')", false},
		// A pipeline chooses which of the workspace's rules ferry ci runs,
		// manual ones (a production deploy) included.
		{"commands", "pipeline('ci', stages = [['deploy']])", false},
		{"files", "read_file('ferry.star')", false},
		{"files", "glob(['*.star'])", false},
		{"env", "os.env('HOME')", false},
		{"docker", "image(name = 'img', context = '.')", false},
		{"docker", "service(name = 'svc', image = 'busybox')", false},
		{"docker", "job(name = 'j', image = 'busybox')", false},
		{"docker", "network('n')", false},
		{"docker", "volume('v')", false},
		{"docker", "environment('staging')", false},
		{"secrets", "secret('tok', env = 'TOKEN')", false},
		{"commands", "ctx.sh('true')", true},
		{"files", "ctx.read('ferry.star')", true},
		{"network", "metrics.scrape('http://127.0.0.1:1/metrics', timeout = '1ms')", true},
		{"network", "health.wait('127.0.0.1:1', timeout = '1ms')", true},
		{"docker", "docker.inspect('svc')", true},
	} {
		t.Run(strings.SplitN(tt.code, "(", 2)[0], func(t *testing.T) {
			lib := "def f(ctx = None):\n    " + tt.code + "\n"
			star := "load('@lib//m.star', 'f')\nf()\n"
			if tt.runTime {
				star = "load('@lib//m.star', 'f')\ntask(name = 'action', run = f)\n"
			}
			want := []string{"module @lib (@lib//m.star:2:", `has no permission "` + tt.perm + `"`,
				`module(permissions = ["` + tt.perm + `"])`, `ferry.mod:2:1: grant("lib", permissions = ["` + tt.perm + `"])`}
			out, err := permEval(t, star, lib, nil, tt.runTime)
			if tt.runTime {
				for _, w := range want {
					if !strings.Contains(out, w) {
						t.Errorf("run output lacks %q:\n%s", w, out)
					}
				}
			} else {
				wantErr(t, err, append(want, "ferry.star:2:")...)
			}
			out, err = permEval(t, star, lib, []string{tt.perm}, tt.runTime)
			if strings.Contains(out, "has no permission") || err != nil && strings.Contains(err.Error(), "has no permission") {
				t.Errorf("granted %s, still refused: %v\n%s", tt.perm, err, out)
			}
		})
	}
}

// No module may change which security findings the workspace ignores,
// whatever it is granted.
func TestWorkspaceOnly(t *testing.T) {
	_, err := permEval(t, "load('@lib//m.star', 'f')\nf()\n", "def f():\n    lint_settings(ignore = ['FERRY-DF005'])\n",
		slices.Collect(maps.Keys(engine.Permissions)), false)
	wantErr(t, err, "ferry.star:2:2", "lint_settings: module @lib (@lib//m.star:2:18) cannot call it")
	if _, err := permEval(t, "lint_settings(ignore = ['FERRY-DF005'])", "", nil, false); err != nil {
		t.Fatal(err)
	}
}

// A module without "secrets" cannot pass on a secret the workspace gives
// it, nor name one; with it, it can.
func TestPermissionSecrets(t *testing.T) {
	lib := "def f(s):\n    task(name = 'x', cmd = 'true', secrets = {'TOKEN': s})\n"
	star := "load('@lib//m.star', 'f')\ns = secret('tok', env = 'TOKEN')\nf(s)\n"
	_, err := permEval(t, star, lib, []string{"commands"}, false)
	wantErr(t, err, "ferry.star:3:2", "task with a secret in secrets: module @lib", `has no permission "secrets"`)
	if _, err := permEval(t, star, lib, []string{"commands", "secrets"}, false); err != nil {
		t.Fatal(err)
	}
	// The workspace itself needs no grant.
	if _, err := permEval(t, "s = secret('tok', env = 'TOKEN')\ntask(name = 'x', cmd = 'true', secrets = {'T': s})", "", nil, false); err != nil {
		t.Fatal(err)
	}
}

// Builtins that read the workspace's files or the environment for some of
// their arguments only ask for that permission as well: a module cannot
// read the workspace's .env (passwords, often) through dotenv(), nor hand
// its files to a container through env_file or configs, with "docker"
// alone.
func TestPermissionsPerArgument(t *testing.T) {
	for _, tt := range []struct {
		code        string
		have, needs []string
	}{
		{"dotenv(environ = False)", nil, []string{"files"}},
		{"dotenv()", []string{"files"}, []string{"env"}},
		{"service(name = 'svc', image = 'busybox', env_file = '.env')", []string{"docker"}, []string{"files"}},
		{"service(name = 'svc', image = 'busybox', configs = {'/etc/app.conf': 'app.conf'})", []string{"docker"}, []string{"files"}},
	} {
		t.Run(tt.code, func(t *testing.T) {
			lib := "def f():\n    " + tt.code + "\n"
			star := "load('@lib//m.star', 'f')\nf()\n"
			_, err := permEval(t, star, lib, tt.have, false)
			wantErr(t, err, `has no permission "`+tt.needs[0]+`"`, "@lib//m.star:2:")
			_, err = permEval(t, star, lib, append(tt.have, tt.needs...), false)
			if err != nil && strings.Contains(err.Error(), "has no permission") {
				t.Errorf("granted %v, still refused: %v", append(tt.have, tt.needs...), err)
			}
		})
	}
}

// env_file fills ${VAR} from the environment ferry runs in: a module
// needs "env" for that, as for dotenv(), or a workspace file holding
// TOKEN=${AWS_SECRET_ACCESS_KEY} would hand a module granted files and
// docker the environment's value.
func TestPermissionEnvFileInterpolation(t *testing.T) {
	t.Setenv("FERRY_PERM_TEST", "from-the-environment")
	lib := "def f(p):\n    service(name = 'svc', image = 'busybox', env_file = p)\n"
	for _, tt := range []struct {
		file    string
		needEnv bool
	}{
		{"A=${FERRY_PERM_TEST}\n", true},
		{"A=1\nB=${A}\n", false},
	} {
		star := "load('@lib//m.star', 'f')\nf('app.env')\n"
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"app.env": tt.file})
		_, err := permEvalIn(t, dir, star, lib, []string{"docker", "files"}, false)
		if tt.needEnv {
			wantErr(t, err, `has no permission "env"`, "env_file")
		} else if err != nil {
			t.Errorf("%q: %v", tt.file, err)
		}
		if _, err := permEvalIn(t, dir, star, lib, []string{"docker", "env", "files"}, false); err != nil {
			t.Errorf("%q with env: %v", tt.file, err)
		}
	}
}
