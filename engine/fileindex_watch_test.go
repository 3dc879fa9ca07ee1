package engine

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// sumsOf returns the digests of inputs, failing the test on an error.
func sumsOf(t *testing.T, ix *FileIndex, inputs ...string) []FileSum {
	t.Helper()
	sums, err := ix.Sums(inputs)
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

// In a watch, an input that no reported change touched is not stat-ed
// again; a change reported within it, a folder above it, a folder holding
// it removed, lost events, or the engine hashing it as a rule's output
// make Sums look at it again. Files hashed within the racy window are not
// kept. Outside a watch, every Sums stats every file.
func TestFileIndexWatched(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"src/a.txt": "a", "src/b.txt": "b", "one.txt": "1", "deep/x/y.txt": "y"})
	age(t, root)
	write := func(rel, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, rel), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		age(t, root)
	}
	stats := func(ix *FileIndex) int64 { s, _ := ix.Counts(); return s }

	plain := NewFileIndex(root, nil)
	sumsOf(t, plain, "src", "one.txt")
	n := stats(plain)
	sumsOf(t, plain, "src", "one.txt")
	if stats(plain) == n {
		t.Fatal("outside a watch, a second Sums stat-ed nothing")
	}

	ix := NewFileIndex(root, nil)
	ix.Watched()
	first := sumsOf(t, ix, "src", "one.txt", "deep/x")
	n = stats(ix)
	if again := sumsOf(t, ix, "src", "one.txt", "deep/x"); !slices.Equal(again, first) || stats(ix) != n {
		t.Fatalf("in a watch, an untouched input was stat-ed again (%d stats, then %d)", n, stats(ix))
	}

	for _, c := range []struct {
		what    string
		change  func()
		input   string
		changed string
	}{
		{"a file reported in a folder input", func() { write("src/a.txt", "a2"); ix.Invalidate([]string{"src/a.txt"}, false) }, "src", "src/a.txt"},
		{"a file input reported", func() { write("one.txt", "12"); ix.Invalidate([]string{"one.txt"}, false) }, "one.txt", "one.txt"},
		{"a folder holding the input reported (moved away and back)", func() { write("deep/x/y.txt", "y2"); ix.Invalidate([]string{"deep"}, false) }, "deep/x", "deep/x/y.txt"},
		{"lost events", func() { write("src/b.txt", "b2"); ix.Invalidate(nil, true) }, "src", "src/b.txt"},
		{"a rule's output hashed", func() {
			write("one.txt", "123")
			if _, err := ix.Hash("one.txt"); err != nil {
				t.Fatal(err)
			}
		}, "one.txt", "one.txt"},
		{"a rule's output hashed in a folder it created", func() {
			writeFiles(t, root, map[string]string{"deep/new/out.txt": "o"})
			age(t, root)
			if _, err := ix.Hash("deep/new/out.txt"); err != nil {
				t.Fatal(err)
			}
		}, "deep", "deep/new/out.txt"},
	} {
		before := sumsOf(t, ix, c.input)
		c.change()
		after := sumsOf(t, ix, c.input)
		i := slices.IndexFunc(after, func(s FileSum) bool { return s.Path == c.changed })
		j := slices.IndexFunc(before, func(s FileSum) bool { return s.Path == c.changed })
		if i < 0 || j >= 0 && after[i].Sum == before[j].Sum { // changed, or new
			t.Errorf("%s: Sums(%s) did not see the change to %s", c.what, c.input, c.changed)
		}
	}

	// A folder input of folders: a change in one subfolder stats that
	// subfolder's files only; a new file and a renamed subfolder are seen.
	writeFiles(t, root, map[string]string{"tree/p/1.txt": "1", "tree/p/2.txt": "2", "tree/q/3.txt": "3", "tree/4.txt": "4"})
	age(t, root)
	ix.Invalidate(nil, true)
	paths := func() []string {
		var out []string
		for _, s := range sumsOf(t, ix, "tree") {
			out = append(out, s.Path)
		}
		return out
	}
	paths()
	write("tree/p/1.txt", "1b")
	ix.Invalidate([]string{"tree/p/1.txt"}, false)
	n = stats(ix)
	paths()
	if got := stats(ix) - n; got != 2 {
		t.Errorf("a change in tree/p stat-ed %d files, want the 2 of tree/p", got)
	}
	write("tree/q/5.txt", "5")
	ix.Invalidate([]string{"tree/q/5.txt"}, false)
	if got := paths(); !slices.Contains(got, "tree/q/5.txt") {
		t.Errorf("a new file reported: Sums(tree) = %v", got)
	}
	if err := os.Rename(filepath.Join(root, "tree/q"), filepath.Join(root, "tree/r")); err != nil {
		t.Fatal(err)
	}
	ix.Invalidate([]string{"tree/q", "tree/r"}, false)
	if got := paths(); !slices.Equal(got, []string{"tree/4.txt", "tree/p/1.txt", "tree/p/2.txt", "tree/r/3.txt", "tree/r/5.txt"}) {
		t.Errorf("a renamed folder reported: Sums(tree) = %v", got)
	}

	// File inputs out of order: what is kept of each is its own digest,
	// whatever Sums does with its list afterwards.
	ix.Invalidate(nil, true)
	want := sumsOf(t, plain, "one.txt", "src/a.txt")
	for i := range 3 {
		if got := sumsOf(t, ix, "src/a.txt", "one.txt"); !slices.Equal(got, want) {
			t.Errorf("file inputs out of order, Sums %d: %v, want %v", i+1, got, want)
		}
		ix.Invalidate([]string{"src/a.txt"}, false)
	}

	// An unreported change is not seen: that is the watch's promise.
	sumsOf(t, ix, "src")
	write("src/a.txt", "unreported")
	n = stats(ix)
	sumsOf(t, ix, "src")
	if stats(ix) != n {
		t.Errorf("an input no change was reported for was stat-ed")
	}

	// A file hashed right after it was written is not kept.
	ix.Invalidate(nil, true)
	if err := os.WriteFile(filepath.Join(root, "one.txt"), []byte("racy"), 0o644); err != nil {
		t.Fatal(err)
	}
	sumsOf(t, ix, "one.txt")
	n = stats(ix)
	sumsOf(t, ix, "one.txt")
	if stats(ix) == n {
		t.Errorf("a file hashed within the racy window was kept")
	}
}
