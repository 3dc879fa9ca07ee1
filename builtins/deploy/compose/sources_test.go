package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSourcesPos(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"compose.yaml": `include:
  - path: [inc/more.yaml]
services:
  web:
    extends:
      file: base.yaml
      service: base
    ports:
      - "80"
      - target: 443
        mode: host
  local:
    extends: web
`,
		"base.yaml": `services:
  base:
    image: nginx
    logging:
      driver: syslog
`,
		"inc/more.yaml": `services:
  db:
    image: postgres
    shm_size: 1g
`,
	} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	s := newSources(dir, []string{filepath.Join(dir, "compose.yaml")})
	for _, tc := range []struct{ path, want string }{
		{"services.web.ports.[].mode", "compose.yaml:11"},
		{"services.web.ports.0", "compose.yaml:9"},
		{"services.web.logging.driver", "base.yaml:5"},
		{"services.local.logging", "base.yaml:4"},
		{"services.db.shm_size", "inc/more.yaml:4"},
		{"services.web.nothing", "compose.yaml:4"},
		{"networks.x", ""},
	} {
		if got := s.pos(tc.path); got != tc.want {
			t.Errorf("pos(%s) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestYAMLError(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"yaml: while parsing a block mapping at line 1, column 3: line 3, column 4: did not find expected key", "c.yaml:4: did not find expected key"},
		{"yaml: while scanning for the next token at line 2: found character that cannot start any token", "c.yaml:2: found character that cannot start any token"},
		{"yaml: something else", "c.yaml: something else"},
	} {
		if got := yamlError("c.yaml", tc.msg); got != tc.want {
			t.Errorf("yamlError(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}

func TestRenderSplitsLongCalls(t *testing.T) {
	var sb strings.Builder
	call{fn: "volume", args: []arg{{value: str("data")}}}.render(&sb)
	call{fn: "service", args: []arg{{"name", str("api")}, {"image", str("x")}, {"ports", strs([]string{"80"})}, {"env", strDict(map[string]string{"B": "2", "A": "1", "C": "3"})}}}.render(&sb)
	want := `volume("data")
service(
    name = "api",
    image = "x",
    ports = ["80"],
    env = {
        "A": "1",
        "B": "2",
        "C": "3",
    },
)
`
	if sb.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", sb.String(), want)
	}
}

func TestStarName(t *testing.T) {
	tr := &translator{vars: map[string]bool{}}
	for _, tc := range []struct{ in, want string }{
		{"db-password", "db_password"},
		{"db.password", "db_password_2"},
		{"service", "secret_service"},
		{"1key", "secret_1key"},
	} {
		if got := tr.freeVar(tc.in); got != tc.want {
			t.Errorf("freeVar(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
