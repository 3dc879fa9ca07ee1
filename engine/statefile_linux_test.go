package engine

import (
	"context"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// fsImmutable is FS_IMMUTABLE_FL of linux/fs.h.
const fsImmutable = 0x10

// readOnly makes dir read-only, for root too (by the immutable flag, which
// root's privileges do not pass).
func readOnly(t *testing.T, dir string) {
	t.Helper()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if os.Geteuid() != 0 {
		return
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Fatalf("read the flags of %s: %v", dir, err)
	}
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags|fsImmutable)); err != nil {
		t.Fatalf("make %s immutable: %v", dir, err)
	}
	t.Cleanup(func() {
		f, _ := os.Open(dir)
		defer f.Close()
		unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags))
	})
}

// A read-only .ferry gets an error that says so and what to do.
func TestStateFolderReadOnly(t *testing.T) {
	ws := testWorkspace(t)
	if err := saveSomething(ws); err != nil {
		t.Fatal(err)
	}
	readOnly(t, ws.Path(StateDir))
	wantErrSays(t, "Save", saveSomething(ws), "cannot write in "+ws.Path(StateDir), "chmod u+w "+ws.Path(StateDir))
	l, err := AcquireLock(context.Background(), ws, func(int) {})
	if err == nil {
		l.Release()
	}
	wantErrSays(t, "AcquireLock", err, "cannot write in "+ws.Path(StateDir), "chmod u+w")
}

// A read-only workspace, where ferry cannot make .ferry, gets the same.
func TestStateFolderInReadOnlyWorkspace(t *testing.T) {
	ws := testWorkspace(t)
	readOnly(t, ws.Root)
	l, err := AcquireLock(context.Background(), ws, func(int) {})
	if err == nil {
		l.Release()
	}
	wantErrSays(t, "AcquireLock", err, "cannot write in "+ws.Root, ".ferry folder", "chmod u+w "+ws.Root)
}
