package mod

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Two ferry processes fill an empty cache with the same modules at once:
// both succeed and pin the same trees, and the cache holds each tree once.
func TestTwoProcessesFillCache(t *testing.T) {
	srv := newGitServer(t)
	mod := ""
	for _, name := range []string{"a", "b", "c", "d"} {
		files := map[string]string{}
		for i := range 20 {
			files[fmt.Sprintf("f%d.star", i)] = fmt.Sprintf("v%d = %q", i, name)
		}
		srv.Commit(t, name, files, "v1.0.0")
		mod += fmt.Sprintf("dep(%q, repo = %q, version = \"v1.0.0\")\n", name, srv.URL(name))
	}
	cache := t.TempDir()
	var cmds []*exec.Cmd
	var wss []string
	for range 2 {
		ws := workspace(t, map[string]string{"ferry.mod": mod, "ferry.star": ""})
		wss = append(wss, ws)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperResolve$", "-test.count=1")
		cmd.Env = append(os.Environ(), "FERRY_MOD_HELPER_DIR="+ws, "FERRY_MODCACHE="+cache)
		cmds = append(cmds, cmd)
	}
	outs := make([][]byte, len(cmds))
	errs := make([]error, len(cmds))
	done := make(chan int)
	for i, cmd := range cmds {
		go func() { outs[i], errs[i] = cmd.CombinedOutput(); done <- i }()
	}
	for range cmds {
		<-done
	}
	for i := range cmds {
		if errs[i] != nil {
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	l0, l1 := readFile(t, filepath.Join(wss[0], LockFileName)), readFile(t, filepath.Join(wss[1], LockFileName))
	if l0 != l1 {
		t.Errorf("the processes pinned different trees:\n%s\n%s", l0, l1)
	}
	trees, _ := filepath.Glob(filepath.Join(cache, "tree", "h1-*"))
	if len(trees) != 8 { // 4 folders, 4 .sum files
		t.Errorf("cache holds %d tree entries, want 8: %v", len(trees), trees)
	}
	// And the cache verifies.
	if _, err := Resolve(context.Background(), wss[0], Options{Cache: &Cache{Dir: cache}, Locked: true}); err != nil {
		t.Fatal(err)
	}
}

// TestHelperResolve is run by TestTwoProcessesFillCache in a process of
// its own.
func TestHelperResolve(t *testing.T) {
	dir := os.Getenv("FERRY_MOD_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	c, err := DefaultCache()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(context.Background(), dir, Options{Cache: c}); err != nil {
		t.Fatal(err)
	}
}

// What a process that died while filling the cache left behind is removed
// by the next fill once it is an hour old; a fresh one is left alone.
func TestStaleTemporaryRemoved(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1}, "v1.0.0")
	cache := &Cache{Dir: t.TempDir()}
	trees := filepath.Join(cache.Dir, "tree")
	old, fresh := filepath.Join(trees, ".tmp-old"), filepath.Join(trees, ".tmp-fresh")
	for _, d := range []string{old, fresh} {
		writeFiles(t, d, map[string]string{"x.star": ""})
	}
	os.Chmod(filepath.Join(old, "x.star"), 0o444)
	long := time.Now().Add(-2 * time.Hour)
	os.Chtimes(old, long, long)
	ws := workspace(t, map[string]string{"ferry.mod": fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib"))})
	if _, err := Resolve(context.Background(), ws, Options{Cache: cache}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stale %s is still there: %v", old, err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh %s was removed: %v", fresh, err)
	}
}
