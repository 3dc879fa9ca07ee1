package mod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

const libV1 = `
def greeting(name):
    return "hello " + name
`

// A module fetched by tag over git:// loads as @alias//file.star, and
// ferry.lock pins the tag's commit and the tree's hash.
func TestFetchTag(t *testing.T) {
	srv := newGitServer(t)
	c1 := srv.Commit(t, "lib", map[string]string{"greet.star": libV1, "sub/more.star": "load('//greet.star', 'greeting')\nmore = greeting('more')"}, "v1.0.0")
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1 + "\n# v1.1\n"}, "v1.1.0")
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("module(name = \"shop\")\ndep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib")),
		"ferry.star": "load('@lib//greet.star', 'greeting')\nload('@lib//sub/more.star', 'more')\nx = greeting('ws')\nprint(x, more)",
	})
	cache := &Cache{Dir: t.TempDir()}
	if _, err := evaluate(t, ws, Options{Cache: cache}); err != nil {
		t.Fatal(err)
	}
	lock, err := ReadLock(filepath.Join(ws, LockFileName), LockFileName)
	if err != nil {
		t.Fatal(err)
	}
	l := lock.Modules["lib"]
	if l == nil || l.Commit != c1 || l.Version != "v1.0.0" || l.Repo != srv.URL("lib") || !strings.HasPrefix(l.Hash, "h1:") {
		t.Fatalf("lock = %+v, want lib at %s", l, c1)
	}
	if h, _, _ := hashTree(cache.TreeDir(l.Hash)); h != l.Hash {
		t.Errorf("cached tree hashes to %s, lock has %s", h, l.Hash)
	}
}

// A module pinned to a commit is fetched from a file:// repository.
func TestFetchCommitFileURL(t *testing.T) {
	srv := newGitServer(t)
	c1 := srv.Commit(t, "lib", map[string]string{"greet.star": libV1})
	srv.Commit(t, "lib", map[string]string{"greet.star": "def greeting(n):\n    return 'newer'\n"})
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = %q)\n", srv.FileURL("lib"), c1),
		"ferry.star": "load('@lib//greet.star', 'greeting')\nx = greeting('a')",
	})
	res, err := evaluate(t, ws, Options{Cache: &Cache{Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	_ = res
	if lock := readFile(t, filepath.Join(ws, LockFileName)); !strings.Contains(lock, c1+" h1:") {
		t.Errorf("lock does not pin %s:\n%s", c1, lock)
	}
}

// A file of the cache changed after locking: the load fails, naming the
// module, the file and both hashes.
func TestChangedFileAfterLock(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1, "other.star": "o = 1"}, "v1.0.0")
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib")),
		"ferry.star": "load('@lib//greet.star', 'greeting')",
	})
	cache := &Cache{Dir: t.TempDir()}
	if _, err := Resolve(context.Background(), ws, Options{Cache: cache}); err != nil {
		t.Fatal(err)
	}
	lock, _ := ReadLock(filepath.Join(ws, LockFileName), LockFileName)
	p := filepath.Join(cache.TreeDir(lock.Modules["lib"].Hash), "greet.star")
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, []byte("def greeting(n):\n    return 'pwned'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := evaluate(t, ws, Options{Cache: cache})
	wantErr(t, err, "ferry.mod:1:1", "@lib v1.0.0", "file greet.star differs", lock.Modules["lib"].Hash, "ferry.lock pins")
	if !errors.Is(err, ErrMismatch) {
		t.Errorf("error does not wrap ErrMismatch: %v", err)
	}
}

// A tag moved to another commit after locking (force-pushed): a fresh
// cache fetches the tag and finds other files; the error says so, with
// both hashes and the commits.
func TestForcePushedTag(t *testing.T) {
	srv := newGitServer(t)
	c1 := srv.Commit(t, "lib", map[string]string{"greet.star": libV1}, "v1.0.0")
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib")),
		"ferry.star": "load('@lib//greet.star', 'greeting')",
	})
	cache := &Cache{Dir: t.TempDir()}
	if _, err := Resolve(context.Background(), ws, Options{Cache: cache}); err != nil {
		t.Fatal(err)
	}
	old := readFile(t, filepath.Join(ws, LockFileName))
	c2 := srv.Commit(t, "lib", map[string]string{"greet.star": "def greeting(n):\n    return 'moved'\n"}, "v1.0.0")
	// The same cache still holds the pinned files: it keeps working.
	if _, err := evaluate(t, ws, Options{Cache: cache}); err != nil {
		t.Fatalf("with the pinned files cached: %v", err)
	}
	// Another machine, with an empty cache (the old files are kept
	// elsewhere, so the differing file is named).
	fresh := &Cache{Dir: t.TempDir()}
	os.MkdirAll(filepath.Join(fresh.Dir, "tree"), 0o755)
	lock, _ := ReadLock(filepath.Join(ws, LockFileName), LockFileName)
	os.WriteFile(fresh.TreeDir(lock.Modules["lib"].Hash)+".sum", []byte(readFile(t, cache.TreeDir(lock.Modules["lib"].Hash)+".sum")), 0o644)
	_, err := evaluate(t, ws, Options{Cache: fresh})
	wantErr(t, err, "module hash mismatch", "@lib v1.0.0", "file greet.star differs", lock.Modules["lib"].Hash, c1, c2, "force-pushed")
	if now := readFile(t, filepath.Join(ws, LockFileName)); now != old {
		t.Errorf("a mismatch changed ferry.lock:\n%s", now)
	}
}

// Once cached, modules load with the server gone: by the lock's hash, and
// without a lock by the tag in the cache's mirror.
func TestOffline(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1}, "v1.0.0")
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib")),
		"ferry.star": "load('@lib//greet.star', 'greeting')\nx = greeting('a')",
	})
	cache := &Cache{Dir: t.TempDir()}
	if _, err := evaluate(t, ws, Options{Cache: cache}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := evaluate(t, ws, Options{Cache: cache, Locked: true}); err != nil {
		t.Fatalf("offline with ferry.lock: %v", err)
	}
	os.Remove(filepath.Join(ws, LockFileName))
	if _, err := evaluate(t, ws, Options{Cache: cache}); err != nil {
		t.Fatalf("offline without ferry.lock: %v", err)
	}
	// With no cache, the same workspace cannot load.
	_, err := evaluate(t, ws, Options{Cache: &Cache{Dir: t.TempDir()}})
	wantErr(t, err, "ferry.mod:1:1", `dep "lib"`, "cannot reach "+srv.URL("lib"), "credentials")
}

func TestNoSuchTag(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1}, "v1.0.0")
	srv.Commit(t, "lib", map[string]string{"x.star": ""}, "v1.2.0")
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("\ndep(\"lib\", repo = %q, version = \"v1.9.0\")\n", srv.URL("lib")),
		"ferry.star": "",
	})
	_, err := Resolve(context.Background(), ws, Options{Cache: &Cache{Dir: t.TempDir()}})
	wantErr(t, err, "ferry.mod:2:1", "has no tag v1.9.0", "v1.2.0, v1.0.0")
}

// Bad load()s: an alias that is not in ferry.mod, a module file that
// leaves its tree, a module loading a module its own ferry.mod lacks.
func TestLoadErrors(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{
		"greet.star":  libV1,
		"escape.star": "load('../secret.star', 's')",
		"other.star":  "load('@tools//t.star', 't')",
		"std.star":    "load('//greet.star', 'greeting')\nload('./greet.star', g2 = 'greeting')\ngreet2 = g2",
	}, "v1.0.0")
	srv.Commit(t, "tools", map[string]string{"t.star": "t = 1"}, "v1.0.0")
	mod := fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\ndep(\"tools\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib"), srv.URL("tools"))
	cache := &Cache{Dir: t.TempDir()}
	for _, tt := range []struct {
		name, star string
		want       []string
	}{
		{"unknown alias", "x = 1\nload('@nope//x.star', 'x')", []string{"ferry.star:2:1", "@nope is not a dependency in", "ferry.mod", "ferry mod add nope"}},
		{"outside tree", "load('@lib//escape.star', 's')", []string{"leaves the root of @lib"}},
		{"not its dep", "load('@lib//other.star', 't')", []string{"@tools is not a dependency of @lib"}},
		{"own files", "load('@lib//std.star', 'greet2')\nx = greet2('a')", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ws := workspace(t, map[string]string{"ferry.mod": mod, "ferry.star": tt.star})
			_, err := evaluate(t, ws, Options{Cache: cache})
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tt.want...)
		})
	}
}

// Minimal version selection: the workspace asks for a v1.0.0, b asks for
// a v1.1.0: a v1.1.0 is selected, though v1.2.0 exists.
func TestMVS(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "a", map[string]string{"a.star": "v = '1.0'"}, "v1.0.0")
	srv.Commit(t, "a", map[string]string{"a.star": "v = '1.1'"}, "v1.1.0")
	srv.Commit(t, "a", map[string]string{"a.star": "v = '1.2'"}, "v1.2.0")
	srv.Commit(t, "a", map[string]string{"a.star": "v = '2.0'"}, "v2.0.0")
	srv.Commit(t, "b", map[string]string{"b.star": "load('@a//a.star', 'v')\nbv = v",
		"ferry.mod": fmt.Sprintf("dep(\"a\", repo = %q, version = \"v1.1.0\")\n", srv.URL("a"))}, "v1.0.0")
	srv.Commit(t, "c", map[string]string{"c.star": "c = 1",
		"ferry.mod": fmt.Sprintf("dep(\"a\", repo = %q, version = \"v2.0.0\")\n", srv.URL("a"))}, "v1.0.0")
	cache := &Cache{Dir: t.TempDir()}
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"a\", repo = %q, version = \"v1.0.0\")\ndep(\"b\", repo = %q, version = \"v1.0.0\")\n", srv.URL("a"), srv.URL("b")),
		"ferry.star": "load('@a//a.star', 'v')\nload('@b//b.star', 'bv')\nprint(v, bv)",
	})
	res, err := evaluate(t, ws, Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	_ = res
	g, err := Resolve(context.Background(), ws, Options{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if v := g.Nodes["a"].Version; v != "v1.1.0" {
		t.Errorf("selected a %s, want v1.1.0", v)
	}
	// c wants a v2: two major versions of one module conflict, and the
	// error shows the chain that asked for each.
	ws2 := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"a\", repo = %q, version = \"v1.0.0\")\ndep(\"c\", repo = %q, version = \"v1.0.0\")\n", srv.URL("a"), srv.URL("c")),
		"ferry.star": "",
	})
	_, err = Resolve(context.Background(), ws2, Options{Cache: cache})
	wantErr(t, err, "@a: conflicting requirements", "the workspace requires @a v1.0.0 (ferry.mod:1:1)",
		"the workspace requires @c v1.0.0 (ferry.mod:2:1) → @c v1.0.0 requires @a v2.0.0 (@c//ferry.mod:1:1)", "major versions v1 and v2")
	// One alias, two repositories.
	ws3 := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"a\", repo = %q, version = \"v1.0.0\")\ndep(\"b\", repo = %q, version = \"v1.0.0\")\n", srv.FileURL("a"), srv.URL("b")),
		"ferry.star": "",
	})
	_, err = Resolve(context.Background(), ws3, Options{Cache: cache})
	wantErr(t, err, "@a names two repositories", srv.FileURL("a"), srv.URL("a"), "@b v1.0.0 requires @a v1.1.0")
}

func TestModuleCycle(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "a", map[string]string{"a.star": "a = 1", "ferry.mod": fmt.Sprintf("dep(\"b\", repo = %q, version = \"v1.0.0\")\n", srv.URL("b"))}, "v1.0.0")
	srv.Commit(t, "b", map[string]string{"b.star": "b = 1", "ferry.mod": fmt.Sprintf("\ndep(\"a\", repo = %q, version = \"v1.0.0\")\n", srv.URL("a"))}, "v1.0.0")
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"a\", repo = %q, version = \"v1.0.0\")\n", srv.URL("a")),
		"ferry.star": "",
	})
	_, err := Resolve(context.Background(), ws, Options{Cache: &Cache{Dir: t.TempDir()}})
	wantErr(t, err, "module cycle: @a requires @b (@a//ferry.mod:1:1), @b requires @a (@b//ferry.mod:2:1)")
}

// --locked fetches what ferry.lock pins into an empty cache, but nothing
// new, and never changes ferry.lock.
func TestLocked(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1}, "v1.0.0")
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1 + "#\n"}, "v1.1.0")
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", srv.URL("lib")),
		"ferry.star": "load('@lib//greet.star', 'greeting')",
	})
	_, err := Resolve(context.Background(), ws, Options{Cache: &Cache{Dir: t.TempDir()}, Locked: true})
	wantErr(t, err, "ferry.mod:1:1", "is not pinned in ferry.lock", "--locked", "ferry mod tidy")
	if _, err := Resolve(context.Background(), ws, Options{Cache: &Cache{Dir: t.TempDir()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := evaluate(t, ws, Options{Cache: &Cache{Dir: t.TempDir()}, Locked: true}); err != nil {
		t.Fatalf("locked, empty cache: %v", err)
	}
	writeFiles(t, ws, map[string]string{"ferry.mod": fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.1.0\")\n", srv.URL("lib"))})
	before := readFile(t, filepath.Join(ws, LockFileName))
	_, err = Resolve(context.Background(), ws, Options{Cache: &Cache{Dir: t.TempDir()}, Locked: true})
	wantErr(t, err, "v1.1.0 is not pinned")
	if readFile(t, filepath.Join(ws, LockFileName)) != before {
		t.Error("--locked changed ferry.lock")
	}
}

func TestLockMergeMarkers(t *testing.T) {
	ws := workspace(t, map[string]string{
		"ferry.mod":  "dep(\"lib\", repo = \"file:///nowhere\", version = \"v1.0.0\")\n",
		"ferry.lock": lockHeader + "<<<<<<< HEAD\nlib file:///nowhere v1.0.0 " + strings.Repeat("a", 40) + " h1:x\n=======\n",
	})
	_, err := Resolve(context.Background(), ws, Options{Cache: &Cache{Dir: t.TempDir()}})
	wantErr(t, err, "ferry.lock:3: merge-conflict marker \"<<<<<<<\"", "ferry mod tidy")
}

func TestModFileErrors(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"dep('lib', repo = 'x')", "ferry.mod:1:1: dep: missing version"},
		{"dep('lib', repo = 'x', version = 'v1')", "ferry.mod:1:34: dep \"lib\": version \"v1\": want a semver tag"},
		{"dep('lib', repo = 'x', version = 'abc1234')", "give the full 40-character commit"},
		{"\nx = 1", "ferry.mod:2:1: ferry.mod holds only calls"},
		{"dep('Lib', repo = 'x', version = 'v1.0.0')", "ferry.mod:1:5: alias \"Lib\""},
		{"dep('std', repo = 'x', version = 'v1.0.0')", "ferry's standard library"},
		{"dep('a', repo = 'x', version = 'v1.0.0')\ndep('a', repo = 'y', version = 'v1.0.0')", "ferry.mod:2:1: dep \"a\" is already declared at ferry.mod:1:1"},
		{"dep('a', repo = 'x', version = V)", "ferry.mod:1:32: dep: version must be a string literal"},
		{"dep('a', repo = 'x', version = 'v1.0.0', tag = 'y')", "unknown argument tag"},
		{"override('a', path = '../a')", "ferry.mod:1:1: override \"a\": no dep(\"a\", ...)"},
		{"dep('a',", "ferry.mod:1:9: syntax error"},
	} {
		_, err := ParseModFile("ferry.mod", []byte(tt.src))
		wantErr(t, err, tt.want)
	}
}

func TestSetVersion(t *testing.T) {
	src := "# shop\nmodule(name = 'shop')\ndep('lib', repo = 'x', version = 'v1.0.0')  # pinned\n"
	mf, err := ParseModFile("ferry.mod", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(mf.SetVersion("lib", "", "v1.2.0")); got != strings.Replace(src, "'v1.0.0'", `"v1.2.0"`, 1) {
		t.Errorf("SetVersion = %q", got)
	}
	if got := string(mf.SetVersion("b", "file:///b", "v2.0.0")); got != src+"dep(\"b\", repo = \"file:///b\", version = \"v2.0.0\")\n" {
		t.Errorf("SetVersion (new) = %q", got)
	}
}

// A module's macro declares a rule: its key includes the module's hash.
func TestRuleStampedWithModule(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"m.star": "def build(name):\n    task(name = name, cmd = 'true')\n", "ferry.mod": "module(permissions = ['commands'])\n"}, "v1.0.0")
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\ngrant(\"lib\", permissions = [\"commands\"])\n", srv.URL("lib")),
		"ferry.star": "load('@lib//m.star', 'build')\nbuild('from_module')\ntask(name = 'own', cmd = 'true')",
	})
	res, err := evaluate(t, ws, Options{Cache: &Cache{Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	lock, _ := ReadLock(filepath.Join(ws, LockFileName), LockFileName)
	for _, r := range res.Rules {
		info := r.Info()
		switch info.Name {
		case "from_module":
			if len(info.Modules) != 1 || info.Modules[0].Alias != "lib" || info.Modules[0].Hash != lock.Modules["lib"].Hash || info.Modules[0].Version != "v1.0.0" {
				t.Errorf("from_module stamped with %+v", info.Modules)
			}
		case "own":
			if len(info.Modules) != 0 {
				t.Errorf("own stamped with %+v", info.Modules)
			}
		}
	}
}

// Bumping a module reruns the rules its code declared, and nothing else;
// the reason names the module and both versions, and "definition changed"
// only when the rule's own definition changed too.
func TestBumpRerunsModuleRules(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"m.star": "def build(name):\n    task(name = name, cmd = 'true')\n", "ferry.mod": "module(permissions = ['commands'])\n"}, "v1.0.0")
	srv.Commit(t, "lib", map[string]string{"README.md": "a new file; m.star is unchanged\n"}, "v1.1.0")
	srv.Commit(t, "lib", map[string]string{"m.star": "def build(name):\n    task(name = name, cmd = 'true 2')\n"}, "v1.2.0")
	ws := workspace(t, map[string]string{
		"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\ngrant(\"lib\", permissions = [\"commands\"])\n", srv.URL("lib")),
		"ferry.star": "load('@lib//m.star', 'build')\nbuild('from_module')\ntask(name = 'own', cmd = 'true')",
	})
	cache := &Cache{Dir: t.TempDir()}
	ctx := context.Background()
	plan := func() map[string]string {
		t.Helper()
		res, err := evaluate(t, ws, Options{Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		g, err := engine.NewGraph(res.Rules)
		if err != nil {
			t.Fatal(err)
		}
		w := res.Eval.Workspace()
		st, err := engine.LoadState(w, true)
		if err != nil {
			t.Fatal(err)
		}
		e := engine.NewEngine(w, g, st, engine.NewBus(redact.New()))
		items, err := e.Plan(ctx, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, it := range items {
			if it.Run {
				out[it.Rule] = engine.ReasonText(it.Reasons)
			}
		}
		if _, err := e.Run(ctx, nil, engine.RunOptions{Jobs: 1}); err != nil {
			t.Fatal(err)
		}
		if err := e.Save(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := plan(); got["own"] != "never ran" || got["from_module"] != "never ran" {
		t.Fatalf("first plan: %v", got)
	}
	if got := plan(); len(got) > 0 {
		t.Fatalf("second plan, nothing changed: %v", got)
	}
	bump := func(v string) {
		writeFiles(t, ws, map[string]string{"ferry.mod": fmt.Sprintf("dep(\"lib\", repo = %q, version = %q)\ngrant(\"lib\", permissions = [\"commands\"])\n", srv.URL("lib"), v)})
	}
	bump("v1.1.0")
	if got := plan(); len(got) != 1 || got["from_module"] != "module @lib changed (v1.0.0 → v1.1.0)" {
		t.Fatalf("after the bump: %v, want only from_module to run, as module @lib changed", got)
	}
	bump("v1.2.0")
	if got := plan(); len(got) != 1 || got["from_module"] != "module @lib changed (v1.1.0 → v1.2.0); definition changed" {
		t.Fatalf("after the bump that changes the command: %v", got)
	}
}
