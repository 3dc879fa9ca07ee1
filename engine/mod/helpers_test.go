package mod

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/builtins/core"
	"github.com/ferryhq/ferry/engine"
	"github.com/ferryhq/ferry/engine/redact"
)

// runGit runs git in dir with a fixed identity and fails the test on error.
func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// A gitServer holds repositories under Base, served by a real git daemon
// on loopback (URL) and reachable as file:// too.
type gitServer struct {
	Base string
	Port int
	cmd  *exec.Cmd
	once sync.Once
}

func newGitServer(t testing.TB) *gitServer {
	t.Helper()
	s := &gitServer{Base: t.TempDir()}
	s.start(t)
	t.Cleanup(s.Stop)
	return s
}

func (s *gitServer) start(t testing.TB) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	s.cmd = exec.Command("git", "daemon", "--export-all", "--reuseaddr", "--informative-errors",
		"--base-path="+s.Base, "--listen=127.0.0.1", fmt.Sprintf("--port=%d", s.Port), s.Base)
	// git daemon runs git-daemon as a child: the group is killed together.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port))
		if err == nil {
			c.Close()
			return
		}
		if i > 200 {
			t.Fatalf("git daemon did not listen: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop kills the daemon: the repositories become unreachable over git://.
func (s *gitServer) Stop() {
	s.once.Do(func() {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		s.cmd.Wait()
	})
}

// URL returns the git:// address of repository name.
func (s *gitServer) URL(name string) string {
	return fmt.Sprintf("git://127.0.0.1:%d/%s", s.Port, name)
}

// FileURL returns the file:// address of repository name.
func (s *gitServer) FileURL(name string) string { return "file://" + filepath.Join(s.Base, name) }

// Commit writes files into repository name (creating it), commits them and
// tags the commit with each of tags; it returns the commit.
func (s *gitServer) Commit(t testing.TB, name string, files map[string]string, tags ...string) string {
	t.Helper()
	dir := filepath.Join(s.Base, name)
	if _, err := os.Stat(filepath.Join(dir, ".git")); err != nil {
		os.MkdirAll(dir, 0o755)
		runGit(t, dir, "init", "-q", "-b", "main")
	}
	writeFiles(t, dir, files)
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "commit", "-q", "--allow-empty", "-m", "change")
	for _, tag := range tags {
		runGit(t, dir, "tag", "-f", tag)
	}
	return runGit(t, dir, "rev-parse", "HEAD")
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// workspace makes a workspace folder with the given files.
func workspace(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return dir
}

// evaluate resolves the modules of the workspace in dir with cache and
// evaluates its ferry.star with the core builtins.
func evaluate(t testing.TB, dir string, o Options) (*engine.Result, error) {
	t.Helper()
	ctx := context.Background()
	mods, err := Load(ctx, dir, o)
	if err != nil {
		return nil, err
	}
	bus := engine.NewBus(redact.New())
	return engine.Evaluate(ctx, engine.Options{
		Workspace: &engine.Workspace{Root: dir, File: filepath.Join(dir, engine.FileName)},
		Plugins:   []engine.Plugin{core.Plugin{}},
		Modules:   mods,
		Events:    bus,
	})
}

func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one with %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error lacks %q:\n%v", p, err)
		}
	}
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
