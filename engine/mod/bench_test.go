package mod

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchModules makes 20 modules of 10 files each, tagged v1.0.0 in srv,
// and returns the ferry.mod that requires them and the ferry.star that
// loads every file. Each file defines a macro that declares a task.
func benchModules(b *testing.B, srv *gitServer) (mod, star string, files map[string]map[string]string) {
	files = map[string]map[string]string{}
	var loads, calls strings.Builder
	for m := range 20 {
		name := fmt.Sprintf("m%02d", m)
		fs := map[string]string{}
		for f := range 10 {
			fs[fmt.Sprintf("rules/f%d.star", f)] = fmt.Sprintf(`
def build_%d(prefix):
    """Declares one task."""
    task(name = prefix + "_%d", cmd = "echo %s %d", srcs = [])

helpers_%d = {"n": %d, "list": [i * 2 for i in range(20)]}
`, f, f, name, f, f, f)
		}
		files[name] = fs
		srv.Commit(b, name, fs, "v1.0.0")
		srv.Commit(b, name, map[string]string{"ferry.mod": "module(permissions = [\"commands\"])\n"}, "v1.0.0")
		mod += fmt.Sprintf("dep(%q, repo = %q, version = \"v1.0.0\")\ngrant(%q, permissions = [\"commands\"])\n", name, srv.FileURL(name), name)
		for f := range 10 {
			fmt.Fprintf(&loads, "load(\"@%s//rules/f%d.star\", %s_%d = \"build_%d\")\n", name, f, name, f, f)
			fmt.Fprintf(&calls, "%s_%d(\"%s_%d\")\n", name, f, name, f)
		}
	}
	return mod, loads.String() + calls.String(), files
}

// BenchmarkModules compares evaluating a workspace that loads 20 modules
// of 10 files each from the module cache (resolving, verifying every
// module's hash against ferry.lock, loading) with the same files
// vendored under //. It reports the overhead per evaluation (target:
// within 10 ms).
func BenchmarkModules(b *testing.B) {
	srv := newGitServer(b)
	mod, star, files := benchModules(b, srv)
	cache := &Cache{Dir: b.TempDir()}
	fromCache := workspace(b, map[string]string{"ferry.mod": mod, "ferry.star": star})
	if _, err := Resolve(context.Background(), fromCache, Options{Cache: cache}); err != nil {
		b.Fatal(err)
	}
	vendored := map[string]string{"ferry.star": strings.NewReplacer("\"@", "\"//").Replace(star)}
	for name, fs := range files {
		for p, body := range fs {
			vendored[name+"/"+p] = body
		}
	}
	// "//m00//rules" → "//m00/rules"
	vendored["ferry.star"] = strings.ReplaceAll(vendored["ferry.star"], "//rules", "/rules")
	local := workspace(b, vendored)
	measure := func(dir string, o Options) time.Duration {
		start := time.Now()
		for range b.N {
			res, err := evaluate(b, dir, o)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Rules) != 200 {
				b.Fatalf("%d rules, want 200", len(res.Rules))
			}
		}
		return time.Since(start) / time.Duration(b.N)
	}
	b.ResetTimer()
	base := measure(local, Options{Cache: cache})
	mods := measure(fromCache, Options{Cache: cache, Locked: true})
	b.ReportMetric(float64(base.Microseconds())/1000, "vendored-ms/op")
	b.ReportMetric(float64(mods.Microseconds())/1000, "modules-ms/op")
	b.ReportMetric(float64((mods-base).Microseconds())/1000, "overhead-ms/op")
}

// BenchmarkColdFetch compares fetching one module into an empty cache
// (ls-remote, a shallow fetch of its tag, extracting and hashing its
// files) with a `git clone` of the same repository over git://.
func BenchmarkColdFetch(b *testing.B) {
	srv := newGitServer(b)
	for i := range 30 { // some history: 30 commits of 40 files
		fs := map[string]string{}
		for f := range 40 {
			fs[fmt.Sprintf("lib/f%d.star", f)] = fmt.Sprintf("v = %d\n# %s\n", i*f, strings.Repeat("x", 200))
		}
		srv.Commit(b, "lib", fs)
	}
	runGit(b, filepath.Join(srv.Base, "lib"), "tag", "v1.0.0")
	mod := fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib"))
	var fetch, clone time.Duration
	b.ResetTimer()
	for range b.N {
		ws := workspace(b, map[string]string{"ferry.mod": mod, "ferry.star": ""})
		start := time.Now()
		if _, err := Resolve(context.Background(), ws, Options{Cache: &Cache{Dir: b.TempDir()}}); err != nil {
			b.Fatal(err)
		}
		fetch += time.Since(start)
		dst := filepath.Join(b.TempDir(), "clone")
		start = time.Now()
		if out, err := exec.Command("git", "clone", "-q", srv.URL("lib"), dst).CombinedOutput(); err != nil {
			b.Fatalf("git clone: %v\n%s", err, out)
		}
		clone += time.Since(start)
		os.RemoveAll(dst)
	}
	b.ReportMetric(float64(fetch.Microseconds())/1000/float64(b.N), "ferry-ms/op")
	b.ReportMetric(float64(clone.Microseconds())/1000/float64(b.N), "git-clone-ms/op")
	b.ReportMetric(float64(fetch)/float64(clone), "ratio")
}
