package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
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
