package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// An Owner is the workspace that the objects a target creates belong to.
// Targets label what they create with it, and never touch an object of
// their project that another workspace's label claims: two workspaces
// whose folders have the same name have the same default project.
type Owner struct {
	// ID is a hash of Path (24 hex digits): the label ferry.workspace.
	ID string
	// Path is the workspace root, absolute, with links resolved: the
	// label ferry.workspace.path, which says whose an object is.
	Path string
}

// OwnerOf returns the Owner of the workspace whose root is root.
func OwnerOf(root string) Owner {
	p, err := filepath.Abs(root)
	if err != nil {
		p = filepath.Clean(root)
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	sum := sha256.Sum256([]byte(p))
	return Owner{ID: hex.EncodeToString(sum[:12]), Path: p}
}

// ProjectName is the default project of the workspace at root: its folder's
// name, lowercased, with every character a Docker name cannot hold made
// '-' (a name of none is "ferry"). A folder name with characters beyond
// ASCII, which that loses, gets a short hash of the name ("café" is
// caf-1a2b3c4d, "日本" ferry-5e6f7a8b), so that two such names stay two
// projects.
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
