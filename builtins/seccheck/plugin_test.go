package seccheck

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/engine"
)

func evalSettings(t *testing.T, src string) (*Settings, error) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ferry.star": src})
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		Plugins:   []engine.Plugin{Plugin{}},
	})
	if err != nil {
		return nil, err
	}
	return engine.EvaluationState[*Settings](res.Eval), nil
}

func TestLintSettings(t *testing.T) {
	s, err := evalSettings(t, `lint_settings(ignore = ["FERRY-DF005", "FERRY-SV003"])`+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Ignore(); !slices.Equal(got, []string{"FERRY-DF005", "FERRY-SV003"}) {
		t.Errorf("ignore = %v", got)
	}
	if s, err := evalSettings(t, "x = 1\n"); err != nil || len(s.Ignore()) != 0 {
		t.Errorf("no call: %v, %v", s.Ignore(), err)
	}
	for src, want := range map[string]string{
		`lint_settings(ignore = ["FERRY-DF05"])`:                     `ferry.star:1:14: lint_settings: ignore: unknown rule id "FERRY-DF05" (did you mean FERRY-DF005?)`,
		"lint_settings()\nlint_settings(ignore = [\"FERRY-DF001\"])": "second time (first at ",
		`lint_settings(ignore = "FERRY-DF001")`:                      "ignore",
	} {
		_, err := evalSettings(t, src+"\n")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", src, err, want)
		}
	}
}

// What plan --check shows: the findings of the files, one line each, and
// the summary.
func TestWritePlanChecks(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ferry.star": "x = 1\n", "app/.env": "AWS=" + awsID + "\n"})
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		Plugins:   []engine.Plugin{Plugin{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	WritePlanChecks(context.Background(), &sb, dir, res, "")
	if !strings.Contains(sb.String(), "app/.env:1:") || !strings.Contains(sb.String(), "security checks: ") || strings.Contains(sb.String(), awsID) {
		t.Errorf("plan checks wrote:\n%s", sb.String())
	}
}

func TestOptionsFor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ferry.star": `lint_settings(ignore = ["FERRY-DF005"])` + "\n"})
	res, err := engine.Evaluate(context.Background(), engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, "ferry.star")},
		Plugins:   []engine.Plugin{Plugin{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	o := OptionsFor(dir, res)
	if o.Root != dir || o.Eval != res.Eval || o.History || !slices.Equal(o.Ignore, []string{"FERRY-DF005"}) {
		t.Fatalf("OptionsFor = %+v; want the workspace's, ignoring what lint_settings() names", o)
	}
}
