package engine

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FindFiles returns the files that paths name whose base name match
// accepts, searching folders recursively, or every such file under root
// when paths is empty: absolute paths, sorted, each once. A file named
// directly must match (what is the name it must have). Paths are absolute
// or relative to root, and must stay inside it. The search skips links,
// hidden folders, node_modules, and folders named testdata: they hold
// fixtures, such as the workspaces tests evaluate, as in Go.
func FindFiles(root string, paths []string, match func(base string) bool, what string) ([]string, error) {
	if len(paths) == 0 {
		paths = []string{root}
	}
	seen := map[string]bool{}
	var out []string
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		if rel, err := filepath.Rel(root, p); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("%s is outside the workspace %s", p, root)
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%w; give %s or folders of the workspace", err, what)
		}
		// A link on the way may lead out of the workspace, as ../ would.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if realRoot, err := filepath.EvalSymlinks(root); err == nil {
				if rel, err := filepath.Rel(realRoot, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
					return nil, fmt.Errorf("%s is outside the workspace %s: a link leads to %s", p, root, real)
				}
			}
		}
		if !info.IsDir() {
			if !match(filepath.Base(p)) {
				return nil, fmt.Errorf("%s: want %s", p, what)
			}
			add(p)
			continue
		}
		err = filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case d.IsDir():
				if n := d.Name(); f != p && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
					return filepath.SkipDir
				}
			case d.Type().IsRegular() && match(d.Name()):
				add(f)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}
