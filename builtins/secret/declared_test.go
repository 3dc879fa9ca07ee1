package secret

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

func TestRevealDeclared(t *testing.T) {
	t.Setenv("FERRY_TEST_DECL", "declared-value")
	dir := t.TempDir()
	src := `task(name = "a", cmd = "true", secrets = {"TOK": secret("tok", env = "FERRY_TEST_DECL")})
task(name = "gone", cmd = "true", secrets = {"K": secret("gone", env = "FERRY_TEST_DECL_UNSET")})
task(name = "opt", cmd = "true", secrets = {"K": secret("opt", env = "FERRY_TEST_DECL_UNSET", required = False)})
task(name = "plain", cmd = "true")
`
	if err := os.WriteFile(filepath.Join(dir, engine.FileName), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Plugin{Redactor: redact.New()}
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, engine.FileName)},
		Plugins:   []engine.Plugin{core.Plugin{}, p},
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := engine.NewGraph(res.Rules)
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	held := func(_ context.Context, r engine.Rule, learn func(name, value string)) error {
		asked = append(asked, r.Info().Name)
		switch r.Info().Name {
		case "a":
			learn("tok", "value-before-rotation")
			learn("tok", "x")
		case "gone":
			return errors.New("engine unreachable")
		}
		return nil
	}
	added := map[string]string{}
	add := func(name, value string) error {
		if len(value) < 4 {
			return fmt.Errorf("%q is too short to redact", value)
		}
		added[value] = name
		return nil
	}
	var warnings []string
	RevealDeclared(context.Background(), g, held, add, func(format string, args ...any) {
		warnings = append(warnings, fmt.Sprintf(format, args...))
	})

	if strings.Join(asked, " ") != "a gone opt" {
		t.Errorf("held was asked for %v, want the rules with secrets", asked)
	}
	if added["value-before-rotation"] != "tok" {
		t.Errorf("held values added: %v", added)
	}
	if got := p.Redactor.String("declared-value"); strings.Contains(got, "declared-value") {
		t.Errorf("the declared secret's value is not redacted: %q", got)
	}
	want := []string{
		`task a: the value a container holds is not redacted: "x" is too short to redact`,
		"task gone: could not read the secret values its containers hold (engine unreachable)",
		"FERRY_TEST_DECL_UNSET",
	}
	if len(warnings) != 3 {
		t.Fatalf("warnings %q, want 3: %q", warnings, want)
	}
	for i, w := range want {
		if !strings.Contains(warnings[i], w) {
			t.Errorf("warning %d is %q, want %q in it", i, warnings[i], w)
		}
	}
}
