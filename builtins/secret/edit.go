package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/ferryhq/ferry/engine/platform"
)

// EditOutcome says what Edit did with the file.
type EditOutcome int

// The outcomes of an Edit.
const (
	// Edited: the content changed and was encrypted to the file.
	Edited EditOutcome = iota
	// NotCreated: the file did not exist and nothing was saved.
	NotCreated
	// Unchanged: the content was saved unchanged, so the file was left
	// as it was (Rekey encrypts it for the recipients as they are now).
	Unchanged
)

// Message says, for `ferry secret edit`, what an edit of the file name
// left undone, with what to do about it; "" for Edited.
func (o EditOutcome) Message(name string) string {
	switch o {
	case NotCreated:
		return fmt.Sprintf("%s not created: nothing was saved", name)
	case Unchanged:
		return fmt.Sprintf("%s unchanged; to re-encrypt it for the current recipients, run `ferry secret rekey %s`", name, name)
	}
	return ""
}

// Edit decrypts the age file at path (called name in errors) with the
// identities of identity, or starts empty when it does not exist; runs
// $EDITOR (else vi) on the plaintext in a private folder (see
// RemoveLeftoverEdits), on ferry's terminal; and encrypts what was saved
// for rs. The plaintext is removed however the editor ends, short of
// SIGKILL.
func Edit(ctx context.Context, path, name, identity string, rs []age.Recipient) (EditOutcome, error) {
	var plain []byte
	_, err := os.Stat(path)
	if !errors.Is(err, fs.ErrNotExist) {
		plain, err = DecryptFile(path, name, identity)
	} else {
		// Found out now, not once the editing is done.
		err = CheckFolder(path, name)
	}
	if err != nil {
		return 0, err
	}
	edited, err := editPrivately(ctx, filepath.Base(strings.TrimSuffix(name, ".age")), plain)
	if err != nil {
		return 0, err
	}
	switch {
	case bytes.Equal(edited, plain) && plain == nil:
		return NotCreated, nil
	case bytes.Equal(edited, plain):
		return Unchanged, nil
	}
	return Edited, WriteEncrypted(path, name, edited, rs)
}

// editBase is the folder in which edit makes its private folders: /dev/shm
// when there is one, so the plaintext stays in memory.
func editBase() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// editFolder matches the name of an edit's private folder,
// ferry-secret-PID-N, with the PID of the ferry that made it. (Folders
// named ferry-secret-N were made by a ferry that took no lock on them.)
var editFolder = regexp.MustCompile(`^ferry-secret-([0-9]+)-[0-9]+$`)

// editPrivately writes plain to a file named name in a new 0700 folder,
// runs the editor on it, and returns what was saved; the folder is always
// removed. It holds the folder locked meanwhile: the lock ends with the
// process, however it ends, which tells RemoveLeftoverEdits that a folder
// is left over (whatever PID namespace the edit ran in, and however its
// PID was reused since).
func editPrivately(ctx context.Context, name string, plain []byte) ([]byte, error) {
	if err := platform.Unsupported(platform.SecretEdit); err != nil {
		return nil, err
	}
	// Made as ferry-secret-PID.N and renamed once locked, so that no
	// RemoveLeftoverEdits sees it unlocked.
	base := editBase()
	made, err := os.MkdirTemp(base, fmt.Sprintf("ferry-secret-%d.", os.Getpid()))
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(base, strings.Replace(filepath.Base(made), ".", "-", 1))
	lock, err := os.Open(made)
	if err == nil {
		var locked bool
		if locked, err = platform.TryLock(lock); err == nil && !locked {
			err = fmt.Errorf("lock %s: another process holds it", made)
		}
		if err == nil {
			err = os.Rename(made, dir)
		}
		if err != nil {
			lock.Close()
		}
	}
	if err != nil {
		os.RemoveAll(made)
		return nil, err
	}
	defer lock.Close()
	defer os.RemoveAll(dir) // before the lock ends
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, plain, 0o600); err != nil {
		return nil, err
	}
	editor := os.Getenv("EDITOR")
	if editor == "" {
		editor = "vi"
	}
	// The editor gets the terminal itself. A signal that stops ferry kills
	// it, and the folder is removed on the way out.
	ed := exec.CommandContext(ctx, "/bin/sh", "-c", editor+` "$1"`, "sh", file)
	ed.Stdin, ed.Stdout, ed.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := ed.Run(); err != nil {
		return nil, fmt.Errorf("editor %q failed (%v): nothing was encrypted; set $EDITOR to an editor that exits 0 on save", editor, err)
	}
	return os.ReadFile(file)
}

// RemoveLeftoverEdits removes the private folders, each with a secret's
// plaintext in it, that an Edit stopped by SIGKILL left behind, and says
// so on w. It takes only this user's folders, and only those that no Edit
// holds locked, as a live one does.
func RemoveLeftoverEdits(w io.Writer) {
	base := editBase()
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		m := editFolder.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() { // not a link
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if uid, ok := platform.Owner(fi); !ok || uid != os.Getuid() {
			continue
		}
		dir := filepath.Join(base, e.Name())
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		if locked, _ := platform.TryLock(f); locked {
			what := fmt.Sprintf("the private folder of a `ferry secret edit` (process %s) that was killed before it could remove it, with a decrypted secret in it; last changed %s ago",
				m[1], time.Since(fi.ModTime()).Round(time.Second))
			if err := os.RemoveAll(dir); err != nil {
				fmt.Fprintf(w, "could not remove %s, %s: %v; remove it yourself\n", dir, what, err)
			} else {
				fmt.Fprintf(w, "removed %s, %s\n", dir, what)
			}
		}
		f.Close()
	}
}
