package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
)

// hashOf returns the config hash of rule a as src declares it.
func hashOf(t *testing.T, src string) engine.Digest {
	t.Helper()
	g, err := load(t, src)
	if err != nil {
		t.Fatal(err)
	}
	h := engine.NewHasher()
	g.Rule("a").Definition(context.Background(), h)
	return h.Sum()
}

// health.disable() turns the image's check off, with no check of ferry's;
// start_interval is read, and both are in the config hash only when set.
func TestHealthDisableAndStartInterval(t *testing.T) {
	g, err := load(t, `
service(name = "a", image = "x", health = health.disable())
service(name = "b", image = "x", health = health.tcp(80, start_period = "30s", start_interval = "1s"))
`)
	if err != nil {
		t.Fatal(err)
	}
	if s := g.Rule("a").(*Rule).Spec(); !s.HealthDisabled || s.Health != nil {
		t.Errorf("a: disabled %v, health %v", s.HealthDisabled, s.Health)
	}
	if h := g.Rule("b").(*Rule).Spec().Health; h == nil || h.StartInterval != time.Second || !strings.HasSuffix(h.String(), ", every 1s meanwhile)") {
		t.Errorf("b: %v", h)
	}
	base := hashOf(t, `service(name = "a", image = "x", health = health.tcp(80, start_period = "30s"))`)
	if base == hashOf(t, `service(name = "a", image = "x", health = health.tcp(80, start_period = "30s", start_interval = "1s"))`) {
		t.Error("start_interval is not in the config hash")
	}
	if hashOf(t, `service(name = "a", image = "x")`) == hashOf(t, `service(name = "a", image = "x", health = health.disable())`) {
		t.Error("health.disable() is not in the config hash")
	}
	for src, want := range map[string]string{
		`health.tcp(80, start_interval = "1s")`:                        `ferry.star:1:11: health.tcp: start_interval applies during the start period, and start_period is 0s`,
		`health.tcp(80, start_period = "9s", start_interval = "0s")`:   `start_interval: got 0s, want a duration of more than 0`,
		`service(name = "a", image = "x", health = health.disable(1))`: `ferry.star:1:57: health.disable: got 1 positional arguments, want at most 0`,
	} {
		if _, err := load(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %q", src, err, want)
		}
	}
}

// A volume written as a container path alone is anonymous; a read-only
// one is refused, as the Engine would.
func TestAnonymousVolumes(t *testing.T) {
	g, err := load(t, `service(name = "a", image = "x", volumes = ["/cache/", "/tmp/x:rw", "data:/data"])`)
	if err != nil {
		t.Fatal(err)
	}
	v := g.Rule("a").(*Rule).Spec().Volumes
	if len(v) != 3 || !v[0].Anonymous || v[0].Target != "/cache" || v[0].Source != "" || !v[1].Anonymous || v[1].Target != "/tmp/x" || v[2].Anonymous {
		t.Errorf("volumes: %+v", v)
	}
	if hashOf(t, `service(name = "a", image = "x", volumes = ["/cache"])`) == hashOf(t, `service(name = "a", image = "x", volumes = ["/other"])`) {
		t.Error("an anonymous volume's path is not in the config hash")
	}
	for src, want := range map[string]string{
		`service(name = "a", image = "x", volumes = ["/cache:ro"])`:          `ferry.star:1:8: service "a": volumes: volume "/cache:ro": an anonymous volume starts empty, so a read-only one holds nothing`,
		`service(name = "a", image = "x", volumes = ["/"])`:                  `an anonymous volume needs a container path other than /`,
		`service(name = "a", image = "x", volumes = ["/cache", "c:/cache"])`: `volumes: /cache is mounted twice`,
		`service(name = "a", image = "x", volumes = ["cache"])`:              `want SOURCE:TARGET[:ro], or a container path alone ("/data") for an anonymous volume`,
	} {
		if _, err := load(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %q", src, err, want)
		}
	}
}

// networks = takes compose's long form, with aliases per network
// ("default" is the project's); default_network = False keeps a service
// off the project's network; network(internal = True) marks a network.
func TestNetworksDeclared(t *testing.T) {
	g, err := load(t, `
network("backend", internal = True)
service(name = "a", image = "x", default_network = False, networks = {"backend": {"aliases": ["db", "pg", "db"]}, "cache": None})
service(name = "b", image = "x", networks = {"default": {"aliases": ["front"]}, "backend": {}})
service(name = "c", image = "x", networks = ["backend"])
`)
	if err != nil {
		t.Fatal(err)
	}
	a := g.Rule("a").(*Rule).Spec()
	if got := fmt.Sprintf("%v %v %v %v", a.Networks, a.Aliases, a.NoDefaultNetwork, a.Internal); got != "[backend cache] map[backend:[db pg]] true map[backend:true]" {
		t.Errorf("a: %s", got)
	}
	if got := strings.Join(a.NetworkAliases("backend"), ","); got != "a,db,pg" {
		t.Errorf("a's names on backend: %s", got)
	}
	b := g.Rule("b").(*Rule).Spec()
	if got := fmt.Sprintf("%v %v %v", b.Networks, b.Aliases, b.NoDefaultNetwork); got != "[backend] map[default:[front]] false" {
		t.Errorf("b: %s", got)
	}
	base := hashOf(t, `service(name = "a", image = "x", networks = ["backend"])`)
	if base != hashOf(t, `service(name = "a", image = "x", networks = {"backend": None}, default_network = True)`) {
		t.Error("the long form without options, or default_network = True, changed the config hash")
	}
	for _, src := range []string{
		`service(name = "a", image = "x", networks = {"backend": {"aliases": ["db"]}})`,
		`service(name = "a", image = "x", networks = ["backend"], default_network = False)`,
		"network(\"backend\", internal = True)\nservice(name = \"a\", image = \"x\", networks = [\"backend\"])",
	} {
		if hashOf(t, src) == base {
			t.Errorf("%s: config hash did not change", src)
		}
	}
	for src, want := range map[string]string{
		`service(name = "a", image = "x", default_network = False)`:                                                                            `ferry.star:1:8: service "a": default_network = False leaves the service on no network; name the networks it joins`,
		`service(name = "a", image = "x", default_network = False, networks = ["default"])`:                                                    `networks: names "default", the project's network, and default_network = False keeps the service off it`,
		`service(name = "a", image = "x", networks = {"backend": {"aliases": ["my_db"]}})`:                                                     `networks: backend: alias "my_db" is not a DNS name`,
		`service(name = "a", image = "x", networks = {"backend": {"ipv4_address": "10.0.0.2"}})`:                                               `networks: backend: unknown option "ipv4_address"; a network takes aliases`,
		`service(name = "a", image = "x", networks = {"backend": ["db"]})`:                                                                     `networks: backend: got list, want a dict such as {"aliases": ["db"]}, or None`,
		`service(name = "a", image = "x", networks = ["backend", "backend"])`:                                                                  `networks: "backend" is named twice`,
		`service(name = "a", image = "x", networks = "backend")`:                                                                               `networks: got string, want list of network names, or dict of name to {"aliases": [...]}`,
		"network(\"b\", internal = True)\nservice(name = \"a\", image = \"x\", default_network = False, networks = [\"b\"], ports = [\"80\"])": `ferry.star:2:8: service "a": ports: the service is on internal networks only (default_network = False), and a port is not published through an internal network`,
		`network("default")`:                             `"default" is the project's own network`,
		`network("n", internal = True, external = True)`: `network "n": internal = True is how ferry creates a network, and ferry creates no external network`,
		`volume("v", internal = True)`:                   `unexpected keyword argument "internal"`,
	} {
		if _, err := load(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %q", src, err, want)
		}
	}
}

// loadFiles is load with more files in the workspace.
func loadFiles(t *testing.T, files map[string]string) (*engine.Graph, []string, error) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		Plugins:   []engine.Plugin{core.Plugin{}, &Plugin{Project: "p"}},
	})
	if err != nil {
		return nil, nil, err
	}
	var rel []string
	for _, f := range res.Files {
		r, _ := filepath.Rel(dir, f)
		rel = append(rel, filepath.ToSlash(r))
	}
	g, err := engine.NewGraph(res.Rules)
	return g, rel, err
}

// env_file reads files of variables relative to the declaring file, as
// compose does: a later file's over an earlier one's, env ='s over both;
// the files are inputs of the evaluation, and their values of the key.
func TestEnvFile(t *testing.T) {
	files := map[string]string{
		"ferry.star":     `load("//api/api.star", "api")`,
		"api/api.star":   `api = service(name = "a", image = "x", env_file = ["common.env", {"path": "local.env", "required": False}, "api.env"], env = {"PORT": "80"})`,
		"api/common.env": "# shared\nLEVEL=info\nPORT=8080\nNAME=common\n",
		"api/api.env":    "NAME=api\nGREETING=\"hello ${NAME}\"\n",
	}
	g, inputs, err := loadFiles(t, files)
	if err != nil {
		t.Fatal(err)
	}
	s := g.Rule("a").(*Rule).Spec()
	if got := fmt.Sprint(s.Env); got != "map[GREETING:hello api LEVEL:info NAME:api PORT:80]" {
		t.Errorf("env: %s", got)
	}
	if len(s.EnvFiles) != 3 || s.EnvFiles[1].Path != "api/local.env" || s.EnvFiles[1].Vars != nil || s.EnvFiles[2].Vars["NAME"] != "api" {
		t.Errorf("env files: %+v", s.EnvFiles)
	}
	for _, f := range []string{"api/common.env", "api/local.env", "api/api.env"} {
		if !slices.Contains(inputs, f) {
			t.Errorf("%s is not an input of the evaluation: %v", f, inputs)
		}
	}
	hash := func(files map[string]string) engine.Digest {
		g, _, err := loadFiles(t, files)
		if err != nil {
			t.Fatal(err)
		}
		h := engine.NewHasher()
		g.Rule("a").Definition(context.Background(), h)
		return h.Sum()
	}
	base := hash(files)
	files["api/common.env"] = "LEVEL=debug\nPORT=8080\nNAME=common\n"
	if hash(files) == base {
		t.Error("a changed env_file value did not change the config hash")
	}
	files["api/common.env"] = "LEVEL=info\nPORT=9090\nNAME=common\n"
	if hash(files) != base {
		t.Error("a value that env = overrides changed the config hash")
	}
	for src, want := range map[string]string{
		`service(name = "a", image = "x", env_file = "nope.env")`:          `ferry.star:1:8: service "a": env_file: nope.env does not exist; create it, fix the path (relative to the file declaring the service), or write {"path": "nope.env", "required": False}`,
		`service(name = "a", image = "x", env_file = "../x.env")`:          `env_file: "../x.env" leaves the workspace`,
		`service(name = "a", image = "x", env_file = "bad.env")`:           `env_file: bad.env: `,
		`service(name = "a", image = "x", env_file = "odd.env")`:           `env_file: odd.env: "1X" is not a variable name`,
		`service(name = "a", image = "x", env_file = [{"file": "a.env"}])`: `env_file: got list, want path, or list of paths and of {"path": ..., "required": False}`,
		`job(name = "a", image = "x", env_file = 3)`:                       `env_file: got int`,
	} {
		_, _, err := loadFiles(t, map[string]string{"ferry.star": src, "bad.env": "A='open\n", "odd.env": "1X=2\n"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %q", src, err, want)
		}
	}
}

// configs = reads files relative to the declaring file (inputs of the
// evaluation) or takes content; the content and mode are in the key.
func TestConfigsDeclared(t *testing.T) {
	files := map[string]string{
		"ferry.star":     `load("//web/web.star", "web")`,
		"web/web.star":   `web = service(name = "a", image = "x", configs = {"/etc/nginx/nginx.conf": "nginx.conf", "/etc/app/motd": {"content": "hi", "mode": 0o440}, "/etc/app/x.conf": {"file": "nginx.conf"}})`,
		"web/nginx.conf": "worker_processes 1;\n",
	}
	g, inputs, err := loadFiles(t, files)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, cf := range g.Rule("a").(*Rule).Spec().Configs {
		got = append(got, fmt.Sprintf("%s=%s:%q:%o", cf.Target, cf.Source, cf.Content, cf.Mode))
	}
	if want := `/etc/app/motd=:"hi":440 /etc/app/x.conf=web/nginx.conf:"worker_processes 1;\n":444 /etc/nginx/nginx.conf=web/nginx.conf:"worker_processes 1;\n":444`; strings.Join(got, " ") != want {
		t.Errorf("configs: %s\nwant      %s", strings.Join(got, " "), want)
	}
	if !slices.Contains(inputs, "web/nginx.conf") {
		t.Errorf("web/nginx.conf is not an input of the evaluation: %v", inputs)
	}
	base := hashOf(t, `service(name = "a", image = "x", configs = {"/c": {"content": "1"}})`)
	for _, src := range []string{
		`service(name = "a", image = "x", configs = {"/c": {"content": "2"}})`,
		`service(name = "a", image = "x", configs = {"/c": {"content": "1", "mode": 0o400}})`,
		`service(name = "a", image = "x", configs = {"/d": {"content": "1"}})`,
	} {
		if hashOf(t, src) == base {
			t.Errorf("%s: config hash did not change", src)
		}
	}
	if hashOf(t, `service(name = "a", image = "x")`) != hashOf(t, `service(name = "a", image = "x", configs = {})`) {
		t.Error("no configs changed the config hash")
	}
	for src, want := range map[string]string{
		`service(name = "a", image = "x", configs = {"etc/x": {"content": ""}})`:                  `ferry.star:1:8: service "a": configs: "etc/x" is not a clean absolute path`,
		`service(name = "a", image = "x", configs = {"/x": "nope.conf"})`:                         `configs: /x: cannot read nope.conf`,
		`service(name = "a", image = "x", configs = {"/x": {"file": "a", "content": "b"}})`:       `configs: /x: give file (a path) or content (the text), one of them`,
		`service(name = "a", image = "x", configs = {"/x": {"content": "b", "mode": "0440"}})`:    `configs: /x: mode: got "0440", want permissions such as 0o440`,
		`service(name = "a", image = "x", configs = {"/x": {"content": "b", "uid": "1"}})`:        `configs: /x: unknown option "uid"; want file, content or mode`,
		`service(name = "a", image = "x", configs = {"/x": 3})`:                                   `configs: /x: got int, want a file's path`,
		`service(name = "a", image = "x", volumes = ["d:/x"], configs = {"/x": {"content": ""}})`: `configs: /x is mounted twice`,
		`service(name = "a", image = "x", tmpfs = ["/x"], configs = {"/x": {"content": ""}})`:     `tmpfs: /x is mounted twice (in volumes, configs or tmpfs)`,
		`service(name = "a", image = "x", configs = {"/x": "../../etc/passwd"})`:                  `configs: /x: "../../etc/passwd" leaves the workspace`,
	} {
		if _, err := load(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %q", src, err, want)
		}
	}
}
