package seccheck

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// lintFindings runs Check on the workspace at root and returns the
// findings of rule id.
func lintFindings(t *testing.T, root, id string) []Finding {
	t.Helper()
	r, err := Check(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	var out []Finding
	for _, f := range r.Findings {
		if f.Rule == id {
			out = append(out, f)
		}
	}
	return out
}

// A .ferry folder that git tracks is reported, with the way to untrack it;
// an untracked one, or one outside git, is not.
func TestTrackedStateFolder(t *testing.T) {
	repo := t.TempDir()
	root := filepath.Join(repo, "app")
	writeFiles(t, root, map[string]string{
		"ferry.star":             "",
		".ferry/state":           "FERRYST4...",
		".ferry/secret-hmac.key": "0123456789abcdef0123456789abcdef",
		".ferry/lock":            "",
		"../other/.ferry/state":  "",
	})
	if got := lintFindings(t, root, "FERRY-SEC012"); len(got) != 0 {
		t.Errorf("outside git: %v", got)
	}
	git(t, repo, "init", "-q")
	git(t, repo, "add", "app/ferry.star", "other")
	if got := lintFindings(t, root, "FERRY-SEC012"); len(got) != 0 {
		t.Errorf("untracked .ferry: %v", got)
	}
	git(t, repo, "add", "-f", "app/.ferry")
	got := lintFindings(t, root, "FERRY-SEC012")
	if len(got) != 1 {
		t.Fatalf("tracked .ferry: %v, want one finding", got)
	}
	f := got[0]
	for _, want := range []string{".ferry/lock", ".ferry/secret-hmac.key", ".ferry/state", "3 files"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message %q does not name %q", f.Message, want)
		}
	}
	if f.File != ".ferry" || f.Severity != Error || !strings.Contains(f.Fix, "git rm -r --cached .ferry") || !strings.Contains(f.Fix, "rotate") {
		t.Errorf("finding: %+v", f)
	}
	git(t, repo, "rm", "-r", "-q", "--cached", "app/.ferry")
	if got := lintFindings(t, root, "FERRY-SEC012"); len(got) != 0 {
		t.Errorf("after git rm --cached: %v", got)
	}
}
