package deploy

import "golang.org/x/sys/unix"

// isTmpfs reports whether dir is on a tmpfs, which lives in memory (and
// swap) only.
func isTmpfs(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, err
	}
	return st.Type == unix.TMPFS_MAGIC, nil
}
