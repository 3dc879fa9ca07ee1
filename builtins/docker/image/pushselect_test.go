package image

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/builtins/docker/dockerapi"
	"github.com/ferryhq/ferry/engine"
)

// imageGraph evaluates src, with image rules, without a Docker Engine, and
// returns its graph and an empty state of its workspace.
func imageGraph(t *testing.T, src string) (*engine.Graph, *engine.State) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, engine.FileName), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ws := &engine.Workspace{Root: dir, File: filepath.Join(dir, engine.FileName)}
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: ws,
		Plugins:   []engine.Plugin{core.Plugin{}, builtins{c: dockerapi.New()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.LoadState(ws, false)
	if err != nil {
		t.Fatal(err)
	}
	return g, st
}

func imageNames(imgs []*Image) []string {
	var out []string
	for _, img := range imgs {
		out = append(out, img.Info().Name)
	}
	return out
}

func TestSelectPush(t *testing.T) {
	t.Parallel()
	const images = `task(name = "t", cmd = "true")
image(name = "api", repo = "127.0.0.1:5000/acme/api", push = True)
image(name = "web", repo = "127.0.0.1:5000/acme/web")
image(name = "worker", repo = "127.0.0.1:5000/acme/worker", push = True)
`
	const noPush = `image(name = "web", repo = "acme/web")
`
	for _, tc := range []struct {
		name, src string
		names     []string
		want      []string // the images selected, or nil for an error
		err       string
	}{
		{"push = True", images, nil, []string{"api", "worker"}, ""},
		{"named", images, []string{"web", "api"}, []string{"web", "api"}, ""},
		{"typo", images, []string{"wrker"}, nil, `no image rule "wrker" in ferry.star (did you mean "worker"?)`},
		{"unknown", images, []string{"zzzzzz"}, nil, `no image rule "zzzzzz" in ferry.star; its image rules are api, web, worker`},
		{"a task", images, []string{"t"}, nil, `"t" is a task, not an image rule; ferry push pushes images (api, web, worker)`},
		{"none pushes", noPush, nil, nil, "no image rule has push = True; name the images to push (`ferry push web`), or set push = True on them"},
		{"no image", `task(name = "t", cmd = "true")`, nil, nil, "ferry.star declares no image rule: nothing to push"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := imageGraph(t, tc.src)
			sel, err := SelectPush(g, tc.names)
			if tc.want == nil {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := imageNames(sel); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("selected %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLastBuiltAndPushLast(t *testing.T) {
	t.Parallel()
	g, st := imageGraph(t, `image(name = "api", repo = "acme/api")
image(name = "web", repo = "acme/web")
task(name = "t", cmd = "true")
`)
	imgs := Images(g)
	if got := imageNames(imgs); !reflect.DeepEqual(got, []string{"api", "web"}) {
		t.Fatalf("Images = %v", got)
	}
	if refs := LastBuilt(imgs, st); len(refs) != 0 {
		t.Errorf("nothing built, but LastBuilt = %v", refs)
	}
	key := engine.Digest{0xab, 0xcd}
	if err := st.SetRule("web", &engine.RuleState{Key: key}); err != nil {
		t.Fatal(err)
	}
	if refs := LastBuilt(imgs, st); !reflect.DeepEqual(refs, []string{"acme/web:" + key.Short()}) {
		t.Errorf("LastBuilt = %v, want web's last key", refs)
	}
	if err := imgs[0].PushLast(context.Background(), st, nil); err == nil || !strings.Contains(err.Error(), "image api has no successful build to push") {
		t.Errorf("pushing an image never built: %v", err)
	}
}
