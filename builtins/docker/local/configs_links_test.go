package local

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

// The copies of configs stay in the workspace's state folder: a link
// planted under .ferry/configs (a repository can hold one) makes ferry
// neither write a config outside the workspace (into /etc/cron.d, say,
// for a ferry running as root) nor remove what is there.
func TestConfigCopiesStayInside(t *testing.T) {
	for _, link := range []string{"configs", "configs/proj", "configs/proj/web"} {
		t.Run(link, func(t *testing.T) {
			root, out := t.TempDir(), t.TempDir()
			victim := filepath.Join(out, "proj", "other", "keep.txt")
			if link == "configs/proj" {
				victim = filepath.Join(out, "other", "keep.txt")
			}
			os.MkdirAll(filepath.Dir(victim), 0o755)
			os.WriteFile(victim, []byte("keep"), 0o644)
			p := filepath.Join(root, engine.StateDir, filepath.FromSlash(link))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.Symlink(out, p); err != nil {
				t.Fatal(err)
			}
			d := &deploy.Deployment{Project: "proj", Root: root, Spec: &deploy.ServiceSpec{Name: "web",
				Configs: []deploy.Config{{Target: "/etc/x", Content: "* * * * * root pwned\n", Mode: 0o444}}}}
			err := writeConfigs(d)
			if err == nil {
				t.Error("writeConfigs wrote through a link")
			}
			entries, _ := filepath.Glob(filepath.Join(out, "*", "*"))
			more, _ := filepath.Glob(filepath.Join(out, "*"))
			for _, e := range append(entries, more...) {
				if fi, err := os.Stat(e); err == nil && fi.Mode().IsRegular() && e != victim {
					t.Errorf("a config's copy was written outside the workspace: %s", e)
				}
			}
			removeConfigs(root, "proj", []string{"web"})
			pruneConfigs(d)
			if _, err := os.Stat(victim); err != nil {
				t.Errorf("removing configs removed %s, outside the workspace: %v", victim, err)
			}
		})
	}
}
