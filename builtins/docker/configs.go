package docker

import (
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
	return filepath.Join(root, engine.StateDir, "configs", project, rule)
}

// configFile is the name of a config's copy in its rule's folder.
func configFile(cf deploy.Config) string {
	return fmt.Sprintf("%s-%o", cf.Digest()[:32], cf.Mode)
}

// writeConfigs makes the copies of the deployment's configs that are not
// there yet.
func writeConfigs(d *deploy.Deployment) error {
	if len(d.Spec.Configs) == 0 {
		return nil
	}
	dir := configDir(d.Root, d.Project, d.Spec.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("configs: %w", err)
	}
	for _, cf := range d.Spec.Configs {
		p := filepath.Join(dir, configFile(cf))
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			continue
		}
		if err := writeCopy(p, cf); err != nil {
			return fmt.Errorf("configs: %s: %w", cf.Target, err)
		}
	}
	return nil
}

// writeCopy writes cf's content to p, with cf's mode, atomically.
func writeCopy(p string, cf deploy.Config) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".new-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
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
	return os.Rename(f.Name(), p)
}

// pruneConfigs removes the copies of the rule's configs that the
// deployment d, which now runs everywhere, does not use.
func pruneConfigs(d *deploy.Deployment) error {
	if d.Root == "" {
		return nil
	}
	dir := configDir(d.Root, d.Project, d.Spec.Name)
	entries, err := os.ReadDir(dir)
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
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// removeConfigs removes the copies of the configs of the project's rules
// not in keep, in the workspace at root ("" : unknown, nothing removed).
func removeConfigs(root, project string, keep []string) error {
	if root == "" {
		return nil
	}
	dir := filepath.Join(root, engine.StateDir, "configs", project)
	entries, err := os.ReadDir(dir)
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
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
