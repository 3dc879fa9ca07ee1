package seccheck

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/ferryhq/ferry/engine"
)

// checkTrackedState reports ferry's state folder when git tracks files in
// it: its state holds HMACs of secret values, and older versions of ferry
// kept their key beside them, so a clone lets anyone test guesses offline.
// It reports nothing outside a git repository.
func checkTrackedState(ctx context.Context, root string) ([]Finding, error) {
	if !isGitRepo(ctx, root, nil) {
		return nil, nil
	}
	out, err := exec.CommandContext(ctx, "git", "-C", root, "ls-files", "-z", "--", engine.StateDir).Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files %s in %s: %w", engine.StateDir, root, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	files := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	const most = 3
	list := strings.Join(files[:min(len(files), most)], ", ")
	if len(files) > most {
		list += fmt.Sprintf(" and %d more", len(files)-most)
	}
	msg := fmt.Sprintf("ferry's state folder %s is tracked in git (%d files: %s): its state holds HMACs of secret values, and the key to them was kept there too until ferry moved it out of the workspace, so anyone with the repository can test guesses of the values offline",
		engine.StateDir, len(files), list)
	return []Finding{finding("FERRY-SEC012", engine.StateDir, 0, msg)}, nil
}
