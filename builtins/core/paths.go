package core

import (
	"fmt"
	"path"
	"strings"
)

// wsPath joins a path written in a module under dir into a workspace-relative
// slash path, refusing paths that leave the workspace.
func wsPath(dir, p string) (string, error) {
	if path.IsAbs(p) {
		return "", fmt.Errorf("%q is absolute; paths in ferry files are relative to the file's folder", p)
	}
	j := path.Join(dir, p)
	if j == ".." || strings.HasPrefix(j, "../") {
		return "", fmt.Errorf("%q leaves the workspace", p)
	}
	return j, nil
}

func wsPaths(dir string, ps []string) ([]string, error) {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		j, err := wsPath(dir, p)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}
