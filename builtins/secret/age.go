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
	"slices"
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

// Decrypt decrypts the age file at path with ids; its errors call the
// file name. They never quote the file: age's own messages may quote its
// first line, which in a file that was never encrypted is the secret.
func Decrypt(path, name string, ids []age.Identity) ([]byte, error) {
	b, err := readSourceFile(path)
	if err != nil {
		return nil, err
	}
	if err := checkIntro(name, b); err != nil {
		return nil, err
	}
	r, err := age.Decrypt(bytes.NewReader(b), ids...)
	var noMatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &noMatch) && !slices.ContainsFunc(noMatch.StanzaTypes, ferryStanza):
		return nil, damagedHeader(name)
	case errors.As(err, &noMatch):
		return nil, fmt.Errorf("%s was not encrypted for this age identity (public key %s): "+
			"ask someone who can read it to add your public key to the recipients file and run `ferry secret rekey %s`; "+
			"if your key was a recipient when it was last encrypted, its header is damaged: restore it from version control",
			name, publicKeys(ids), name)
	case err != nil:
		// A header that does not parse, a bad MAC, a malformed stanza.
		return nil, damagedHeader(name)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s is corrupted (its encrypted content is damaged or cut short): restore it from version control or encrypt it again", name)
	}
	return plain, nil
}

const (
	ageIntro    = "age-encryption.org/"                // the start of a binary age file
	armorHeader = "-----BEGIN AGE ENCRYPTED FILE-----" // of an ASCII-armored one (age -a)
)

// checkIntro says what b is when it is not a binary age file.
func checkIntro(name string, b []byte) error {
	_, second, _ := bytes.Cut(b, []byte("\n"))
	switch {
	case bytes.HasPrefix(b, []byte(ageIntro)):
		return nil
	case len(b) == 0:
		return fmt.Errorf("%s is empty: encrypt the secret into it with `ferry secret encrypt %s`", name, name)
	case bytes.HasPrefix(b, []byte(armorHeader)):
		return fmt.Errorf("%s is an ASCII-armored age file (age -a), which ferry does not read: "+
			"encrypt it again in binary, with `age -d -i KEY %s | ferry secret encrypt %s`", name, name, name)
	case bytes.HasPrefix(second, []byte("-> ")):
		// An age header whose first line is damaged.
		return damagedHeader(name)
	}
	return fmt.Errorf("%s is not an age-encrypted file: it may hold the secret in the clear. "+
		"Encrypt it in place with `ferry secret encrypt --in %s %s`; "+
		"if it was ever committed or shared unencrypted, treat the secret as exposed and rotate it", name, name, name)
}

func damagedHeader(name string) error {
	return fmt.Errorf("%s has a damaged age header (it does not parse or does not authenticate): restore it from version control or encrypt it again", name)
}

// ferryStanza reports whether typ is the type of a recipient stanza that
// an identity ferry reads (X25519, or the post-quantum hybrid) may open.
func ferryStanza(typ string) bool { return typ == "X25519" || typ == "mlkem768x25519" }

// publicKeys lists the public keys of ids.
func publicKeys(ids []age.Identity) string {
	var keys []string
	for _, id := range ids {
		switch id := id.(type) {
		case *age.X25519Identity:
			keys = append(keys, id.Recipient().String())
		case *age.HybridIdentity:
			keys = append(keys, id.Recipient().String())
		}
	}
	return strings.Join(keys, ", ")
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
	b, err := Decrypt(path, a.rel, ids)
	if errors.As(err, new(*fs.PathError)) {
		return "", fileError(a.rel, err)
	}
	if err != nil {
		return "", err
	}
	return string(b), nil
}
