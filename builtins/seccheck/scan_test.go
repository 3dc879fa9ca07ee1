package seccheck

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// writeFiles writes files (slash paths to contents) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// git runs git in dir with a fixed identity and returns its output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func positions(hits []secretHit) []string {
	var ps []string
	for _, h := range hits {
		ps = append(ps, h.Rule+" "+h.Pos())
	}
	slices.Sort(ps)
	return ps
}

func TestScanWorkspace(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"config/app.env":      "MODE=prod\nAWS_ACCESS_KEY_ID=" + awsID + "\n",
		"README.md":           "no secrets here\n",
		".gitignore":          "*.local\nbuild/\n",
		"dev.local":           "token: " + ghToken + "\n",
		"build/out.txt":       "token: " + ghToken + "\n",
		"sub/.gitignore":      "private.txt\n",
		"sub/private.txt":     "STRIPE=" + stripe + "\n",
		"other/private.txt":   "STRIPE=" + stripe + "\n",
		".git/config":         "token: " + ghToken + "\n",
		".ferry/state":        "token: " + ghToken + "\n",
		"bin/tool":            "\x00\x01" + ghToken,
		"deploy/ferry.star":   "x = 1\n",
		"deploy/settings.yml": "slack: " + slack + "\n",
	})
	ws, err := scanWorkspace(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	hits, files := ws.hits, ws.files
	want := []string{
		"FERRY-SEC001 config/app.env:2:19",
		"FERRY-SEC005 deploy/settings.yml:1:8",
		"FERRY-SEC006 other/private.txt:1:8",
	}
	if got := positions(hits); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if files != 7 { // app.env, README.md, .gitignore, sub/.gitignore, other/private.txt, ferry.star, settings.yml
		t.Errorf("read %d files, want 7", files)
	}
}

func TestScanHistory(t *testing.T) {
	repo := t.TempDir()
	git(t, repo, "init", "-q", "-b", "main")
	writeFiles(t, repo, map[string]string{
		"app/ferry.star": "x = 1\n",
		"app/conf.env":   "MODE=dev\nGITLAB=" + glToken + "\n",
		"elsewhere.env":  "STRIPE=" + stripe + "\n", // outside the workspace (app/)
	})
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "add config")
	added := git(t, repo, "rev-parse", "HEAD")
	writeFiles(t, repo, map[string]string{"app/conf.env": "MODE=dev\nGITLAB=${GITLAB_TOKEN}\n"})
	git(t, repo, "commit", "-q", "-am", "read the token from the environment")
	// A secret on another branch is reachable too.
	git(t, repo, "checkout", "-q", "-b", "topic")
	writeFiles(t, repo, map[string]string{"app/keys/id_rsa": pemHead + "\nMIIE\n"})
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "a key")
	onTopic := git(t, repo, "rev-parse", "HEAD")
	git(t, repo, "checkout", "-q", "main")

	ws := filepath.Join(repo, "app")
	hits, commits, err := scanHistory(context.Background(), ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	if commits != 3 {
		t.Errorf("read %d commits, want 3", commits)
	}
	want := []string{
		"FERRY-SEC004 " + added[:12] + ":conf.env:2:8",
		"FERRY-SEC008 " + onTopic[:12] + ":keys/id_rsa:1:1",
	}
	if got := positions(hits); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if now, err := scanWorkspace(context.Background(), ws); err != nil || len(now.hits) != 0 {
		t.Errorf("the workspace holds no secret now, got %v, %v", now, err)
	}

	if _, _, err := scanHistory(context.Background(), t.TempDir(), nil); err != errNotGit {
		t.Errorf("outside git: got %v, want errNotGit", err)
	}
}

func TestParseLogQuotedNames(t *testing.T) {
	log := "\x00abc\ndiff --git \"a/x y\" \"b/x y\"\n--- /dev/null\n+++ \"b/sp\\303\\251cial.env\"\n@@ -0,0 +7,2 @@\n+a\n+id=" + awsID + "\n"
	hits, commits, err := parseLog(strings.NewReader(log))
	if err != nil || commits != 1 {
		t.Fatal(err, commits)
	}
	if got := positions(hits); !slices.Equal(got, []string{"FERRY-SEC001 abc:spécial.env:8:4"}) {
		t.Errorf("got %v", got)
	}
}

// A file or folder the scan cannot read is listed, and the rest is still
// scanned. Root reads everything, so as root the test runs itself again as
// the unprivileged user 65534.
func TestScanWorkspaceUnreadable(t *testing.T) {
	if dir := os.Getenv("FERRY_TEST_SCAN_DIR"); dir != "" {
		checkUnreadableScan(t, dir)
		return
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"app.env":        "AWS_ACCESS_KEY_ID=" + awsID + "\n",
		"locked.env":     "GITHUB=" + ghToken + "\n",
		"private/a.env":  "SLACK=" + slack + "\n",
		"private/b.env":  "SLACK=" + slack + "\n",
		"public/ok.env":  "STRIPE=" + stripe + "\n",
		"public/readme":  "nothing\n",
		"z/last/one.txt": "x\n",
	})
	for _, p := range []string{"locked.env", "private"} {
		if err := os.Chmod(filepath.Join(dir, p), 0); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "private"), 0o755) })
	if os.Getuid() != 0 {
		checkUnreadableScan(t, dir)
		return
	}
	// The test binary and the temp folders must be reachable by 65534.
	bin := filepath.Join(t.TempDir(), "seccheck.test")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(bin), filepath.Dir(filepath.Dir(bin)), dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-test.run=^TestScanWorkspaceUnreadable$", "-test.v")
	cmd.Env = append(os.Environ(), "FERRY_TEST_SCAN_DIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestScanWorkspaceUnreadable") {
		t.Fatalf("as uid 65534: %v\n%s", err, out)
	}
}

func checkUnreadableScan(t *testing.T, dir string) {
	ws, err := scanWorkspace(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"FERRY-SEC001 app.env:1:19", "FERRY-SEC006 public/ok.env:1:8"}
	if got := positions(ws.hits); !slices.Equal(got, want) {
		t.Errorf("hits %v, want %v", got, want)
	}
	if want := []string{"locked.env (permission denied)", "private (permission denied)"}; !slices.Equal(ws.unreadable, want) {
		t.Errorf("unreadable %q, want %q", ws.unreadable, want)
	}
	if ws.files != 4 {
		t.Errorf("read %d files, want 4", ws.files)
	}
	var r Report
	if err := scanSecrets(context.Background(), Options{Root: dir}, &r); err != nil {
		t.Fatal(err)
	}
	if note := strings.Join(r.Notes, "\n"); !strings.Contains(note, "could not read 2 files or folders, so they were not checked: locked.env (permission denied), private (permission denied); give the user running ferry read access") {
		t.Errorf("notes:\n%s", note)
	}
}

// A .gitignore that is a link is not read, as git does not read one: its
// patterns could come from outside the workspace, and hide files from the
// scan.
func TestScanGitignoreLinkNotRead(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"config/app.env": "AWS_ACCESS_KEY_ID=" + awsID + "\n"})
	outside := filepath.Join(t.TempDir(), "patterns")
	if err := os.WriteFile(outside, []byte("*.env\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, ".gitignore")); err != nil {
		t.Fatal(err)
	}
	ws, err := scanWorkspace(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := positions(ws.hits), []string{"FERRY-SEC001 config/app.env:1:19"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v: the patterns of the file .gitignore links to were applied", got, want)
	}
}
