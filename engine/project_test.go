package engine

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestProjectName(t *testing.T) {
	docker := regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	for in, want := range map[string]string{
		"/src/shop":       "shop",
		"/src/My App":     "my-app",
		"/src/api.v2":     "api-v2",
		"/src/---":        "ferry",
		"/src/web_1":      "web_1",
		"/src/café":       "caf-",
		"/src/cafè":       "caf-",
		"/src/日本":         "ferry-",
		"/src/中文":         "ferry-",
		"/src/Ünïcödé 42": "n-c-d--42-",
	} {
		got := ProjectName(in)
		if !docker.MatchString(got) {
			t.Errorf("ProjectName(%q) = %q, not a Docker name prefix", in, got)
		}
		// A name the slug keeps whole is the slug; one it loses
		// characters of gets a short hash of the folder name.
		if strings.HasSuffix(want, "-") {
			if !regexp.MustCompile("^" + regexp.QuoteMeta(want) + "[0-9a-f]{8}$").MatchString(got) {
				t.Errorf("ProjectName(%q) = %q, want %s and 8 hex digits", in, got, want)
			}
		} else if got != want {
			t.Errorf("ProjectName(%q) = %q, want %q", in, got, want)
		}
	}
	// Non-ASCII names that the slug would make one stay distinct.
	seen := map[string]string{}
	for _, dir := range []string{"/a/日本", "/a/中文", "/a/café", "/a/cafè", "/a/caf"} {
		p := ProjectName(dir)
		if other, ok := seen[p]; ok {
			t.Errorf("%s and %s are both project %s", other, dir, p)
		}
		seen[p] = dir
	}
	// The name depends on the folder's name only, not where it is.
	if ProjectName("/a/日本") != ProjectName("/b/日本") {
		t.Errorf("the same folder name gave two projects")
	}
}

func TestResolveProject(t *testing.T) {
	ws := &Workspace{Root: "/src/My Shop"}
	for given, want := range map[string]string{"": "my-shop", "shop": "shop", "web_1": "web_1", "a-b": "a-b", "My": "", "-a": "", "a.b": ""} {
		got, err := ResolveProject(ws, given)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ResolveProject(%q) = %q, %v; want %q", given, got, err, want)
		}
	}
}

// FindProject finds the workspace from a folder below its root and
// resolves its project, without evaluating ferry.star.
func TestFindProject(t *testing.T) {
	root := filepath.Join(t.TempDir(), "My Shop")
	sub := filepath.Join(root, "api")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "ferry.star"), []byte("this is not Starlark ("), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, project, err := FindProject(sub, "", "")
	if err != nil || ws.Root != root || project != "my-shop" {
		t.Errorf("FindProject = %v, %q, %v; want root %s, project my-shop", ws, project, err, root)
	}
	if _, project, err := FindProject(sub, "", "shop"); err != nil || project != "shop" {
		t.Errorf("FindProject with --project shop = %q, %v", project, err)
	}
	if _, _, err := FindProject(sub, "", "Bad"); err == nil || !strings.Contains(err.Error(), `--project "Bad"`) {
		t.Errorf("FindProject with --project Bad: err = %v", err)
	}
	if _, _, err := FindProject(t.TempDir(), "", ""); !errors.Is(err, ErrNoWorkspace) {
		t.Errorf("FindProject outside a workspace: err = %v, want ErrNoWorkspace", err)
	}
}
