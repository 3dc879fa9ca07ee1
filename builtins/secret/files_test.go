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
	pub, written, err := NewIdentity(path)
	if err != nil || written != path {
		t.Fatalf("NewIdentity(%s) wrote %s: %v", path, written, err)
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
	if _, _, err := NewIdentity(path); err == nil || !strings.Contains(err.Error(), "already exists: keygen does not replace an identity") {
		t.Errorf("a second identity at the same path: %v", err)
	}
}

// Without a path, the identity goes to KeyFile, in the user's config
// folder.
func TestNewIdentityDefaultPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("AppData", filepath.Join(home, "AppData"))
	want, err := KeyFile()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(want, home) {
		t.Fatalf("KeyFile() = %s, not under the test's home %s", want, home)
	}
	pub, written, err := NewIdentity("")
	if err != nil || written != want || !strings.HasPrefix(pub, "age1") {
		t.Fatalf("NewIdentity(\"\") = %q, %s, %v; want a public key written to %s", pub, written, err, want)
	}
	if _, err := os.Stat(want); err != nil {
		t.Error(err)
	}
}

// The recipients come from the file given, else from ferry.recipients at
// the root, which is looked for only then.
func TestRecipients(t *testing.T) {
	_, rs := identity(t)
	line := rs[0].(*age.X25519Recipient).String() + "\n"
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, RecipientsFile), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	given := filepath.Join(t.TempDir(), "team.recipients")
	if err := os.WriteFile(given, []byte("# the team\n"+line+line), 0o644); err != nil {
		t.Fatal(err)
	}
	noRoot := func() (string, error) { t.Error("the root was looked for although a file was given"); return "", nil }
	if got, err := Recipients(given, noRoot); err != nil || len(got) != 2 {
		t.Errorf("Recipients(given) = %d recipients, %v; want 2", len(got), err)
	}
	if got, err := Recipients("", func() (string, error) { return root, nil }); err != nil || len(got) != 1 {
		t.Errorf("Recipients at the root = %d recipients, %v; want 1", len(got), err)
	}
	if _, err := Recipients("", func() (string, error) { return "", os.ErrNotExist }); err != os.ErrNotExist {
		t.Errorf("Recipients without a root: err = %v", err)
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
