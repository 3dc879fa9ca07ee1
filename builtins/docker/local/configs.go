package local

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ferryhq/ferry/builtins/deploy"
	"github.com/ferryhq/ferry/engine"
)

// The configs of the containers that the local Engine runs are copies of
// their content in the workspace's state folder, bind-mounted read-only:
//
//	ROOT/.ferry/configs/PROJECT/RULE/SHA256-MODE
//
// Named by content, a copy never changes under a running container (an
// editor that replaces nginx.conf would leave a mount of the file itself
// on the old one, or show a half-written one); a changed config is a new
// copy, and a new container.

// configDir is the folder of the copies of the configs of a project's rule.
func configDir(root, project, rule string) string {
	return filepath.Join(root, configRel(project, rule))
}

// configRel is configDir relative to the workspace root.
func configRel(project, rule string) string {
	return filepath.Join(engine.StateDir, "configs", project, rule)
}

// configFile is the name of a config's copy in its rule's folder.
func configFile(cf deploy.Config) string {
	return fmt.Sprintf("%s-%o", cf.Digest()[:32], cf.Mode)
}

// The copies are written and removed through an os.Root of the workspace:
// a link under .ferry (a repository can hold one) never makes ferry write
// a config outside the workspace, nor remove files there.

// writeConfigs makes the copies of the deployment's configs that are not
// there yet.
func writeConfigs(d *deploy.Deployment) error {
	if len(d.Spec.Configs) == 0 {
		return nil
	}
	r, err := os.OpenRoot(d.Root)
	if err != nil {
		return fmt.Errorf("configs: %w", err)
	}
	defer r.Close()
	dir := configRel(d.Project, d.Spec.Name)
	if err := r.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("configs: %w; ferry keeps the copies of configs in %s, a folder of the workspace (remove a link there)", err, dir)
	}
	for _, cf := range d.Spec.Configs {
		p := filepath.Join(dir, configFile(cf))
		if fi, err := r.Lstat(p); err == nil && fi.Mode().IsRegular() {
			continue
		}
		if err := writeCopy(r, p, cf); err != nil {
			return fmt.Errorf("configs: %s: %w", cf.Target, err)
		}
	}
	return nil
}

// writeCopy writes cf's content to p in r, with cf's mode, atomically.
func writeCopy(r *os.Root, p string, cf deploy.Config) error {
	tmp := filepath.Join(filepath.Dir(p), ".new-"+rand.Text()[:12])
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer r.Remove(tmp)
	if _, err := f.WriteString(cf.Content); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(cf.Mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return r.Rename(tmp, p)
}

// pruneConfigs removes the copies of the rule's configs that the
// deployment d, which now runs everywhere, does not use.
func pruneConfigs(d *deploy.Deployment) error {
	if d.Root == "" {
		return nil
	}
	r, err := os.OpenRoot(d.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no workspace folder, so no copies in it
	} else if err != nil {
		return err
	}
	defer r.Close()
	dir := configRel(d.Project, d.Spec.Name)
	entries, err := readDir(r, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, cf := range d.Spec.Configs {
		keep[configFile(cf)] = true
	}
	for _, e := range entries {
		if !keep[e.Name()] {
			if err := r.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// readDir lists the folder dir of r, never through a link out of r.
func readDir(r *os.Root, dir string) ([]fs.DirEntry, error) {
	f, err := r.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// removeConfigs removes the copies of the configs of the project's rules
// not in keep, in the workspace at root ("" : unknown, nothing removed).
func removeConfigs(root, project string, keep []string) error {
	if root == "" {
		return nil
	}
	r, err := os.OpenRoot(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no workspace folder, so no copies in it
	} else if err != nil {
		return err
	}
	defer r.Close()
	dir := filepath.Join(engine.StateDir, "configs", project)
	entries, err := readDir(r, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	kept := map[string]bool{}
	for _, k := range keep {
		kept[k] = true
	}
	for _, e := range entries {
		if !kept[e.Name()] {
			if err := r.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
