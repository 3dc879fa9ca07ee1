package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// identity makes an identity file in a new folder and returns its path
// and its recipient.
func identity(t *testing.T) (string, []age.Recipient) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys", "age.key")
	pub, err := NewIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.ParseX25519Recipient(pub)
	if err != nil {
		t.Fatalf("NewIdentity returned %q, not a public key: %v", pub, err)
	}
	return path, []age.Recipient{r}
}

func TestNewIdentity(t *testing.T) {
	path, _ := identity(t)
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	if _, err := NewIdentity(path); err == nil || !strings.Contains(err.Error(), "already exists: keygen does not replace an identity") {
		t.Errorf("a second identity at the same path: %v", err)
	}
}

func TestWriteEncryptedAndRekey(t *testing.T) {
	id, rs := identity(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "tok.age")
	if err := WriteEncrypted(path, "tok.age", []byte("s3cret"), rs); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("stat: %v, %v", fi, err)
	}
	got, err := DecryptFile(path, "tok.age", id)
	if err != nil || string(got) != "s3cret" {
		t.Fatalf("decrypted %q, %v", got, err)
	}

	// Rekey for a second recipient: both can read it, unchanged.
	id2, rs2 := identity(t)
	if err := Rekey(path, "tok.age", id, append(rs, rs2...)); err != nil {
		t.Fatal(err)
	}
	for _, i := range []string{id, id2} {
		if got, err := DecryptFile(path, "tok.age", i); err != nil || string(got) != "s3cret" {
			t.Errorf("after rekey, %s decrypts %q, %v", i, got, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".ferry-secret-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestCheckFolder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	for _, tc := range []struct{ name, want string }{
		{"tok.age", ""},
		{"missing/tok.age", "cannot write missing/tok.age: folder missing does not exist; create it (mkdir -p missing) or fix the path"},
		{"file/tok.age", "cannot write file/tok.age: file is not a folder; fix the path"},
	} {
		got := ""
		if err := CheckFolder(filepath.Join(dir, tc.name), tc.name); err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: error %q, want %q", tc.name, got, tc.want)
		}
	}
	_, rs := identity(t)
	if err := WriteEncrypted(filepath.Join(dir, "missing", "tok.age"), "missing/tok.age", []byte("x"), rs); err == nil {
		t.Error("WriteEncrypted made a missing folder")
	}
}
