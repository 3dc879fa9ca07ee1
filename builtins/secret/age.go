package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
)

// KeyFile returns the default identity file: ferry/age.key in the user's
// config folder ($XDG_CONFIG_HOME or ~/.config on Linux).
func KeyFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config folder to find the age key in (%v): set FERRY_AGE_KEY or give --identity", err)
	}
	return filepath.Join(dir, "ferry", "age.key"), nil
}

// Identities returns the age identities to decrypt with: those in the file
// given (--identity), else in $FERRY_AGE_KEY, else in KeyFile.
func Identities(file string) ([]age.Identity, error) {
	if file == "" {
		if k := os.Getenv("FERRY_AGE_KEY"); k != "" {
			ids, err := age.ParseIdentities(strings.NewReader(k))
			if err != nil {
				return nil, errors.New("FERRY_AGE_KEY holds no valid age identity (want a line AGE-SECRET-KEY-1..., as `ferry secret keygen` writes)")
			}
			return ids, nil
		}
		var err error
		if file, err = KeyFile(); err != nil {
			return nil, err
		}
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no age identity: %s does not exist and FERRY_AGE_KEY is not set; run `ferry secret keygen`, set FERRY_AGE_KEY, or give --identity FILE", file)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("age identity: %w", err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s holds no valid age identity (want lines AGE-SECRET-KEY-1..., as `ferry secret keygen` writes)", file)
	}
	return ids, nil
}

// Decrypt decrypts the age file at path with ids.
func Decrypt(path string, ids []age.Identity) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := age.Decrypt(f, ids...)
	var noMatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &noMatch):
		return nil, fmt.Errorf("%s was not encrypted for this age identity: ask someone who can read it to add your public key to the recipients file and run `ferry secret encrypt` again", path)
	case err != nil:
		return nil, fmt.Errorf("%s is not a valid age file (%v): restore it from version control or encrypt it again", path, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s is corrupted (%v): restore it from version control or encrypt it again", path, err)
	}
	return b, nil
}

// Encrypt encrypts plaintext for recipients.
func Encrypt(plaintext []byte, recipients []age.Recipient) ([]byte, error) {
	var out bytes.Buffer
	w, err := age.Encrypt(&out, recipients...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// ParseRecipients reads a recipients file: one age public key per line,
// # comments allowed.
func ParseRecipients(path string) ([]age.Recipient, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recipients: %w; create it with one age public key (age1...) per line, as `ferry secret keygen` prints", err)
	}
	rs, err := age.ParseRecipients(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("recipients file %s: %v; want one age public key (age1...) per line", path, err)
	}
	return rs, nil
}

type ageSource struct{ root, rel, identity string }

func (a ageSource) String() string { return "encrypted file " + a.rel }

func (a ageSource) read(context.Context) (string, error) {
	path := filepath.Join(a.root, a.rel)
	if _, err := os.Stat(path); err != nil {
		return "", fileError(a.rel, err)
	}
	ids, err := Identities(a.identity)
	if err != nil {
		return "", err
	}
	b, err := Decrypt(path, ids)
	if err != nil {
		return "", fmt.Errorf("%v", strings.Replace(err.Error(), path, a.rel, 1))
	}
	return string(b), nil
}
