package engine

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTreeOpenDirFast checks the one-call folder open of Linux: it opens
// only folders with no link on the way, and listing or stat-ing through it
// gives what going through the os.Root gives.
func TestTreeOpenDirFast(t *testing.T) {
	out := outsideFiles(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"real/a.txt": "a", "real/sub/b.txt": "b", "file.txt": "f"})
	for link, target := range map[string]string{
		"realdir":   "real",
		"out":       relLink(t, filepath.Join(dir, "out"), out),
		"real/up":   "../..",
		"loop/a":    "b",
		"loop/b":    "a",
		"loop/self": ".",
	} {
		symlink(t, target, filepath.Join(dir, link))
	}
	tr := NewTree(dir)
	defer tr.Close()
	fast := map[string]bool{"": true, "real": true, "real/sub": true, "loop": true}
	paths := []string{"", "real", "real/sub", "loop", "realdir", "realdir/sub", "out", "real/up", "real/up/real", "loop/a", "loop/self", "missing", "file.txt", "../x", "real/../real"}
	for _, p := range paths {
		fd, ok := tr.openDir(p)
		if ok {
			unix.Close(fd)
		}
		if ok != fast[p] {
			t.Errorf("openDir(%q) = %v, want %v: only a folder with no link on the way opens in one call", p, ok, fast[p])
		}
	}
	list := func() string {
		var b strings.Builder
		for _, p := range paths {
			entries, err := tr.FS().(fs.ReadDirFS).ReadDir(p)
			fmt.Fprintf(&b, "%s: %v\n", p, err)
			for _, e := range entries {
				fi, err := e.Info()
				if err != nil {
					t.Errorf("Info of %s in %q: %v", e.Name(), p, err)
					continue
				}
				fmt.Fprintf(&b, "  %s %v %s %v\n", e.Name(), e.Type(), fi.Name(), fi.Mode().Type())
			}
		}
		ix := NewFileIndex(dir, nil)
		defer ix.closeRoot()
		st := ix.newStatter()
		defer st.close()
		for _, p := range []string{"file.txt", "real/a.txt", "real/sub/b.txt", "realdir/a.txt", "out/passwd", "real/up/file.txt", "missing/x", "file.txt/x"} {
			cur, kind, err := st.stat(p)
			fmt.Fprintf(&b, "stat %s: %d %d %v\n", p, cur.Size, kind, err)
		}
		return b.String()
	}
	got := list()
	noOpenat2.Store(true)
	defer noOpenat2.Store(false)
	if want := list(); got != want {
		t.Errorf("through openDir:\n%s\nthrough the os.Root:\n%s", got, want)
	}
}
