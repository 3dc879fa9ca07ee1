package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/ferryhq/ferry/engine/platform"
)

// legacyKeyName is the file in .ferry where ferry kept a workspace's key
// until it moved the keys out of the workspace: one there came with the
// workspace, perhaps from its repository, and is never used.
const legacyKeyName = "secret-hmac.key"

// keys holds each workspace's key once read: a run checks the HMACs of
// every rule's secrets, and one key per process keeps them consistent.
var keys sync.Map // root → []byte

// WorkspaceKey returns the 32-byte HMAC key of the workspace at root,
// creating it on first use in the user's state folder (see keyPath), never
// in the workspace, whose state holds the HMACs: a key beside them, if the
// folder were committed or shared, would let anyone test guesses of the
// values offline. Keys and labels that must change with a secret use an
// HMAC under it, never a plain hash, which could be checked against
// guesses.
func WorkspaceKey(root string) ([]byte, error) {
	if key, ok := keys.Load(root); ok {
		return key.([]byte), nil
	}
	key, err := readWorkspaceKey(root)
	if err != nil {
		return nil, err
	}
	stored, _ := keys.LoadOrStore(root, key)
	return stored.([]byte), nil
}

// keyPath returns the file of the key of the workspace at root:
// $XDG_STATE_HOME/ferry/secret-keys/<hash of root>.key, or under
// ~/.local/state when XDG_STATE_HOME is not set to an absolute path (the
// XDG base directory spec ignores a relative one). A key is state in the
// spec's sense: it matters to this machine only, and losing it costs one
// more run of the rules that use secrets.
func keyPath(root string) (string, error) {
	base := os.Getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no folder for ferry's secret keys: set XDG_STATE_HOME or HOME (%w)", err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(base, "ferry", "secret-keys", hex.EncodeToString(sum[:16])+".key"), nil
}

func readWorkspaceKey(root string) ([]byte, error) {
	// Where the key's owner cannot be checked, secrets are refused.
	if err := platform.Unsupported(platform.SecretKey); err != nil {
		return nil, err
	}
	removeLegacyKey(root)
	path, err := keyPath(root)
	if err != nil {
		return nil, err
	}
	key, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	dir := filepath.Dir(path)
	if err := keyFolder(dir); err != nil {
		return nil, err
	}
	key = make([]byte, 32)
	rand.Read(key)
	// CreateTemp makes a new file (O_EXCL, so never through a link), 0600.
	tmp, err := os.CreateTemp(dir, ".new-*")
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	// Another ferry may have made one meanwhile: keep the first.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return readKey(path)
}

// readKey reads the key file at path, which must be a file of the current
// user, not a link, of 32 bytes.
func readKey(path string) ([]byte, error) {
	f, err := platform.OpenNoFollow(path, os.O_RDONLY, 0)
	switch {
	case errors.Is(err, syscall.ELOOP):
		return nil, fmt.Errorf("secret key %s is a symbolic link: ferry uses only a key file it made; remove the link (rm %s) and ferry makes a new key (the rules that use secrets run once more)", path, path)
	case errors.Is(err, fs.ErrNotExist):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("secret key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if uid, ok := platform.Owner(fi); ok && uid != os.Geteuid() {
		return nil, fmt.Errorf("secret key %s belongs to uid %d, not to you (uid %d): remove it and ferry makes a new one (the rules that use secrets run once more)", path, uid, os.Geteuid())
	}
	if !fi.Mode().IsRegular() || fi.Size() != 32 {
		return nil, fmt.Errorf("secret key %s is damaged (%d bytes, want a file of 32): delete it and ferry makes a new one (the rules that use secrets run once more)", path, fi.Size())
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("secret key %s: %w", path, err)
	}
	return key, nil
}

// keyFolder makes dir, the folder of the keys, private (0700) and checks
// that it is the current user's folder.
func keyFolder(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secret key folder: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("secret key folder: %w", err)
	}
	if uid, ok := platform.Owner(fi); !fi.IsDir() || ok && uid != os.Geteuid() {
		return fmt.Errorf("secret key folder %s is not a folder of yours: remove it, and ferry makes it afresh", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return os.Chmod(dir, 0o700)
	}
	return nil
}

// removeLegacyKey removes a key file left in the workspace's .ferry, when
// .ferry is a plain folder (through a link, it would remove another file).
func removeLegacyKey(root string) {
	dir := filepath.Join(root, ".ferry")
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		os.Remove(filepath.Join(dir, legacyKeyName))
	}
}

func hmacHex(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}
