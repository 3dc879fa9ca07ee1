package complete_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/complete"
)

type rule struct{ info engine.RuleInfo }

func (r *rule) Info() *engine.RuleInfo                           { return &r.info }
func (r *rule) Definition(context.Context, *engine.Hasher) error { return nil }
func (r *rule) Inputs(context.Context) ([]string, error)         { return nil, nil }
func (r *rule) Outputs() []string                                { return nil }
func (r *rule) Run(*engine.RunContext) error                     { return nil }

func TestRules(t *testing.T) {
	g, err := engine.NewGraph([]engine.Rule{
		&rule{engine.RuleInfo{Name: "api", Kind: "service", Doc: "The API. It counts.\nMore."}},
		&rule{engine.RuleInfo{Name: "api-bin", Kind: "task", Doc: "go build"}},
		&rule{engine.RuleInfo{Name: "api-image", Kind: "image"}},
		&rule{engine.RuleInfo{Name: "db", Kind: "service"}},
		&rule{engine.RuleInfo{Name: "migrate", Kind: "job"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kinds, given []string
		prefix, want string
	}{
		{nil, nil, "", "api\tservice: The API.|api-bin\ttask: go build|api-image\timage|db\tservice|migrate\tjob"},
		{nil, nil, "api-", "api-bin\ttask: go build|api-image\timage"},
		{[]string{"service", "job"}, nil, "", "api\tservice: The API.|db\tservice|migrate\tjob"},
		{[]string{"service"}, []string{"api"}, "", "db\tservice"},
		{[]string{"image"}, nil, "x", ""},
	} {
		if got := strings.Join(complete.Rules(g, tc.kinds, tc.given, tc.prefix), "|"); got != tc.want {
			t.Errorf("Rules(%v, %v, %q) = %q, want %q", tc.kinds, tc.given, tc.prefix, got, tc.want)
		}
	}
}

func TestDoc(t *testing.T) {
	repos := map[string]fstest.MapFS{
		"std": {"go.star": {Data: []byte("def go_binary(name):\n    \"\"\"Builds a Go binary.\"\"\"\n    pass\n")}, "go_test.star": {Data: []byte("")}},
		"lib": {"k8s/deploy.star": {Data: []byte("def deploy(name):\n    pass\n\ndef _hidden():\n    pass\n")}, "testdata/x.star": {Data: []byte("")}},
		"":    {"tools/checks.star": {Data: []byte("def expect(file):\n    \"\"\"Checks file.\"\"\"\n")}},
	}
	var asked []string
	d := complete.DocSource{
		Builtins: []*engine.Builtin{{Name: "task", Doc: "A command. More."}, {Name: "health.http", Doc: "An HTTP check."}, {Name: "health.tcp"}},
		Aliases:  []string{"lib"},
		Repo: func(name string) fs.FS {
			asked = append(asked, name)
			if r, ok := repos[name]; ok {
				return r
			}
			return nil
		},
	}
	for _, tc := range []struct {
		args         []string
		prefix, want string
	}{
		{nil, "he", "health\tbuiltins health.*|health.http\tbuiltin: An HTTP check.|health.tcp\tbuiltin"},
		{nil, "@", "@lib//\tmodules of ferry.mod's @lib|@std\tthe standard library|@std//\tmodules of the standard library"},
		{nil, "@std//", "@std//go.star\tmodule of @std"},
		{nil, "@lib//", "@lib//k8s/deploy.star\tmodule of @lib"},
		{nil, "//", "//tools/checks.star\tmodule of the workspace"},
		{nil, "@other//", ""},
		{[]string{"@std//go.star"}, "", "go_binary\tgo.star: Builds a Go binary."},
		{[]string{"@lib//k8s/deploy.star"}, "d", "deploy\tdeploy.star"},
		{[]string{"//tools/checks.star"}, "", "expect\tchecks.star: Checks file."},
		{[]string{"@lib//missing.star"}, "", ""},
		{[]string{"task"}, "", ""},
		{[]string{"@std//go.star", "go_binary"}, "", ""},
	} {
		if got := strings.Join(complete.Doc(d, tc.args, tc.prefix), "|"); got != tc.want {
			t.Errorf("Doc(%v, %q) = %q, want %q", tc.args, tc.prefix, got, tc.want)
		}
	}
	// A repository is read only for a label of it, and never one that is
	// not an alias of ferry.mod.
	if got := strings.Join(asked, ","); got != "std,lib,,std,lib,,lib" {
		t.Errorf("Repo asked for %q", got)
	}
}

func TestTests(t *testing.T) {
	root := t.TempDir()
	for name, src := range map[string]string{
		"a_test.star":          "def test_one():\n    pass\n\ndef _test_private():\n    pass\n\ndef check():\n    pass\n",
		"sub/b_test.star":      "def test_two():\n    pass\n",
		"sub/b.star":           "def test_not_a_test_file():\n    pass\n",
		"testdata/c_test.star": "def test_skipped():\n    pass\n",
		"bad_test.star":        "def (\n",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(complete.Tests(root, nil, "test_"), "|"); got != "test_one\ta_test.star|test_two\tsub/b_test.star" {
		t.Errorf("all: %q", got)
	}
	if got := strings.Join(complete.Tests(root, []string{"sub"}, ""), "|"); got != "test_two\tsub/b_test.star" {
		t.Errorf("sub: %q", got)
	}
	if got := complete.Tests(root, []string{"missing"}, ""); got != nil {
		t.Errorf("missing folder: %q", got)
	}
}
