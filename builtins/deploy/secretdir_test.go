package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrivateDir(t *testing.T) {
	dir := t.TempDir()
	made := filepath.Join(dir, "made")
	if err := privateDir(made); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(made); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("made: %v %v", fi.Mode(), err)
	}

	// A folder of this user's with a loose mode is made private.
	loose := filepath.Join(dir, "loose")
	os.Mkdir(loose, 0o777)
	os.Chmod(loose, 0o777)
	if err := privateDir(loose); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(loose); fi.Mode().Perm() != 0o700 {
		t.Errorf("loose folder left %v", fi.Mode().Perm())
	}

	// A link or a file is refused.
	link := filepath.Join(dir, "link")
	os.Symlink(made, link)
	if err := privateDir(link); err == nil || !strings.Contains(err.Error(), "is not a folder") {
		t.Errorf("link: %v", err)
	}

	// Someone else's folder is refused, and left as it is.
	if os.Getuid() != 0 {
		t.Skip("making a folder of another user's needs root")
	}
	theirs := filepath.Join(dir, "theirs")
	os.Mkdir(theirs, 0o777)
	os.Chmod(theirs, 0o777)
	if err := os.Chown(theirs, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	err := privateDir(theirs)
	if err == nil || !strings.Contains(err.Error(), theirs+" belongs to user 65534, not to you (0): someone else made it") {
		t.Errorf("someone else's folder: %v", err)
	}
	if fi, _ := os.Stat(theirs); fi.Mode().Perm() != 0o777 {
		t.Errorf("someone else's folder was changed to %v", fi.Mode().Perm())
	}
}
