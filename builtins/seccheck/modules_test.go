package seccheck

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/builtins/docker"
	"github.com/ferryhq/ferry/builtins/secret"
	"github.com/ferryhq/ferry/engine"
)

// A service a shared module declares is checked like one of the
// workspace, at the module's line; a ferry:ignore comment in the module
// does not silence it (what the workspace ignores is the workspace's
// call). Before, ferry lint failed on any such service, reading
// @lib//m.star as a workspace file.
func TestModuleRulesChecked(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ferry.star": "load('@lib//m.star', 'svc')\nsvc('a')\n"})
	lib := "def svc(name):\n    # ferry:ignore FERRY-SV005\n    service(name = name, image = 'dind:1', privileged = True, user = '1')\n"
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		Plugins:   []engine.Plugin{core.Plugin{}, docker.Plugin{Project: "p"}, &deploy.Plugin{Project: "p"}, &secret.Plugin{}},
		Modules: &engine.Modules{File: "ferry.mod", Deps: map[string]bool{"lib": true}, ByAlias: map[string]*engine.SharedModule{"lib": {
			Alias: "lib", Source: engine.FSSource{Repo: "lib", FS: fstest.MapFS{"m.star": {Data: []byte(lib)}}}, Hash: "h1:test",
			Perms: map[string]bool{"docker": true}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewGraph(res.Rules); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(context.Background(), Options{Root: dir, Rules: res.Rules})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(rep.Findings); !slices.Contains(got, "FERRY-SV005 @lib//m.star:3:12") {
		t.Errorf("findings %v lack the module's privileged service", got)
	}
}
