package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ProjectName is the default project of the workspace at root: its folder's
// name, lowercased, with every character a Docker name cannot hold made
// '-' (a name of none is "ferry"). A folder name with characters beyond
// ASCII, which that loses, gets a short hash of the name ("café" is
// caf-1a2b3c4d, "日本" ferry-5e6f7a8b), so that two such names stay two
// projects. The project prefixes and labels what deploy targets create.
func ProjectName(root string) string {
	base := filepath.Base(root)
	var sb strings.Builder
	lossy := false
	for _, r := range strings.ToLower(base) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_':
			sb.WriteRune(r)
		default:
			lossy = lossy || r >= utf8.RuneSelf
			sb.WriteRune('-')
		}
	}
	name := strings.Trim(sb.String(), "-_")
	if name == "" {
		name = "ferry"
	}
	if lossy {
		sum := sha256.Sum256([]byte(base))
		name += "-" + hex.EncodeToString(sum[:4])
	}
	return name
}

// ResolveProject returns the project of ws: given, the name the user gave
// (--project), when it is fit to prefix Docker object names, or
// ProjectName of the root when given is "".
func ResolveProject(ws *Workspace, given string) (string, error) {
	if given == "" {
		return ProjectName(ws.Root), nil
	}
	if !validProject.MatchString(given) {
		return "", fmt.Errorf("--project %q: want lowercase letters, digits, '-' and '_', starting with a letter or digit (it prefixes Docker names)", given)
	}
	return given, nil
}

// FindProject finds the workspace for dir and file (see FindWorkspace)
// and resolves its project from given (see ResolveProject), without
// evaluating it.
func FindProject(dir, file, given string) (*Workspace, string, error) {
	ws, err := FindWorkspace(dir, file)
	if err != nil {
		return nil, "", err
	}
	project, err := ResolveProject(ws, given)
	if err != nil {
		return nil, "", err
	}
	return ws, project, nil
}

var validProject = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
