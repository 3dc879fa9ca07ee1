package mod

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ferry mod add, update, vendor, tidy and graph, on a real repository.
func TestCommands(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1}, "v1.0.0")
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1 + "#1.1\n"}, "v1.1.0")
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1 + "#2\n"}, "v2.0.0")
	srv.Commit(t, "tools", map[string]string{"t.star": "t = 1"}, "v0.3.0")
	srv.Commit(t, "other", map[string]string{"o.star": "o = 1"}, "v1.0.0")
	ctx := context.Background()
	cache := &Cache{Dir: t.TempDir()}
	o := Options{Cache: cache}
	ws := workspace(t, map[string]string{"ferry.mod": "module(name = \"shop\")\n", "ferry.star": "load('@lib//greet.star', 'greeting')\nload('@tools//t.star', 't')"})

	if v, err := Add(ctx, ws, "lib", srv.URL("lib"), "v1.0.0", o); err != nil || v != "v1.0.0" {
		t.Fatalf("add lib: %v %v", v, err)
	}
	if v, err := Add(ctx, ws, "tools", srv.URL("tools"), "", o); err != nil || v != "v0.3.0" {
		t.Fatalf("add tools at newest tag: %v %v", v, err)
	}
	if _, err := Add(ctx, ws, "bad", srv.URL("other"), "v9.0.0", o); err == nil || !strings.Contains(err.Error(), "has no tag v9.0.0") {
		t.Fatalf("add at a missing tag: %v", err)
	}
	if strings.Contains(readFile(t, filepath.Join(ws, ModFileName)), "bad") {
		t.Error("a failed add left its dep in ferry.mod")
	}
	if _, err := evaluate(t, ws, Options{Cache: cache, Locked: true}); err != nil {
		t.Fatal(err)
	}

	ups, err := Update(ctx, ws, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ups) != "[{lib v1.0.0 v1.1.0}]" {
		t.Errorf("update = %v, want lib v1.0.0 → v1.1.0 (v2 is another major version)", ups)
	}
	if !strings.Contains(readFile(t, filepath.Join(ws, ModFileName)), `dep("lib", repo = "`+srv.URL("lib")+`", version = "v1.1.0")`) {
		t.Errorf("ferry.mod after update:\n%s", readFile(t, filepath.Join(ws, ModFileName)))
	}
	lock, _ := ReadLock(filepath.Join(ws, LockFileName), LockFileName)
	if lock.Modules["lib"].Version != "v1.1.0" {
		t.Errorf("lock after update: %+v", lock.Modules["lib"])
	}

	var b strings.Builder
	g, err := Resolve(ctx, ws, o)
	if err != nil {
		t.Fatal(err)
	}
	g.WriteGraph(&b)
	if b.String() != "shop → @lib v1.1.0\nshop → @tools v0.3.0\n" {
		t.Errorf("graph:\n%s", b.String())
	}

	// Vendored, the modules load with neither cache nor server, verified.
	if _, err := Vendor(ctx, ws, o); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := evaluate(t, ws, Options{Cache: &Cache{Dir: t.TempDir()}, Locked: true}); err != nil {
		t.Fatalf("from ferry_modules: %v", err)
	}
	os.WriteFile(filepath.Join(ws, VendorDir, "lib", "greet.star"), []byte("x = 1"), 0o644)
	_, err = evaluate(t, ws, Options{Cache: &Cache{Dir: t.TempDir()}, Locked: true})
	wantErr(t, err, "module hash mismatch", "@lib v1.1.0")

	// Tidy drops the pin of a dep removed from ferry.mod.
	os.RemoveAll(filepath.Join(ws, VendorDir))
	writeFiles(t, ws, map[string]string{"ferry.mod": fmt.Sprintf("dep(\"tools\", repo = %q, version = \"v0.3.0\")\n", srv.URL("tools"))})
	_, err = Resolve(ctx, ws, Options{Cache: cache, Locked: true})
	wantErr(t, err, "ferry.lock is not up to date with ferry.mod (@lib is no longer required)")
	if _, err := Tidy(ctx, ws, o); err != nil {
		t.Fatal(err)
	}
	if lock := readFile(t, filepath.Join(ws, LockFileName)); strings.Contains(lock, "lib") || !strings.Contains(lock, "tools") {
		t.Errorf("lock after tidy:\n%s", lock)
	}
}

// An override loads a folder beside the workspace: not pinned, but its
// hash still keys the rules it declares.
func TestOverride(t *testing.T) {
	base := t.TempDir()
	writeFiles(t, base, map[string]string{
		"lib/greet.star": libV1,
		"ws/ferry.mod":   "dep(\"lib\", repo = \"https://example.invalid/lib.git\", version = \"v1.0.0\")\noverride(\"lib\", path = \"../lib\")\n",
		"ws/ferry.star":  "load('@lib//greet.star', 'greeting')\nx = greeting('a')",
	})
	ws := filepath.Join(base, "ws")
	if _, err := evaluate(t, ws, Options{Cache: &Cache{Dir: t.TempDir()}}); err != nil {
		t.Fatal(err)
	}
	if lock, _ := os.ReadFile(filepath.Join(ws, LockFileName)); strings.Contains(string(lock), "lib") {
		t.Errorf("an override was pinned:\n%s", lock)
	}
}

// ferry.lock records the permissions granted; an update to a version
// that needs a new one is refused until it is granted, and says it is new.
func TestPermissionGrants(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"ferry.mod": "module(permissions = ['commands'])\n"}, "v1.0.0")
	srv.Commit(t, "lib", map[string]string{"ferry.mod": "module(permissions = ['docker', 'commands'])\n"}, "v1.1.0")
	ctx := context.Background()
	o := Options{Cache: &Cache{Dir: t.TempDir()}}
	mod := fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\ngrant(\"lib\", permissions = [\"commands\"])\n", srv.URL("lib"))
	ws := workspace(t, map[string]string{"ferry.mod": mod, "ferry.star": ""})
	if _, err := Resolve(ctx, ws, o); err != nil {
		t.Fatal(err)
	}
	if lock := readFile(t, filepath.Join(ws, LockFileName)); !strings.Contains(lock, " perms=commands\n") {
		t.Errorf("lock does not record the grant:\n%s", lock)
	}
	_, err := Update(ctx, ws, nil, o)
	wantErr(t, err, "@lib v1.1.0 needs permission docker (use Docker", "declared at @lib//ferry.mod:1:1", "new since ferry.lock: docker", `add them to grant("lib", ...) at ferry.mod:2:1`)
	if readFile(t, filepath.Join(ws, ModFileName)) != mod {
		t.Error("a refused update changed ferry.mod")
	}
	writeFiles(t, ws, map[string]string{"ferry.mod": strings.Replace(mod, `["commands"]`, `["commands", "docker"]`, 1)})
	if ups, err := Update(ctx, ws, nil, o); err != nil || len(ups) != 1 {
		t.Fatalf("update once granted: %v %v", ups, err)
	}
	if lock := readFile(t, filepath.Join(ws, LockFileName)); !strings.Contains(lock, "v1.1.0 ") || !strings.Contains(lock, " perms=commands,docker\n") {
		t.Errorf("lock after the update:\n%s", lock)
	}
	// A grant for a module that is not in the graph is a mistake.
	writeFiles(t, ws, map[string]string{"ferry.mod": mod + "grant(\"libb\", permissions = [\"env\"])\n"})
	_, err = Resolve(ctx, ws, o)
	wantErr(t, err, `ferry.mod:3:1: grant("libb"): no module @libb in the graph`)
	_, err = ParseModFile("ferry.mod", []byte("module(permissions = ['root'])"))
	wantErr(t, err, `ferry.mod:1:22: module: unknown permission "root" (there are commands, docker, env, files, network, secrets)`)
}

func TestSplitVersion(t *testing.T) {
	for in, want := range map[string][2]string{
		"https://git.example/lib.git@v1.2.0":  {"https://git.example/lib.git", "v1.2.0"},
		"https://git.example/lib.git":         {"https://git.example/lib.git", ""},
		"git@git.example:team/lib.git":        {"git@git.example:team/lib.git", ""},
		"git@git.example:team/lib.git@v2.0.0": {"git@git.example:team/lib.git", "v2.0.0"},
		"ssh://git@git.example/lib":           {"ssh://git@git.example/lib", ""},
	} {
		if repo, v := SplitVersion(in); repo != want[0] || v != want[1] {
			t.Errorf("SplitVersion(%q) = %q, %q; want %q, %q", in, repo, v, want[0], want[1])
		}
	}
}
