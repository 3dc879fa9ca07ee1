package seccheck

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The security checks run git only in the git repository that holds the
// workspace, never in a folder of the workspace laid out as a repository
// of its own (HEAD, objects, refs, config: a pull request can add one),
// whose config git would honour (log.showSignature with gpg.program, or
// core.fsmonitor, run programs it names).
func TestEmbeddedRepositoryIgnored(t *testing.T) {
	repo := t.TempDir()
	if out, err := exec.Command("git", "-C", repo, "init", "-q").CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	ws := filepath.Join(repo, "svc")
	writeFiles(t, ws, map[string]string{
		"HEAD":       "ref: refs/heads/main\n",
		"config":     "[core]\n\tbare = false\n\tworktree = .\n[log]\n\tshowSignature = true\n",
		"refs/.keep": "",
		"ferry.star": "",
		".env":       "API_TOKEN=abc\n",
	})
	os.MkdirAll(filepath.Join(ws, "objects"), 0o755)
	if !isGitRepo(context.Background(), repo, nil) {
		t.Fatal("the real repository is not taken as one")
	}
	if isGitRepo(context.Background(), ws, nil) {
		t.Error("a folder of the workspace laid out as a git repository is taken as the workspace's repository")
	}
	if _, _, err := scanHistory(context.Background(), ws, nil); err != errNotGit {
		t.Errorf("scanHistory: %v, want errNotGit", err)
	}
}
