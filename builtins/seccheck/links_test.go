package seccheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A Dockerfile that links out of the workspace is refused by lint, naming
// the link, and its target's contents reach neither findings nor errors.
func TestDockerfileLinkOut(t *testing.T) {
	out := t.TempDir()
	const marker = "root:x:0:0:MARKER-PASSWD"
	if err := os.WriteFile(filepath.Join(out, "passwd"), []byte(marker+":/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, rules := evaluate(t, map[string]string{
		"ferry.star":  `image(name = "app", repo = "acme/app", context = "app")`,
		"app/main.go": "",
	})
	if err := os.Symlink(filepath.Join(out, "passwd"), filepath.Join(dir, "app/Dockerfile")); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(context.Background(), Options{Root: dir, Rules: rules})
	if err == nil || !strings.Contains(err.Error(), "app/Dockerfile is a link to "+filepath.Join(out, "passwd")) {
		t.Errorf("got %v, %+v; want a refusal of the link app/Dockerfile", err, rep)
	}
	if err != nil && strings.Contains(err.Error(), marker) {
		t.Errorf("the error holds the contents of the file the link points to: %v", err)
	}
}
