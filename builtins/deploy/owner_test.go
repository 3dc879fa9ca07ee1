package deploy

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOwnerOf(t *testing.T) {
	tmp := t.TempDir()
	a, b := filepath.Join(tmp, "a", "app"), filepath.Join(tmp, "b", "app")
	for _, d := range []string{a, b} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(tmp, "link")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	oa, ob, ol := OwnerOf(a), OwnerOf(b), OwnerOf(link)
	if oa.ID == ob.ID || len(oa.ID) != 24 {
		t.Errorf("two workspaces named app: %+v and %+v", oa, ob)
	}
	if ol != oa {
		t.Errorf("the same workspace through a link: %+v, want %+v", ol, oa)
	}
	if oa.Path != a {
		t.Errorf("path %q, want %q", oa.Path, a)
	}
}
