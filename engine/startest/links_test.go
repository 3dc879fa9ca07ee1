package startest_test

import (
	"os"
	"path/filepath"
	"testing"
)

// evaluate(dir = ...) evaluates folders of the workspace only: a link in
// the workspace (a repository under test can hold one) to a folder
// outside it is refused, as ../ is, so a test file of a pull request
// cannot evaluate, and print what it declares from, another project of
// the machine.
func TestEvaluateDirThroughLink(t *testing.T) {
	outside := write(t, map[string]string{
		"out/ferry.star": "task(name = 'leak', cmd = read_file('secret.txt'))\n",
		"out/secret.txt": "MARKER-OUTSIDE",
	})
	root := write(t, map[string]string{
		"leak_test.star": `def test_leak():
    assert.fails(lambda: evaluate(dir = "testdata/out"), "leaves the workspace")
    assert.fails(lambda: evaluate(dir = "//sub/out"), "leaves the workspace")
`,
	})
	os.MkdirAll(filepath.Join(root, "testdata"), 0o755)
	for link, target := range map[string]string{"testdata/out": filepath.Join(outside, "out"), "sub": outside} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	rep, out := run(t, root, nil)
	if p, f := rep.Counts(); p != 1 || f != 0 || rep.Broken() {
		t.Fatalf("%d passed, %d failed:\n%s", p, f, out)
	}
}
