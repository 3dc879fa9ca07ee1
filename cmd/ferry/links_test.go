package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The report: ferry plan printed /etc/passwd through a committed
// link, and a link to a folder in srcs panicked. A link out is refused,
// naming it; links in srcs are keyed as links; nothing of the files outside
// reaches the output.
func TestPlanLinksOutOfTheWorkspace(t *testing.T) {
	t.Parallel()
	const marker = "root:x:0:0:MARKER-PASSWD"
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "passwd"), []byte(marker+":/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws := newWorkspace(t, map[string]string{
		"ferry.star":  "task(name = \"build\", cmd = \"true\", srcs = glob([\"src/**\"]) + [\"vendor\"])\n",
		"src/main.go": "package main\n",
		"read.star":   "print(read_file(\"src/passwd\"))\n",
	})
	for link, target := range map[string]string{
		"src/passwd": filepath.Join(out, "passwd"),
		"src/etc":    out,
		"src/loopa":  "loopb",
		"src/loopb":  "loopa",
		"vendor":     "src",
	} {
		if err := os.Symlink(target, ws.path(link)); err != nil {
			t.Fatal(err)
		}
	}
	r := ws.ferry(t, "plan")
	if r.code != 0 || !strings.Contains(r.stdout, "would run") {
		t.Errorf("ferry plan with links in srcs: exit %d\n%s", r.code, r)
	}
	if strings.Contains(r.stdout+r.stderr, marker) {
		t.Errorf("ferry plan printed a file outside the workspace:\n%s", r)
	}
	r = ws.ferry(t, "-f", "read.star", "plan")
	if r.code != 2 || !strings.Contains(r.stderr, "read.star:1:16: read_file: src/passwd is a link to "+filepath.Join(out, "passwd")) {
		t.Errorf("ferry plan reading a link out: exit %d, want 2 and a refusal of the link\n%s", r.code, r)
	}
	if strings.Contains(r.stdout+r.stderr, marker) {
		t.Errorf("ferry plan printed a file outside the workspace:\n%s", r)
	}
}
