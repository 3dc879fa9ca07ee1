//go:build unix

package platform

import (
	"io/fs"
	"os"
	"syscall"
)

// OpenNoFollow is os.OpenFile, failing with an error that wraps
// syscall.ELOOP when the last element of path is a symbolic link.
func OpenNoFollow(path string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|syscall.O_NOFOLLOW, perm)
}

// TryLock takes an exclusive lock on f (flock), without waiting: false
// when another open file holds it. The lock ends when f is closed.
func TryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == syscall.EWOULDBLOCK {
		return false, nil
	}
	return err == nil, err
}

// Owner returns the user ID that owns the file fi describes; false when
// the system does not say.
func Owner(fi fs.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
