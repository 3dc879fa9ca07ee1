package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/syntax"
)

// injectProject is a compose project whose names, paths and values try
// to end a comment or a string of the generated ferry.star and start a
// statement of their own: pwned().
const injectProject = `
name: inj
services:
  "W.x":
    image: busybox
  web:
    image: "busybox\"\npwned()\n#"
    command: ["sh", "-c", "echo \"\"\" \\\" \\\\ '''\npwned()"]
    environment:
      "A\npwned()": "x"
      B: "\"\"\"\npwned()\n\"\"\""
      C: "\\"
      "D\npwned()\n#": "pre${DB_PASSWORD}post"
      "E\npwned()": "${DB_PASSWORD}"
    labels:
      "l\"\npwned()\n": "v"
    env_file: "e\npwned().env"
    secrets: [s1]
    configs:
      - source: c1
        target: /etc/c
    volumes:
      - "v1:/data"
    networks: [n1]
    healthcheck:
      test: ["CMD-SHELL", "x\npwned()"]
secrets:
  s1:
    file: ./s.txt
configs:
  c1:
    content: "z\npwned()"
volumes:
  v1: {}
networks:
  n1: {}
`

// A compose file (a stranger's repository's) cannot make ferry import
// compose write a statement of its own into ferry.star: every value lands
// in a string literal, and every comment stays one line.
func TestImportInjection(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"compose.yaml": injectProject, "s.txt": "s", ".env": "DB_PASSWORD=hunter2\n", "e\npwned().env": "X=1\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Import(t.Context(), ImportOptions{LoadOptions: LoadOptions{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := (&syntax.FileOptions{}).Parse("ferry.star", res.Starlark, 0)
	if err != nil {
		t.Fatalf("the ferry.star does not parse: %v\n%s", err, res.Starlark)
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && id.Name == "pwned" {
			t.Errorf("ferry.star:%s: pwned() is code of ferry.star:\n%s", id.NamePos, res.Starlark)
		}
		return true
	})
	for _, line := range strings.Split(string(res.Starlark), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "pwned()") {
			t.Errorf("a line starts with pwned(): %q", line)
		}
	}
}

// A variable that names a secret never has its value written into
// ferry.star, wherever compose interpolates it: the argument that would
// hold it is left out and listed.
func TestImportSecretsNotWritten(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{".env": "DB_PASSWORD=hunter2sekret\nAPI_TOKEN=tok3nvalue\n", "compose.yaml": `
services:
  web:
    image: busybox
    command: ["--password=${DB_PASSWORD}"]
    labels:
      x: "${API_TOKEN}"
    healthcheck:
      test: ["CMD-SHELL", "check ${DB_PASSWORD}"]
    configs:
      - source: c
        target: /etc/c
    build:
      context: .
      args:
        A: "pre-${DB_PASSWORD}"
    extra_hosts: ["h:${DB_PASSWORD}"]
    environment:
      DB_PASSWORD: ${DB_PASSWORD}
configs:
  c:
    content: "password=${DB_PASSWORD}"
`}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Import(t.Context(), ImportOptions{LoadOptions: LoadOptions{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	out := string(res.Starlark)
	for _, v := range []string{"hunter2sekret", "tok3nvalue", markerOpen} {
		if strings.Contains(out, v) {
			t.Errorf("ferry.star holds %q:\n%s", v, out)
		}
	}
	for _, want := range []string{"command holds ${DB_PASSWORD}", "labels holds ${API_TOKEN}", "health holds", "configs holds", "build_args holds", "extra_hosts holds",
		`secret("db_password", dotenv = ".env", env = "DB_PASSWORD")`} {
		if !strings.Contains(out, want) {
			t.Errorf("ferry.star lacks %q:\n%s", want, out)
		}
	}
}

// A secret file outside the folder of ferry.star is read with a command:
// its path is one quoted word of it, so a path holding shell syntax (a
// stranger's compose file can name any) runs nothing when the secret is
// read.
func TestImportSecretCommandQuoted(t *testing.T) {
	base := t.TempDir()
	proj := filepath.Join(base, "proj")
	os.MkdirAll(proj, 0o755)
	evil := "s;touch pwned $(id) 'x'"
	os.WriteFile(filepath.Join(base, evil), []byte("v"), 0o644)
	os.WriteFile(filepath.Join(proj, "compose.yaml"), []byte("services:\n  web:\n    image: busybox\n    secrets: [s]\nsecrets:\n  s:\n    file: \"../"+strings.ReplaceAll(evil, "'", "'")+"\"\n"), 0o644)
	res, err := Import(t.Context(), ImportOptions{LoadOptions: LoadOptions{Dir: proj}})
	if err != nil {
		t.Fatal(err)
	}
	want := `cmd = "cat '../s;touch pwned $(id) '\\''x'\\'''"`
	if !strings.Contains(string(res.Starlark), want) {
		t.Errorf("ferry.star lacks %s:\n%s", want, res.Starlark)
	}
}
