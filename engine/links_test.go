package engine

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ferryhq/ferry/engine/redact"
)

// Markers stand for the contents of /etc/passwd and of an age identity:
// they must never reach output, errors or what a hash reads.
const (
	markerPasswd = "root:x:0:0:MARKER-PASSWD"
	markerAge    = "AGE-SECRET-KEY-1MARKERMARKER"
)

// outsideFiles returns a folder outside every test workspace that holds
// passwd and age/keys.txt with the markers.
func outsideFiles(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"passwd":       markerPasswd + ":/root:/bin/sh\n",
		"age/keys.txt": "# created: 2026-01-01\n" + markerAge + "\n",
	})
	return dir
}

// symlink makes the link at link (made with its folders) pointing to target.
func symlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// relLink returns target relative to the folder of link.
func relLink(t testing.TB, link, target string) string {
	t.Helper()
	r, err := filepath.Rel(filepath.Dir(link), target)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func noMarker(t *testing.T, what, s string) {
	t.Helper()
	for _, m := range []string{markerPasswd, markerAge} {
		if strings.Contains(s, m) {
			t.Errorf("%s holds the contents of a file outside the workspace (%q):\n%s", what, m, s)
		}
	}
}

// A load() of a module that is a link out of the workspace is refused at the
// load statement, naming the link and where it points; links that stay
// inside are followed.
func TestLoadThroughLinkOut(t *testing.T) {
	out := outsideFiles(t)
	writeFiles(t, out, map[string]string{"lib.star": "x = \"" + markerPasswd + "\"\n"})
	for name, target := range map[string]func(ws string) string{
		"absolute": func(string) string { return filepath.Join(out, "lib.star") },
		"relative": func(ws string) string {
			return relLink(t, filepath.Join(ws, "lib.star"), filepath.Join(out, "lib.star"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			ws := t.TempDir()
			writeFiles(t, ws, map[string]string{
				FileName:       "load(\"//ok.star\", \"y\")\nload(\"./lib.star\", \"x\")\nprint(x)\n",
				"real/ok.star": "y = 1\n",
			})
			symlink(t, "real/ok.star", filepath.Join(ws, "ok.star"))
			to := target(ws)
			symlink(t, to, filepath.Join(ws, "lib.star"))
			var mu sync.Mutex
			var printed strings.Builder
			_, err := Evaluate(context.Background(), Options{
				Workspace: &Workspace{Root: ws, File: filepath.Join(ws, FileName)},
				Events: NewBus(redact.New(), SinkFunc(func(e Event) {
					mu.Lock()
					printed.WriteString(e.Text)
					mu.Unlock()
				})),
			})
			wantErr(t, err, "ferry.star:2:", "lib.star", to)
			if err != nil {
				noMarker(t, "the error", err.Error())
			}
			noMarker(t, "the output", printed.String())
		})
	}
}

// Links are inputs as links: a folder in srcs lists them without entering
// them, and a link is hashed by its target string, never by what it points
// to. A loop or a link to a folder is not an error.
func TestFileIndexLinks(t *testing.T) {
	out := outsideFiles(t)
	ws := t.TempDir()
	writeFiles(t, ws, map[string]string{"src/a.txt": "a"})
	links := map[string]string{
		"src/passwd": filepath.Join(out, "passwd"),
		"src/age":    relLink(t, filepath.Join(ws, "src/age"), filepath.Join(out, "age")),
		"src/loopa":  "loopb",
		"src/loopb":  "loopa",
		"src/self":   ".",
		"src/parent": "..",
		"vendor":     "src",
		"etc":        out,
	}
	for link, target := range links {
		symlink(t, target, filepath.Join(ws, link))
	}
	age(t, ws)

	t.Run("folder link in srcs", func(t *testing.T) {
		sums, err := NewFileIndex(ws, nil).Sums([]string{"vendor"})
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != 1 || sums[0].Path != "vendor" || sums[0].Sum != linkSum("src") {
			t.Errorf("got %v, want vendor hashed as a link to src", sums)
		}
	})
	t.Run("links in a folder", func(t *testing.T) {
		sums, err := NewFileIndex(ws, nil).Sums([]string{"src"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range sums {
			got = append(got, s.Path)
			if target, ok := links[s.Path]; ok && s.Sum != linkSum(target) {
				t.Errorf("%s: not hashed as a link to %s", s.Path, target)
			}
		}
		if want := "src/a.txt src/age src/loopa src/loopb src/parent src/passwd src/self"; strings.Join(got, " ") != want {
			t.Errorf("got %v, want %s", got, want)
		}
	})
	t.Run("file link out", func(t *testing.T) {
		ix := NewFileIndex(ws, nil)
		before, err := ix.Hash("src/passwd")
		if err != nil {
			t.Fatal(err)
		}
		if before != linkSum(links["src/passwd"]) {
			t.Errorf("src/passwd is not hashed as a link")
		}
		writeFiles(t, out, map[string]string{"passwd": "changed"})
		after, err := NewFileIndex(ws, nil).Hash("src/passwd")
		if err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Errorf("the hash of a link changed with the contents of its target")
		}
		if _, hashed := ix.Counts(); hashed != 0 {
			t.Errorf("read %d files to hash a link", hashed)
		}
	})
	t.Run("through a folder link out", func(t *testing.T) {
		_, err := NewFileIndex(ws, nil).Sums([]string{"etc/passwd"})
		wantErr(t, err, "etc/passwd", "etc", out)
		if err != nil {
			noMarker(t, "the error", err.Error())
		}
		_, err = NewFileIndex(ws, nil).Hash("etc/age/keys.txt")
		wantErr(t, err, "etc/age/keys.txt", out)
	})
}

// A Tree follows relative links that stay inside it, refuses the others
// naming the link and its target, and lists links without entering them.
func TestTree(t *testing.T) {
	out := outsideFiles(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"real/a.txt": "a"})
	for link, target := range map[string]string{
		"in.txt":     "real/a.txt",
		"realdir":    "real",
		"abs.txt":    filepath.Join(dir, "real/a.txt"),
		"out":        relLink(t, filepath.Join(dir, "out"), out),
		"real/up":    "../..",
		"loop/a":     "b",
		"loop/b":     "a",
		"loop/self":  ".",
		"loop/paren": "..",
	} {
		symlink(t, target, filepath.Join(dir, link))
	}
	tr := NewTree(dir)
	defer tr.Close()
	for _, p := range []string{"in.txt", "realdir/a.txt", "real/../in.txt"} {
		if b, err := tr.ReadFile(p); err != nil || string(b) != "a" {
			t.Errorf("ReadFile(%s) = %q, %v; want the file a link inside leads to", p, b, err)
		}
	}
	for p, want := range map[string]string{
		"abs.txt":           "abs.txt is a link to " + filepath.Join(dir, "real/a.txt") + ", an absolute path",
		"out/passwd":        "out/passwd lies behind out, a link to " + relLink(t, filepath.Join(dir, "out"), out) + " (" + out + "), outside " + dir,
		"real/up/x":         "real/up/x lies behind real/up, a link to ../..",
		"loop/a":            "loop/a is a link to b, and resolving it follows more than 8 links",
		"realdir/up/passwd": "lies behind real/up, a link to ../..",
	} {
		_, err := tr.ReadFile(p)
		var le *LinkError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadFile(%s): got %v, want a LinkError containing %q", p, err, want)
		}
		if err != nil {
			noMarker(t, "the error", err.Error())
		}
	}
	if _, err := tr.ReadFile("missing.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(missing.txt): got %v, want fs.ErrNotExist", err)
	}
	var walked []string
	err := fs.WalkDir(tr.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		walked = append(walked, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := ". abs.txt in.txt loop loop/a loop/b loop/paren loop/self out real real/a.txt real/up realdir"
	if got := strings.Join(walked, " "); got != want {
		t.Errorf("walked %s\nwant    %s", got, want)
	}
}
