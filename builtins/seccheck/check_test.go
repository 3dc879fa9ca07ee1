package seccheck

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker"
	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
)

// evaluate writes files into a new workspace and evaluates its ferry.star
// with the real image(), service() and job().
func evaluate(t *testing.T, files map[string]string) (string, []engine.Rule) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		Plugins:   []engine.Plugin{core.Plugin{}, docker.Plugin{Project: "p"}, &deploy.Plugin{Project: "p"}, &secret.Plugin{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewGraph(res.Rules); err != nil { // links services to images
		t.Fatal(err)
	}
	return dir, res.Rules
}

func ids(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+" "+f.Pos())
	}
	return out
}

func TestServiceRules(t *testing.T) {
	dir, rules := evaluate(t, map[string]string{"ferry.star": `
network("host", external = True)
service(name = "db", image = "postgres:16", ports = ["5432:5432", "0.0.0.0:5432:5432"], user = "999")
service(name = "db-local", image = "postgres:16", ports = ["127.0.0.1:5432:5432", "8080:80"], user = "999")
service(name = "cache", image = "redis:7", ports = ["6379", "0.0.0.0::6379"], user = "999")
service(name = "agent", image = "agent:1", volumes = ["/var/run/docker.sock:/var/run/docker.sock:ro"], user = "1")
service(name = "files", image = "files:1", volumes = ["./data:/data", "/srv/www:/www"], user = "1")
service(name = "edge", image = "edge:1", networks = ["host"], user = "1")
service(name = "own-host", image = "edge:1", networks = ["backend"], user = "1")
job(name = "admin", image = "tool:1", user = "root")
# ferry:ignore FERRY-SV003
service(name = "db-dev", image = "postgres:16", ports = ["5433:5432"], user = "999")
service(name = "probe", image = "edge:1", network_mode = "host", user = "1")
service(name = "dind", image = "dind:1", privileged = True, user = "1")
job(name = "sandbox", image = "tool:1", network_mode = "none", privileged = False, user = "1")
service(name = "bridged", image = "edge:1", network_mode = "bridge", user = "1")
# ferry:ignore FERRY-SV005
job(name = "fs-tool", image = "tool:1", privileged = True, user = "1")
service(name = "cache2", image = "redis:7", ports = ["0.0.0.0:16379:6379", "[::ffff:0:0]:8086:8086/udp", "8087:8086/udp"], user = "999")
job(name = "admin2", image = "tool:1", user = "root:root")
job(name = "admin3", image = "tool:1", user = "00:0")
job(name = "group0", image = "tool:1", user = "1000:0")
service(name = "rootless", image = "agent:1", volumes = ["/run/user/1000/docker.sock:/var/run/docker.sock"], user = "1")
service(name = "podman", image = "agent:1", volumes = ["/run/podman/podman.sock:/run/podman.sock", "/var:/host-var:ro"], user = "1")
service(name = "dirs", image = "agent:1", volumes = ["/srv/docker:/d", "/var/lib/app:/data", "./run:/run"], user = "1")
service(name = "db6", image = "postgres:16", ports = ["[::]:5432:5432"], user = "999")
service(name = "db6-local", image = "postgres:16", ports = ["[::1]:5432:5432", "127.0.0.1:5433:5432", "[::1]::6379"], user = "999")
service(name = "cache6", image = "redis:7", ports = ["[0:0:0:0:0:0:0:0]:6379:6379"], user = "999")
service(name = "db-mapped", image = "postgres:16", ports = ["[::ffff:0.0.0.0]:5432:5432", "[0:0::0]::3306", "[::ffff:127.0.0.1]:5433:5432"], user = "999")
service(name = "homes", image = "agent:1", volumes = ["~:/h", "~/.ssh:/ssh:ro", "/root/.docker:/d", "~/code:/code", "/home/bob/.aws/:/aws"], user = "1")
`})
	var fs []Finding
	for _, r := range rules {
		got, err := checkService(context.Background(), dir, r.(*deploy.Rule))
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, got...)
	}
	want := []string{
		"FERRY-SV003 ferry.star:3:8",
		"FERRY-SV003 ferry.star:5:8",
		"FERRY-SV002 ferry.star:6:8",
		"FERRY-SV001 ferry.star:8:8",
		"FERRY-SV004 ferry.star:10:4",
		"FERRY-SV001 ferry.star:13:8",
		"FERRY-SV005 ferry.star:14:8",
		"FERRY-SV003 ferry.star:19:8",
		"FERRY-SV003 ferry.star:19:8",
		"FERRY-SV004 ferry.star:20:4",
		"FERRY-SV004 ferry.star:21:4",
		"FERRY-SV002 ferry.star:23:8",
		"FERRY-SV002 ferry.star:24:8",
		"FERRY-SV002 ferry.star:24:8",
		"FERRY-SV003 ferry.star:26:8",
		"FERRY-SV003 ferry.star:28:8",
		"FERRY-SV003 ferry.star:29:8",
		"FERRY-SV003 ferry.star:29:8",
		"FERRY-SV007 ferry.star:30:8",
		"FERRY-SV007 ferry.star:30:8",
		"FERRY-SV007 ferry.star:30:8",
		"FERRY-SV007 ferry.star:30:8",
	}
	if got := ids(fs); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if !strings.Contains(fs[0].Message, `service "db": publishes PostgreSQL port 5432 on every interface`) {
		t.Errorf("message: %s", fs[0].Message)
	}
	// A port written without an address is published on loopback: not
	// flagged. The fix names the mapping found, on loopback.
	for i, port := range map[int]string{0: "127.0.0.1:5432:5432", 1: "127.0.0.1::6379", 7: "127.0.0.1:16379:6379", 8: "127.0.0.1:8086:8086/udp"} {
		if want := `publish it on loopback only ("` + port + `")`; !strings.Contains(fs[i].Fix, want) {
			t.Errorf("%s fix: %q, want %q", fs[i].Pos(), fs[i].Fix, want)
		}
	}
	if !strings.Contains(fs[14].Message, `service "db6": publishes PostgreSQL port 5432 on every interface ([::]:5432:5432/tcp)`) || !strings.Contains(fs[14].Fix, `"[::1]:5432:5432"`) {
		t.Errorf("IPv6 finding: %s / %s", fs[14].Message, fs[14].Fix)
	}
	if !strings.Contains(fs[5].Message, `service "probe": network_mode = "host"`) || !strings.Contains(fs[6].Message, `service "dind": privileged = True`) {
		t.Errorf("messages: %s / %s", fs[5].Message, fs[6].Message)
	}
}

// The checks of the container settings: a powerful capability is an
// error, confinement turned off a warning, and a service that began to
// harden its container is told, as info, what it left at Docker's
// defaults; a plain service is not flagged.
func TestContainerSettingRules(t *testing.T) {
	dir, rules := evaluate(t, map[string]string{"ferry.star": `
service(name = "plain", image = "app:1", user = "1")
service(name = "admin", image = "app:1", user = "1", cap_add = ["sys_admin", "NET_BIND_SERVICE"], cap_drop = ["ALL"], read_only = True)
service(name = "all", image = "app:1", user = "1", cap_add = ["ALL"], read_only = True)
service(name = "tracer", image = "app:1", user = "1", cap_add = ["SYS_PTRACE", "NET_ADMIN"], cap_drop = ["ALL"], read_only = True)
service(name = "open", image = "app:1", user = "1", security_opt = ["seccomp:unconfined", "apparmor=unconfined", "no-new-privileges:true"], cap_drop = ["ALL"], read_only = True)
service(name = "hardened", image = "app:1", user = "1", cap_drop = ["ALL"], cap_add = ["CHOWN"], read_only = True, security_opt = ["no-new-privileges:true"])
service(name = "half", image = "app:1", user = "1", cap_drop = ["ALL"])
job(name = "migrate", image = "app:1", user = "1", cap_add = ["NET_BIND_SERVICE"])
# ferry:ignore FERRY-SV008
service(name = "vpn", image = "app:1", user = "1", cap_add = ["NET_ADMIN"], cap_drop = ["ALL"], read_only = True)
`})
	var fs []Finding
	for _, r := range rules {
		got, err := checkService(context.Background(), dir, r.(*deploy.Rule))
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, got...)
	}
	want := []string{
		"FERRY-SV008 ferry.star:3:8",
		"FERRY-SV008 ferry.star:4:8",
		"FERRY-SV010 ferry.star:4:8",
		"FERRY-SV008 ferry.star:5:8",
		"FERRY-SV008 ferry.star:5:8",
		"FERRY-SV009 ferry.star:6:8",
		"FERRY-SV009 ferry.star:6:8",
		"FERRY-SV010 ferry.star:8:8",
	}
	if got := ids(fs); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i, msg := range map[int]string{
		0: `service "admin": cap_add SYS_ADMIN: mount, namespaces and much more`,
		2: `service "all": it keeps Docker's default capabilities (no cap_drop = ["ALL"])`,
		5: `service "open": security_opt "seccomp:unconfined" turns off a confinement`,
		7: `service "half": its root filesystem is writable (read_only = False)`,
	} {
		if !strings.Contains(fs[i].Message, msg) {
			t.Errorf("finding %d: %s, want %q", i, fs[i].Message, msg)
		}
	}
	if fs[0].Severity != Error || fs[5].Severity != Warning || fs[7].Severity != Info {
		t.Errorf("severities: %s %s %s", fs[0].Severity, fs[5].Severity, fs[7].Severity)
	}
}

func TestCheck(t *testing.T) {
	dir, rules := evaluate(t, map[string]string{
		"ferry.star": `
image(name = "base", repo = "acme/base", context = "base")
image(name = "api-image", repo = "acme/api", context = "api")
image(name = "tool", repo = "acme/tool", context = "tool")
service(name = "api", image = "api-image", user = "1000", health = health.tcp(8080))
job(name = "migrate", image = "api-image", user = "1000")
job(name = "once", image = "tool")
`,
		"base/Dockerfile": "FROM debian:12\nUSER 1000\nHEALTHCHECK CMD [\"/ok\"]\n",
		"api/Dockerfile":  "FROM acme/base\nCOPY api /api\n",
		"tool/Dockerfile": "FROM scratch\nENV API_TOKEN=abc\n",
		"tool/notes.txt":  "api_key = \"" + apiKey + "\"\n",
	})
	rep, err := Check(context.Background(), Options{Root: dir, Rules: rules, History: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"FERRY-DF004 tool/Dockerfile:2",
		"FERRY-DF002 base/Dockerfile:1",
		"FERRY-DF001 tool/Dockerfile:1",
		"FERRY-SEC011 tool/notes.txt:1:12",
	}
	// Not reported: acme/base is built here, so api needs no digest; api's
	// runners set a user and its service a health check; tool is run by a
	// job only, which needs no health check.
	if got := ids(rep.Findings); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "not in a git repository") }) {
		t.Errorf("notes %v do not say the history was not scanned", rep.Notes)
	}

	rep, err = Check(context.Background(), Options{Root: dir, Rules: rules, Ignore: []string{"FERRY-DF004", "FERRY-SEC011"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(rep.Findings); !slices.Equal(got, []string{want[1], want[2]}) {
		t.Errorf("ignoring DF004 and SEC011: got %v", got)
	}

	_, err = Check(context.Background(), Options{Root: dir, Rules: rules, Ignore: []string{"FERRY-DF04"}})
	if err == nil || !strings.Contains(err.Error(), "did you mean FERRY-DF004?") {
		t.Errorf("unknown id: got %v", err)
	}
}

// TestSecretFileInContext: FERRY-IMG001 reports a plaintext secret file
// that a build context sends, at the secret() call, and no other.
func TestSecretFileInContext(t *testing.T) {
	dir, rules := evaluate(t, map[string]string{
		"ferry.star": `
sent = secret("sent", file = "app/api.token")
env = secret("env", dotenv = "app/.env", env = "DB")
ignored = secret("ignored", file = "app/keys/tls.key")
dropped = secret("dropped", file = "app/drop.token")
sealed = secret("sealed", encrypted = "app/api.token.age")
outside = secret("outside", file = "secrets/api.token")
# ferry:ignore FERRY-IMG001
allowed = secret("allowed", file = "app/allowed.token")
image(name = "app", repo = "acme/app", context = "app", ignore = ["drop.token"])
image(name = "other", repo = "acme/other", context = "other")
`,
		"app/Dockerfile":    "FROM scratch\nCOPY . /app\nUSER 1000\nHEALTHCHECK CMD [\"/ok\"]\n",
		"app/.dockerignore": "keys/\n",
		"app/api.token":     "plain value\n",
		"app/.env":          "DB=plain value\n",
		"app/keys/tls.key":  "plain value\n",
		"app/drop.token":    "plain value\n",
		"app/api.token.age": "ciphertext\n",
		"app/allowed.token": "plain value\n",
		"secrets/api.token": "plain value\n",
		"other/Dockerfile":  "FROM scratch\nUSER 1000\nHEALTHCHECK CMD [\"/ok\"]\n",
	})
	rep, err := Check(context.Background(), Options{Root: dir, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Findings {
		if f.Rule == "FERRY-IMG001" {
			got = append(got, f.Rule+" "+f.Pos())
		}
	}
	want := []string{"FERRY-IMG001 ferry.star:2:14", "FERRY-IMG001 ferry.star:3:13"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	f := rep.Findings[slices.IndexFunc(rep.Findings, func(f Finding) bool { return f.Rule == "FERRY-IMG001" })]
	if f.Severity != Error || !strings.Contains(f.Message, `secret "sent" is read from app/api.token, which the build context of image "app" sends`) ||
		!strings.Contains(f.Fix, ".dockerignore") {
		t.Errorf("finding: %+v", f)
	}
}

func TestCheckHistoryDedup(t *testing.T) {
	dir, rules := evaluate(t, map[string]string{"ferry.star": "x = 1\n", "a.env": "ID=" + awsID + "\n"})
	git(t, dir, "init", "-q")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "one")
	writeFiles(t, dir, map[string]string{"b.env": "GH=" + ghToken + "\n"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "two")
	writeFiles(t, dir, map[string]string{"b.env": "GH=${GH}\n", "c.env": "GH=" + ghToken + "\n"})
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "three")
	writeFiles(t, dir, map[string]string{"c.env": "GH=${GH}\n"})
	git(t, dir, "commit", "-q", "-am", "four")
	second := git(t, dir, "rev-parse", "HEAD~2")

	rep, err := Check(context.Background(), Options{Root: dir, Rules: rules, History: true})
	if err != nil {
		t.Fatal(err)
	}
	// The AWS key is still in a.env: reported there, not in history too.
	// The GitHub token was in two commits: reported once, where it came in.
	want := []string{"FERRY-SEC001 a.env:1:4", "FERRY-SEC003 " + second[:12] + ":b.env:1:4"}
	if got := ids(rep.Findings); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if !strings.Contains(rep.Findings[1].Message, "in git history") {
		t.Errorf("history finding says %q", rep.Findings[1].Message)
	}
}

// TestCheckHistoryPrivateKeys checks that two private keys, which share
// their BEGIN line, are told apart: one still in the files does not hide
// another that only history holds.
func TestCheckHistoryPrivateKeys(t *testing.T) {
	key := func(body string) string { return pemHead + "\n" + body + "\n-----END RSA " + "PRIVATE KEY-----\n" }
	dir, rules := evaluate(t, map[string]string{"ferry.star": "x = 1\n", "a.pem": key("MIIEowIBAAKCAQEAq1"), "b.pem": key("MIIEpAIBAAKCAQEAz9")})
	git(t, dir, "init", "-q")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "one")
	git(t, dir, "rm", "-q", "b.pem")
	git(t, dir, "commit", "-q", "-m", "two")
	first := git(t, dir, "rev-parse", "HEAD~1")

	rep, err := Check(context.Background(), Options{Root: dir, Rules: rules, History: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"FERRY-SEC008 a.pem:1:1", "FERRY-SEC008 " + first[:12] + ":b.pem:1:1"}
	if got := ids(rep.Findings); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestImageTagRule(t *testing.T) {
	dir, rules := evaluate(t, map[string]string{"ferry.star": `
service(name = "a", image = "postgres", user = "1")
service(name = "b", image = "postgres:latest", user = "1")
job(name = "c", image = "reg.example.com:5000/team/tool:latest", user = "1")
service(name = "d", image = "postgres:16", user = "1")
service(name = "e", image = "postgres@sha256:` + strings.Repeat("ab", 32) + `", user = "1")
# ferry:ignore FERRY-SV006
service(name = "f", image = "redis", user = "1")
`})
	var got []string
	for _, r := range rules {
		fs, err := checkService(context.Background(), dir, r.(*deploy.Rule))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			got = append(got, fmt.Sprintf("%s %s:%d %s", f.Rule, f.File, f.Line, f.Message))
		}
	}
	want := []string{
		`FERRY-SV006 ferry.star:2 service "a": image "postgres" has no tag (so it is latest): what it runs changes whenever the tag moves`,
		`FERRY-SV006 ferry.star:3 service "b": image "postgres:latest" is on the tag latest: what it runs changes whenever the tag moves`,
		`FERRY-SV006 ferry.star:4 job "c": image "reg.example.com:5000/team/tool:latest" is on the tag latest: what it runs changes whenever the tag moves`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FERRY-IMG002 reports an image that forwards SSH into its build, at the
// image() call, unless a comment there ignores it.
func TestSSHForwardedToBuild(t *testing.T) {
	dir, rules := evaluate(t, map[string]string{
		"ferry.star": `
image(name = "deps", repo = "acme/deps", context = "app", ssh = ["default"])
# ferry:ignore FERRY-IMG002
image(name = "allowed", repo = "acme/allowed", context = "app", ssh = ["default"])
image(name = "plain", repo = "acme/plain", context = "app")
`,
		"app/Dockerfile": "FROM scratch\nUSER 1000\nHEALTHCHECK CMD [\"/ok\"]\n",
	})
	rep, err := Check(context.Background(), Options{Root: dir, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	var got []Finding
	for _, f := range rep.Findings {
		if f.Rule == "FERRY-IMG002" {
			got = append(got, f)
		}
	}
	if len(got) != 1 || got[0].Pos() != "ferry.star:2:6" || !strings.Contains(got[0].Message, `image "deps" forwards SSH credentials into its build (ssh = default)`) {
		t.Errorf("FERRY-IMG002 findings: %+v", got)
	}
}

// FERRY-SV011 flags an env_file that git takes into the repository (not
// ignored, or tracked) with a credential-like value in clear; an ignored
// one, placeholders and files' paths are not flagged, nor anything
// outside a git repository.
func TestEnvFileSecrets(t *testing.T) {
	files := map[string]string{
		"ferry.star": `
service(name = "api", image = "api:1", user = "1", env_file = ["api.env", "local.env"])
service(name = "db", image = "db:1", user = "1", env_file = "db.env")
service(name = "web", image = "web:1", user = "1", env_file = "web.env")
`,
		"api.env":    "DB_PASSWORD=hunter2hunter2\nAPI_TOKEN=tok-4f9a8b7c6d5e\nLEVEL=info\n",
		"local.env":  "DB_PASSWORD=s3cr3t-local\n",
		"db.env":     "POSTGRES_PASSWORD_FILE=/run/secrets/db\nPOSTGRES_PASSWORD=changeme\nSECRET_KEY=${SECRET_KEY}\n",
		"web.env":    "STRIPE_SECRET=sk-1234567890\n",
		".gitignore": "local.env\n",
	}
	check := func(dir string, rules []engine.Rule) []string {
		var out []string
		for _, r := range rules {
			fs, err := checkService(context.Background(), dir, r.(*deploy.Rule))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				if f.Rule == "FERRY-SV011" {
					out = append(out, f.Pos()+" "+f.Message)
				}
			}
		}
		return out
	}
	dir, rules := evaluate(t, files)
	if got := check(dir, rules); len(got) != 0 {
		t.Errorf("outside a git repository: %v", got)
	}
	git(t, dir, "init", "-q")
	git(t, dir, "add", "web.env")
	git(t, dir, "commit", "-qm", "web")
	writeFiles(t, dir, map[string]string{".gitignore": "local.env\nweb.env\n"}) // ignored, but tracked already
	want := []string{
		`ferry.star:2:8 service "api": env_file api.env sets API_TOKEN, DB_PASSWORD in clear, and git does not ignore the file, so the value lands in the repository and its history`,
		`ferry.star:4:8 service "web": env_file web.env sets STRIPE_SECRET in clear, and git does not ignore the file, so the value lands in the repository and its history`,
	}
	if got := check(dir, rules); !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
