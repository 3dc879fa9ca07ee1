package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// keyName is the workspace's HMAC key file, in .ferry.
const keyName = "secret-hmac.key"

// keys holds each workspace's key once read: a run checks the HMACs of
// every rule's secrets, and one key per process keeps them consistent.
var keys sync.Map // root → []byte

// WorkspaceKey returns the workspace's 32-byte HMAC key from
// ROOT/.ferry/secret-hmac.key, creating it (mode 0600) on first use. Keys
// and labels that must change with a secret use an HMAC under it, never a
// plain hash, which could be checked against guesses.
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

func readWorkspaceKey(root string) ([]byte, error) {
	path := filepath.Join(root, ".ferry", keyName)
	key, err := os.ReadFile(path)
	if err == nil && len(key) == 32 {
		return key, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secret key %s: %w", path, err)
	}
	if err == nil {
		return nil, fmt.Errorf("secret key %s is damaged (%d bytes, want 32): delete it and ferry makes a new one", path, len(key))
	}
	key = make([]byte, 32)
	rand.Read(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), keyName+".*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600.
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	// Another ferry may have made one meanwhile: keep the first.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return os.ReadFile(path)
}

func hmacHex(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}
