package secret

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"filippo.io/age"
)

// RecipientsFile is the default recipients file, at the workspace root.
const RecipientsFile = "ferry.recipients"

// NewIdentity writes a new age identity to path (KeyFile when path is
// ""), readable only by its owner, making its folder (0700) when needed,
// and returns its public key and the path written. It never replaces a
// file.
func NewIdentity(path string) (pub, written string, err error) {
	if path == "" {
		if path, err = KeyFile(); err != nil {
			return "", "", err
		}
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return "", "", fmt.Errorf("%s already exists: keygen does not replace an identity; give --output FILE for another", path)
	}
	if err != nil {
		return "", "", err
	}
	fmt.Fprintf(f, "# public key: %s\n%s\n", id.Recipient(), id)
	if err := f.Close(); err != nil {
		return "", "", err
	}
	return id.Recipient().String(), path, nil
}

// Recipients reads the recipients file: file when given, else
// RecipientsFile at the workspace root that root returns (asked only
// then).
func Recipients(file string, root func() (string, error)) ([]age.Recipient, error) {
	if file == "" {
		r, err := root()
		if err != nil {
			return nil, err
		}
		file = filepath.Join(r, RecipientsFile)
	}
	return ParseRecipients(file)
}

// DecryptFile decrypts the age file at path (called name in errors) with
// the identities of the file identity (see Identities).
func DecryptFile(path, name, identity string) ([]byte, error) {
	ids, err := Identities(identity)
	if err != nil {
		return nil, err
	}
	return Decrypt(path, name, ids)
}

// WriteEncrypted writes plain encrypted for rs to path (called name in
// errors), atomically, with mode 0644. The folder must exist (see
// CheckFolder).
func WriteEncrypted(path, name string, plain []byte, rs []age.Recipient) error {
	if err := CheckFolder(path, name); err != nil {
		return err
	}
	enc, err := Encrypt(plain, rs)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ferry-secret-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(enc); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Rekey decrypts the age file at path (called name in errors) with the
// identities of identity, and encrypts its content again, unchanged, for
// rs.
func Rekey(path, name, identity string, rs []age.Recipient) error {
	plain, err := DecryptFile(path, name, identity)
	if err != nil {
		return err
	}
	return WriteEncrypted(path, name, plain, rs)
}

// CheckFolder fails when the folder that path (called name in errors) goes
// in does not exist: ferry does not make it, lest a typo in the path leave
// the secret where nobody looks for it.
func CheckFolder(path, name string) error {
	dir := filepath.Dir(name)
	fi, err := os.Stat(filepath.Dir(path))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot write %s: folder %s does not exist; create it (mkdir -p %s) or fix the path", name, dir, dir)
	case err != nil:
		return fmt.Errorf("cannot write %s: %v", name, err)
	case !fi.IsDir():
		return fmt.Errorf("cannot write %s: %s is not a folder; fix the path", name, dir)
	}
	return nil
}
