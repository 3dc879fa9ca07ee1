package platform

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func TestLinuxLacksNothing(t *testing.T) {
	if g := Gaps("linux"); g != nil {
		t.Errorf("Gaps(linux) = %v, want none", g)
	}
	for _, f := range []Feature{Commands, SecretKey, SecretEdit, SecretFiles, Subreaper} {
		if err := unsupported("linux", f); err != nil {
			t.Errorf("%s on linux: %v", f, err)
		}
	}
}

func TestUnsupportedNamesFeatureAndSystem(t *testing.T) {
	err := unsupported("windows", Commands)
	if err == nil {
		t.Fatal("running commands on windows: no error")
	}
	for _, want := range []string{"running commands", "windows", "WSL", "docs/platforms.md"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// A degraded feature is not refused.
	if err := unsupported("darwin", Subreaper); err != nil {
		t.Errorf("subreaper on darwin: %v, want a warning only", err)
	}
	// Secrets never degrade: where ferry cannot keep them safe, it refuses.
	for _, goos := range []string{"darwin", "windows", "freebsd"} {
		for _, g := range Gaps(goos) {
			if strings.Contains(string(g.Feature), "secret") && !g.Refused {
				t.Errorf("%s on %s degrades; secrets must be refused", g.Feature, goos)
			}
		}
	}
}

func TestWarnOnce(t *testing.T) {
	var b bytes.Buffer
	warn(&b, "darwin", Subreaper)
	warn(&b, "darwin", Subreaper)
	warn(&b, "darwin", SecretFiles) // refused, not warned
	warn(&b, "linux", MemoryCap)    // not lacking
	if n := strings.Count(b.String(), "\n"); n != 1 || !strings.HasPrefix(b.String(), "ferry: warning: no killing what a command leaves behind on darwin") {
		t.Errorf("warnings = %q, want one line about the subreaper", b.String())
	}
}

func TestOpenNoFollowRefusesLink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	f, err := OpenNoFollow(link, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err == nil {
		f.Close()
	}
	if !errors.Is(err, syscall.ELOOP) {
		t.Errorf("open through a link: %v, want ELOOP", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target now holds %q", b)
	}
	f, err = OpenNoFollow(target, os.O_RDONLY, 0)
	if err != nil {
		t.Fatalf("open a regular file: %v", err)
	}
	f.Close()
}

func TestTryLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	a, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if ok, err := TryLock(a); !ok || err != nil {
		t.Fatalf("first lock: %v, %v", ok, err)
	}
	if ok, err := TryLock(b); ok || err != nil {
		t.Errorf("second lock while the first is held: %v, %v; want false, nil", ok, err)
	}
	a.Close()
	if ok, err := TryLock(b); !ok || err != nil {
		t.Errorf("lock once the first is closed: %v, %v", ok, err)
	}
}

func TestOwner(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows files have no Unix owner")
	}
	fi, err := os.Stat(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if uid, ok := Owner(fi); !ok || uid != os.Geteuid() {
		t.Errorf("Owner of a new folder = %d, %v; want %d", uid, ok, os.Geteuid())
	}
}
