package mod

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ssh addresses, scp-like and ssh://, go through git's own ssh transport,
// with the ssh command git is configured with (GIT_SSH_COMMAND here: a
// stand-in for ssh that runs the remote command locally and notes the
// host it was asked for).
func TestSSHAddresses(t *testing.T) {
	srv := newGitServer(t)
	srv.Commit(t, "lib", map[string]string{"greet.star": libV1}, "v1.0.0")
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	fake := filepath.Join(dir, "fake-ssh")
	os.WriteFile(fake, []byte("#!/bin/sh\necho \"$1\" >> "+hosts+"\nshift\nexec sh -c \"$*\"\n"), 0o755)
	t.Setenv("GIT_SSH_COMMAND", fake)
	t.Setenv("GIT_SSH_VARIANT", "simple")
	lib := filepath.Join(srv.Base, "lib")
	for _, repo := range []string{"git@modules.example:" + lib, "ssh://git@modules.example" + lib} {
		t.Run(repo[:6], func(t *testing.T) {
			os.Remove(hosts)
			ws := workspace(t, map[string]string{
				"ferry.mod":  fmt.Sprintf("dep(\"lib\", repo = %q, version = \"v1.0.0\")\n", repo),
				"ferry.star": "load('@lib//greet.star', 'greeting')\nx = greeting('ssh')",
			})
			if _, err := evaluate(t, ws, Options{Cache: &Cache{Dir: t.TempDir()}}); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, hosts); !strings.Contains(got, "git@modules.example") {
				t.Errorf("ssh was asked for %q, want git@modules.example", got)
			}
		})
	}
}
